"""Location-stable references to actors: ``tell``, ``send`` and ``call`` by path, valid across restarts.

Why refs point at the cell, not at a task or a channel: a restart replaces the task but keeps the cell, so a
ref taken once at start-up keeps working for the life of the runtime (Akka's ActorRef, Orleans' grain
references). Keyed refs go one step further: they name a key, and the keyed supervisor spawns the child on the
first message after it was passivated (virtual actors), so holding a ref never pins a guild actor in memory.

Delivery semantics:

* ``tell`` never blocks. On a full mailbox it applies the overflow policy; under ``BLOCK`` it counts a
  ``full`` dead letter and returns False (use ``send`` for backpressure). Under ``FAIL`` it raises
  `MailboxFull`.
* ``send`` waits for room under ``BLOCK``; otherwise like ``tell``.
* ``call`` waits for the reply with a timeout (one cancel scope per call, on the caller's side only). It
  raises `ActorExited` *at once* when the callee is missing, stopped, or exits before answering (the crash is
  chained as ``__cause__``), and `CallTimeout` when the callee is alive but too slow.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

import trio

from supervision.errors import ActorExited, CallTimeout
from supervision.mailbox import Call
from supervision.node import NodeState

if TYPE_CHECKING:
    from supervision.cell import ActorCell
    from supervision.deadletters import DeadLetters
    from supervision.keyed import KeyedSupervisorNode

_GONE = frozenset({NodeState.STOPPED, NodeState.FAILED, NodeState.QUARANTINED})


class ActorRef:
    """A handle on the actor at `path`."""

    __slots__ = ("_cell", "_dead", "path")

    def __init__(self, path: str, cell: ActorCell | None, dead_letters: DeadLetters) -> None:
        self.path = path
        self._cell = cell
        self._dead = dead_letters

    def __repr__(self) -> str:
        return f"<ActorRef {self.path}>"

    def _target(self) -> ActorCell | None:
        return self._cell

    def _missing_reason(self) -> str:
        return "no_actor"

    def tell(self, msg: Any) -> bool:
        """Enqueue without blocking; False if the message became a dead letter."""
        cell = self._target()
        if cell is None:
            self._dead.record(self._missing_reason(), self.path, msg, trio.current_time())
            return False
        # The hot path, inlined: open mailbox with room -> append and wake the reader if it is parked.
        mailbox = cell.mailbox
        items = mailbox._items
        if mailbox._closed is None and len(items) < mailbox.capacity:
            items.append(msg)
            if mailbox._reader is not None:
                mailbox.wake_reader()
            return True
        return mailbox.put_nowait(msg)

    async def send(self, msg: Any) -> bool:
        """Enqueue, waiting for room on a full ``BLOCK`` mailbox; False if it became a dead letter."""
        cell = self._target()
        if cell is None:
            await trio.lowlevel.checkpoint()
            self._dead.record(self._missing_reason(), self.path, msg, trio.current_time())
            return False
        return await cell.mailbox.put(msg)

    async def call(self, msg: Any, timeout: float = 5.0) -> Any:  # noqa: ASYNC109 - public API
        """Request/reply; see the module docstring for the failure semantics."""
        cell = self._target()
        if cell is None:
            await trio.lowlevel.checkpoint()
            reason = self._missing_reason()
            raise ActorExited(
                self.path,
                "no such actor (never started)" if reason == "no_actor" else f"cannot start it ({reason})",
            )
        closed = cell.mailbox.closed_reason
        if closed is not None or (cell.state in _GONE and cell.backoff_until is None):
            await trio.lowlevel.checkpoint()
            raise ActorExited(self.path, f"actor is {closed or cell.state.value.lower()}")
        request = Call(msg)
        cell.track_call(request)
        try:
            with trio.move_on_after(timeout):
                await cell.mailbox.put(request)
                await request.wait()
        finally:
            cell.untrack_call(request)
            if not request.done:
                # Timed out, or the caller itself was cancelled: either way nobody waits for the answer any
                # more, so the actor skips this request (an ``expired`` dead letter) instead of running it.
                request.fail(CallTimeout(self.path, timeout))
        return request.outcome()


class KeyedActorRef(ActorRef):
    """A ref to the child of a keyed supervisor for one key; spawns it on demand."""

    __slots__ = ("_key", "_keyed")

    def __init__(self, keyed: KeyedSupervisorNode, key: Hashable, cell: ActorCell | None) -> None:
        super().__init__(f"{keyed.path}/{key}", cell, keyed.env.dead_letters)
        self._keyed = keyed
        self._key = key

    @property
    def key(self) -> Hashable:
        return self._key

    def _target(self) -> ActorCell | None:
        cell = self._cell
        if cell is not None and cell.mailbox.closed_reason is None and not cell.passivating:
            return cell
        cell = self._keyed.resolve(self._key)
        self._cell = cell
        return cell

    def _missing_reason(self) -> str:
        return self._keyed.refusal_reason()


class KeyedRef:
    """The face of a keyed supervisor: refs by key, and how many children are live."""

    __slots__ = ("_keyed",)

    def __init__(self, keyed: KeyedSupervisorNode) -> None:
        self._keyed = keyed

    @property
    def path(self) -> str:
        return self._keyed.path

    def ref(self, key: Hashable) -> ActorRef:
        """A ref for ``key``; the child is spawned on the first message (not by taking the ref)."""
        return KeyedActorRef(self._keyed, key, self._keyed.live.get(key))

    def tell(self, key: Hashable, msg: Any) -> bool:
        """Shortcut for ``ref(key).tell(msg)`` without keeping the ref."""
        cell = self._keyed.resolve(key)
        if cell is None:
            self._keyed.env.dead_letters.record(
                self._keyed.refusal_reason(), f"{self._keyed.path}/{key}", msg, trio.current_time()
            )
            return False
        return cell.mailbox.put_nowait(msg)

    def live_count(self) -> int:
        return self._keyed.live_count()

    def keys(self) -> list[Hashable]:
        return list(self._keyed.live)
