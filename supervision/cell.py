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

import logging
import time
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from supervision import logfields
from supervision.context import ActorContext
from supervision.errors import ActorExited
from supervision.mailbox import Call, Mailbox
from supervision.node import ALIVE, ExitInfo, Node, NodeState, Parent, RuntimeEnv
from supervision.telemetry import DEFAULT_BUCKETS, HistogramSeries

if TYPE_CHECKING:
    from supervision.refs import ActorRef
    from supervision.specs import ChildSpec

log = logging.getLogger(__name__)

#: Messages handled per wakeup before the drain loop yields to the scheduler.
BATCH = 64


class ActorCell(Node):
    __slots__ = (
        "_calls",
        "_calls_failed",
        "_ctx",
        "_helper_error",
        "_helpers",
        "busy",
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
        self._ctx: ActorContext | None = None
        self._helpers: set[trio.CancelScope] | None = None
        self._helper_error: Exception | None = None
        self.last_active = 0.0
        self.lru: OrderedDict[Hashable, ActorCell] | None = None
        self.passivating = False
        #: True while the drain loop is inside a batch (an idle actor is neither busy nor has queued mail).
        self.busy = False
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
        self.mailbox.wake_senders()  # callers still waiting for room in a full mailbox

    def _on_exit(self, exit_info: ExitInfo | None) -> None:
        helpers = self._helpers
        if helpers:
            for scope in list(helpers):
                scope.cancel("actor exited")
        self._helpers = None
        if self._calls_failed:
            self._calls_failed = False
            return
        if exit_info is None:
            self._fail_calls(None)
        else:
            self._fail_calls(exit_info.error, exit_info.describe())
        self._calls_failed = False

    # ---- one incarnation ---------------------------------------------------------------------------------
    async def _body(self) -> None:
        spec = self.spec
        logfields.bind_forever(actor=self.path)
        self._helper_error = None
        ctx = self._ctx
        if ctx is None:
            ctx = self._ctx = ActorContext(self)
        if spec.factory is not None:
            actor = spec.factory()
            on_start = getattr(actor, "on_start", None)
            if on_start is not None:
                await on_start(ctx)
            self._mark_started()
            await self._drain(actor, ctx)
            on_stop = getattr(actor, "on_stop", None)
            if on_stop is not None:
                await on_stop(ctx)
        else:
            assert spec.run is not None
            self._mark_started()
            await spec.run(ctx)

    # ---- helper tasks ------------------------------------------------------------------------------------
    def start_helper(self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], name: str) -> None:
        """Run ``fn(*args)`` beside this incarnation; it is cancelled when the incarnation ends.

        Helpers run in the parent's nursery, each in its own cancel scope that the cell keeps, instead of in a
        nursery per actor: most actors never start a helper, and a nursery per actor would cost every idle
        guild actor several objects and a slower spawn. A helper that raises cancels the actor, which then
        exits with the helper's error (and is restarted like any other crash).
        """
        nursery: trio.Nursery | None = getattr(self.parent, "nursery", None)
        if nursery is None or self.scope is None:
            raise RuntimeError(f"{self.path} is not running; cannot start helper {name}")
        if self._helpers is None:
            self._helpers = set()
        nursery.start_soon(self._run_helper, fn, args, self.incarnation, self._helpers, name=name)

    async def _run_helper(
        self,
        fn: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...],
        incarnation: int,
        helpers: set[trio.CancelScope],
    ) -> None:
        with trio.CancelScope() as scope:
            if self.incarnation != incarnation or self.scope is None:
                return
            helpers.add(scope)
            try:
                await fn(*args)
            except Exception as error:
                if self.incarnation == incarnation and self.scope is not None and self._helper_error is None:
                    self._helper_error = error
                    self.cancel(f"helper failed: {type(error).__name__}")
                else:
                    log.exception("helper of %s failed after its actor ended", self.path)
            finally:
                helpers.discard(scope)

    def _cancelled_exit(self, now: float) -> ExitInfo:
        error = self._helper_error
        if error is not None:
            self._helper_error = None
            return ExitInfo.from_error(error, now)
        return super()._cancelled_exit(now)

    async def _drain(self, actor: Any, ctx: ActorContext) -> None:  # noqa: PLR0912, PLR0915 - inlined hot loop
        mailbox = self.mailbox
        items = mailbox._items
        popleft = items.popleft
        handle = actor.handle
        proc = self.proc
        if proc is None:
            proc = self.proc = HistogramSeries(DEFAULT_BUCKETS, [0] * (len(DEFAULT_BUCKETS) + 1))
        counts = proc.counts
        bounds = proc.bounds
        # The per-kind series behind shard_actor_processing_seconds{kind}, fed here so that a scrape never has
        # to merge thousands of per-actor histograms.
        kind_proc = self.env.proc_time.labels(self.kind)
        kind_counts = kind_proc.counts
        perf = time.perf_counter
        counter = self.env.messages
        kind = self.kind
        checkpoint = trio.lowlevel.checkpoint
        msg: Any = None
        result: Any = None
        while True:
            # Drop the last message and reply before parking: an idle actor must not keep its last payload
            # (a guild actor's whole GUILD_CREATE) alive in this suspended frame until the next message.
            msg = result = None
            if not items and not await mailbox.wait_readable():
                return
            depth = len(items)
            if depth > mailbox.peak:  # noqa: PLR1730 - no call on the hot path
                mailbox.peak = depth
            n = timed = 0
            busy = slowest = 0.0
            self.busy = True
            try:
                while items and n < BATCH:
                    msg = popleft()
                    n += 1
                    if mailbox._space is not None and mailbox._space:
                        mailbox._space.unpark()  # a BLOCK sender waits for exactly this slot
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
                    elapsed = perf() - started
                    bucket = bisect_left(bounds, elapsed)
                    counts[bucket] += 1
                    kind_counts[bucket] += 1
                    timed += 1
                    busy += elapsed
                    if elapsed > slowest:  # noqa: PLR1730
                        slowest = elapsed
            except Exception as error:
                self._fail_calls(error)
                raise
            finally:
                self.busy = False
                proc.n += timed
                proc.total += busy
                kind_proc.n += timed
                kind_proc.total += busy
                if slowest > proc.maximum:  # noqa: PLR1730
                    proc.maximum = slowest
                if slowest > kind_proc.maximum:  # noqa: PLR1730
                    kind_proc.maximum = slowest
            self.handled += n
            counter.inc(kind, amount=n)
            self.last_active = trio.current_time()
            lru = self.lru
            if lru is not None and self.key in lru:
                lru.move_to_end(self.key)
            if items:
                # More work queued: yield once per batch so other actors run. When the mailbox is empty the
                # next park in `wait_readable` is the schedule point, so a checkpoint here would be wasted.
                await checkpoint()
            elif mailbox._closed is None:
                await trio.lowlevel.checkpoint_if_cancelled()

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
        if self.spec.status is not None:
            data["status"] = _probe(self.spec.status)
        return data


def _probe(status: Callable[[], Mapping[str, object]]) -> dict[str, object]:
    """A child's status probe; a failing probe is reported, never raised into the health snapshot."""
    try:
        return dict(status())
    except Exception as exc:
        return {"probe_error": f"{type(exc).__name__}: {exc}"}
