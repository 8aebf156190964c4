"""Bounded mailboxes with explicit overflow policies, built on a deque and trio's low-level parking.

Why not a trio memory channel: channels have no drop-oldest, cannot be inspected (depth, peak, drops) cheaply,
and cannot outlive the task that reads them. Here the mailbox belongs to the actor's *cell*, not to one
incarnation, so refs and queued messages survive a restart (the queue doubles as Akka's stash during backoff).

Hot path (anchors §4): ``put_nowait`` is an ``append`` plus, only when the reader is parked, one
``reschedule``; the reader drains with ``popleft`` in batches and checkpoints once per batch. Nothing on that
path allocates per message (a ``tell`` enqueues the message object itself; only ``call`` wraps it in a
`Call`).

There is exactly one reader per mailbox (the actor's task), so waking it needs no `ParkingLot`; blocked
senders (``Overflow.BLOCK`` with ``await put``) do park on one. Closing a mailbox (graceful stop, passivation,
quarantine) wakes everybody: the reader drains what is left and then sees the end, senders get a dead letter.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import trio

from supervision.errors import ActorExited, MailboxFull
from supervision.specs import MailboxSpec, Overflow

if TYPE_CHECKING:
    from supervision.deadletters import DeadLetters


class Call:
    """A request waiting for a reply; workers receive these from their mailbox and answer with `reply`."""

    __slots__ = ("_error", "_event", "_value", "msg")

    def __init__(self, msg: Any) -> None:
        self.msg = msg
        self._event = trio.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def reply(self, value: Any) -> None:
        """Answer the caller (ignored if the call already failed or was abandoned)."""
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def fail(self, error: BaseException) -> None:
        """Make the caller's ``call`` raise ``error`` (ignored if already answered)."""
        if not self._event.is_set():
            self._error = error
            self._event.set()

    async def wait(self) -> None:
        await self._event.wait()

    def outcome(self) -> Any:
        if self._error is not None:
            raise self._error
        return self._value


class Mailbox:
    """A bounded FIFO with one reader; see the module docstring for the policy semantics."""

    __slots__ = (
        "_closed",
        "_dead",
        "_items",
        "_reader",
        "_space",
        "capacity",
        "dropped",
        "last_taken",
        "overflow",
        "path",
        "peak",
    )

    def __init__(self, spec: MailboxSpec, path: str, dead_letters: DeadLetters) -> None:
        self._items: deque[Any] = deque()
        self.capacity = spec.capacity
        self.overflow = spec.overflow
        self.path = path
        self._dead = dead_letters
        self._reader: trio.lowlevel.Task | None = None
        self._space: trio.lowlevel.ParkingLot | None = None
        self._closed: str | None = None
        self.peak = 0
        self.dropped = 0
        #: When a worker last took a message (the actor drain loop tracks activity on its cell instead).
        self.last_taken = 0.0

    # ---- state -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed_reason(self) -> str | None:
        """None while open; else the dead-letter reason new messages get (``stopped``/``quarantined``)."""
        return self._closed

    @property
    def tasks_waiting_send(self) -> int:
        return 0 if self._space is None else len(self._space)

    # ---- sending -----------------------------------------------------------------------------------------
    def dead_letter(self, reason: str, msg: Any) -> None:
        if type(msg) is Call:
            if reason == "full":
                msg.fail(MailboxFull(self.path, self.capacity))
            else:
                msg.fail(ActorExited(self.path, f"message dropped ({reason})"))
        self._dead.record(reason, self.path, msg, trio.current_time())

    def put_nowait(self, msg: Any) -> bool:
        """Enqueue without blocking; apply the overflow policy when full. True if ``msg`` was enqueued."""
        items = self._items
        if self._closed is not None:
            self.dead_letter(self._closed, msg)
            return False
        if len(items) >= self.capacity:
            overflow = self.overflow
            if overflow is Overflow.DROP_OLDEST:
                self.dropped += 1
                self.dead_letter("full", items.popleft())
            elif overflow is Overflow.FAIL:
                self.dropped += 1
                raise MailboxFull(self.path, self.capacity)
            else:  # BLOCK (tell never blocks) and DROP_NEWEST
                self.dropped += 1
                self.dead_letter("full", msg)
                return False
        items.append(msg)
        self.peak = max(self.peak, len(items))
        if self._reader is not None:
            self.wake_reader()
        return True

    def wake_reader(self) -> None:
        reader = self._reader
        if reader is not None:
            self._reader = None
            trio.lowlevel.reschedule(reader)

    async def put(self, msg: Any) -> bool:
        """Enqueue, waiting for space if the policy is ``BLOCK``; other policies behave as `put_nowait`."""
        await trio.lowlevel.checkpoint_if_cancelled()
        parked = False
        while self.overflow is Overflow.BLOCK and self._closed is None and len(self._items) >= self.capacity:
            if self._space is None:
                self._space = trio.lowlevel.ParkingLot()
            parked = True
            await self._space.park()
            if type(msg) is Call and msg.done:
                return False  # the callee exited while we waited for room: the caller learns it at once
        accepted = self.put_nowait(msg)
        if not parked:
            await trio.lowlevel.cancel_shielded_checkpoint()
        return accepted

    # ---- receiving ---------------------------------------------------------------------------------------
    def get_nowait(self) -> Any:
        """Pop the oldest message; `trio.WouldBlock` if empty, `trio.EndOfChannel` if closed and empty."""
        items = self._items
        if not items:
            if self._closed is not None:
                raise trio.EndOfChannel
            raise trio.WouldBlock
        self.peak = max(self.peak, len(items))
        self.last_taken = trio.current_time()
        msg = items.popleft()
        space = self._space
        if space:
            space.unpark()
        return msg

    async def wait_readable(self) -> bool:
        """Wait until a message is queued (True) or the mailbox is closed and drained (False)."""
        while not self._items:
            if self._closed is not None:
                return False
            if self._reader is not None:
                raise trio.BusyResourceError("a mailbox has exactly one reader")
            self._reader = trio.lowlevel.current_task()
            await trio.lowlevel.wait_task_rescheduled(self._abort_wait)
        return True

    def _abort_wait(self, _: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
        self._reader = None
        return trio.lowlevel.Abort.SUCCEEDED

    async def receive(self) -> Any:
        """Wait for and return the next message (a `Call` for requests); `trio.EndOfChannel` when closed."""
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._items:
            await trio.lowlevel.cancel_shielded_checkpoint()
        elif not await self.wait_readable():
            raise trio.EndOfChannel
        return self.get_nowait()

    async def receive_batch(self, max_n: int = 64) -> list[Any]:
        """Wait for at least one message, return up to ``max_n``; `trio.EndOfChannel` when closed."""
        first = await self.receive()
        return [first, *self.receive_batch_nowait(max_n - 1)]

    def receive_batch_nowait(self, max_n: int = 64) -> list[Any]:
        """Up to ``max_n`` queued messages without waiting (possibly an empty list)."""
        batch: list[Any] = []
        items = self._items
        while items and len(batch) < max_n:
            batch.append(self.get_nowait())
        return batch

    def __aiter__(self) -> AsyncIterator[Any]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Any]:
        while True:
            try:
                yield await self.receive()
            except trio.EndOfChannel:
                return

    # ---- lifecycle ---------------------------------------------------------------------------------------
    def close(self, reason: str = "stopped") -> None:
        """Refuse new messages (they become dead letters with ``reason``); the reader drains what is left."""
        if self._closed is None:
            self._closed = reason
        self.wake_reader()
        self.wake_senders()

    def wake_senders(self) -> None:
        """Wake every blocked sender so each re-checks its situation (room, closed, call already failed)."""
        if self._space is not None:
            self._space.unpark_all()

    def discard_all(self, reason: str) -> int:
        """Dead-letter everything still queued (the actor will not process it)."""
        n = 0
        while self._items:
            self.dead_letter(reason, self._items.popleft())
            n += 1
        self.wake_senders()
        return n
