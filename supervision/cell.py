"""An actor cell: the stable slot of one actor (or worker) — mailbox, stats, ref — across its incarnations.

Why the cell and not the actor owns the mailbox: refs stay valid across restarts (refs point at the cell), and
messages that arrive while the actor is restarting or backing off wait in the same bounded queue instead of
being lost (Akka's stash, without a second buffer).

The drain loop is the runtime's hot path (anchors §4 and §6.19): it pops with ``popleft`` in batches of at
most `BATCH` messages and then checkpoints once, so the per-message cost is a method call plus the handler;
there is no cancel scope per message and no allocation per ``tell``. Processing time is measured per message
with ``perf_counter`` into the cell's histogram (two clock reads, one bisect); counters are flushed once per
batch.

A handler that raises crashes the actor ("let it crash"): the caller of that message gets `ActorExited` with
the error chained, every other pending call fails at once with `ActorExited` too (monitor semantics), and the
supervisor decides about the restart. ``on_stop`` runs only after a graceful stop (mailbox closed and
drained).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

import trio

from supervision.context import ActorContext
from supervision.errors import ActorExited
from supervision.mailbox import Call, Mailbox
from supervision.node import ALIVE, ExitInfo, Node, NodeState, Parent, RuntimeEnv
from supervision.telemetry import DEFAULT_BUCKETS, HistogramSeries

if TYPE_CHECKING:
    from supervision.refs import ActorRef
    from supervision.specs import ChildSpec

#: Messages handled per wakeup before the drain loop yields to the scheduler.
BATCH = 64


class ActorCell(Node):
    __slots__ = (
        "_calls",
        "_calls_failed",
        "handled",
        "key",
        "last_active",
        "lru",
        "mailbox",
        "passivating",
        "proc",
        "ref",
        "spec",
    )

    def __init__(
        self,
        spec: ChildSpec,
        path: str,
        parent: Parent,
        env: RuntimeEnv,
        ref_factory: Callable[[ActorCell], ActorRef],
        *,
        key: Hashable | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(
            spec.id, path, parent, env, restart=spec.restart, critical=spec.critical, kind=spec.kind or kind
        )
        self.spec = spec
        self.key = key
        self.mailbox = Mailbox(spec.mailbox, path, env.dead_letters)
        self.handled = 0
        self.proc: HistogramSeries | None = None
        self._calls: set[Call] | None = None
        self._calls_failed = False
        self.last_active = 0.0
        self.lru: OrderedDict[Hashable, ActorCell] | None = None
        self.passivating = False
        self.ref = ref_factory(self)

    @property
    def node_type(self) -> str:  # type: ignore[override]
        return "actor" if self.spec.factory is not None else "worker"

    # ---- calls -------------------------------------------------------------------------------------------
    def track_call(self, call: Call) -> None:
        if self._calls is None:
            self._calls = set()
        self._calls.add(call)

    def untrack_call(self, call: Call) -> None:
        if self._calls is not None:
            self._calls.discard(call)

    def _fail_calls(self, cause: BaseException | None, reason: str | None = None) -> None:
        """Fail every call pending right now (monitor semantics: callers learn of the exit at once).

        Called at the moment a handler raises, so calls made *after* the crash (while the cell restarts) wait
        for the next incarnation instead of failing for a crash that happened before they were sent.
        """
        calls = self._calls
        self._calls_failed = True
        if not calls:
            return
        self._calls = None
        if reason is None:
            reason = "stopped" if cause is None else f"{type(cause).__name__}: {cause}"
        for call in calls:
            if not call.done:
                error = ActorExited(self.path, reason)
                error.__cause__ = cause
                call.fail(error)

    def _on_exit(self, exit_info: ExitInfo | None) -> None:
        if self._calls_failed:
            self._calls_failed = False
            return
        if exit_info is None:
            self._fail_calls(None)
        else:
            self._fail_calls(exit_info.error, exit_info.describe())
        self._calls_failed = False

    # ---- one incarnation ---------------------------------------------------------------------------------
    async def _body(self, mark_started: Callable[[], None]) -> None:
        spec = self.spec
        async with trio.open_nursery() as helpers:
            ctx = ActorContext(self, helpers)
            if spec.factory is not None:
                actor = spec.factory()
                on_start = getattr(actor, "on_start", None)
                if on_start is not None:
                    await on_start(ctx)
                mark_started()
                await self._drain(actor, ctx)
                on_stop = getattr(actor, "on_stop", None)
                if on_stop is not None:
                    await on_stop(ctx)
            else:
                assert spec.run is not None
                mark_started()
                await spec.run(ctx)
            helpers.cancel_scope.cancel()

    async def _drain(self, actor: Any, ctx: ActorContext) -> None:
        mailbox = self.mailbox
        items = mailbox._items
        get = mailbox.get_nowait
        handle = actor.handle
        proc = self.proc
        if proc is None:
            proc = self.proc = HistogramSeries(DEFAULT_BUCKETS, [0] * (len(DEFAULT_BUCKETS) + 1))
        observe = proc.observe
        perf = time.perf_counter
        counter = self.env.messages
        kind = self.kind
        checkpoint = trio.lowlevel.checkpoint
        while True:
            if not items and not await mailbox.wait_readable():
                return
            n = 0
            try:
                while items and n < BATCH:
                    msg = get()
                    n += 1
                    if type(msg) is Call:
                        if msg.done:
                            mailbox.dead_letter("expired", msg.msg)
                            continue
                        started = perf()
                        try:
                            result = await handle(msg.msg, ctx)
                        except Exception as error:
                            failure = ActorExited(
                                self.path, f"handler raised {type(error).__name__}: {error}"
                            )
                            failure.__cause__ = error
                            msg.fail(failure)
                            raise
                        msg.reply(result)
                    else:
                        started = perf()
                        await handle(msg, ctx)
                    observe(perf() - started)
            except Exception as error:
                self._fail_calls(error)
                raise
            self.handled += n
            counter.inc(kind, amount=n)
            self.last_active = trio.current_time()
            lru = self.lru
            if lru is not None and self.key in lru:
                lru.move_to_end(self.key)
            await checkpoint()

    # ---- control -----------------------------------------------------------------------------------------
    async def stop(self) -> None:
        """Graceful stop for good: close intake, let it drain, cancel after ``shutdown_timeout``."""
        if self.state in ALIVE:
            self.state = NodeState.STOPPING
            done = self.done
            self.mailbox.close("stopped")
            with trio.move_on_after(self.spec.shutdown_timeout):
                await done.wait()
            if not done.is_set():
                await self.kill(f"shutdown timeout {self.spec.shutdown_timeout:g}s")
        self.terminate("stopped")

    def terminate(self, reason: str) -> None:
        super().terminate(reason)
        self.backoff_until = None
        self.mailbox.close(reason)
        self.mailbox.discard_all(reason)

    # ---- health ------------------------------------------------------------------------------------------
    def snapshot(self, now: float) -> dict[str, Any]:
        data = super().snapshot(now)
        mailbox = self.mailbox
        proc = self.proc
        data["mailbox"] = {
            "depth": len(mailbox),
            "capacity": mailbox.capacity,
            "peak": mailbox.peak,
            "policy": mailbox.overflow.value,
            "dropped": mailbox.dropped,
            "tasks_waiting_send": mailbox.tasks_waiting_send,
        }
        data["latency"] = {
            "proc_p50": None if proc is None else proc.quantile(0.5),
            "proc_p99": None if proc is None else proc.quantile(0.99),
            "proc_max": None if proc is None or proc.n == 0 else proc.maximum,
        }
        data["counters"] = {"handled": self.handled, "pending_calls": len(self._calls or ())}
        return data
