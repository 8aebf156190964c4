"""The command executor actor: runs interaction jobs concurrently, bounded, under supervision.

Why an actor and not ``nursery.start_soon`` in the gateway: the gateway's receive loop must never wait on a
slow command, and a burst of interactions must not grow memory without bound. The gateway (or guild actor)
`tell`s an `Execute` job to the executor's bounded mailbox and returns at once; the executor starts each job
in its current incarnation's job nursery (held by one helper task, so the jobs stop with the incarnation),
while fewer than ``max_concurrency`` jobs run. When all slots are busy, ``handle`` waits for one, the mailbox
fills, and the mailbox's overflow policy (chosen in the child spec) decides — backpressure instead of an
unbounded task pile. The slots are a count and a parking lot rather than a `trio.CapacityLimiter`: only
``handle`` takes a slot (one message at a time), so the limiter's borrower set and fairness queue bought
nothing, and a free slot is taken without yielding (trio's ``acquire`` always yields, even when it need not
wait): the executor starts every job of a mailbox batch in one step, instead of one step per job.

**Direct start.** While a slot is free, the sender need not go through the mailbox at all: `try_start` starts
the job in the same job nursery from the caller's own step (the gateway's), and only when it declines (no
free slot, between incarnations, or stopping) does the caller `tell` an `Execute`. The mailbox hop is a
scheduler trip and a mailbox batch for the executor per interaction, and it only ever bought the wait for a
slot; jobs started either way share the slots, the nursery and the failure handling, so a job never
outlives its incarnation and the bound holds. The executor's mailbox counters then count only the jobs
that had to queue (the ``shard_executor_jobs_running`` gauge counts them all).

Jobs are plain zero-argument async callables (``functools.partial(router.handle, payload, received_at=t)``)
so this module knows nothing of Discord or of the command framework (arrows point down: actors do not import
``shard``). A job that raises is logged and counted, never allowed to crash the executor — the router
already turns every command failure into a user reply, so an exception reaching here is a bug, not load.

The executor is also the `Spawner` for the command framework's background tasks (view timeouts): they run
in the same incarnation's nursery, so they stop when the executor stops. `wait_idle` lets a graceful stop
(and tests) wait until no job is running.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from supervision import ActorContext
from supervision.telemetry import Telemetry

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[Any]]


@attrs.frozen
class Execute:
    """Run ``job`` (an async callable taking no arguments) in the executor."""

    job: Job
    name: str = "interaction"


class CommandExecutor:
    """Actor (supervision ``Actor`` protocol) that runs `Execute` jobs with bounded concurrency."""

    def __init__(self, max_concurrency: int = 256, telemetry: Telemetry | None = None) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._max_concurrency = max_concurrency
        self._slot_freed = trio.lowlevel.ParkingLot()
        self._stopping = False
        self._ctx: ActorContext | None = None
        self._jobs: trio.Nursery | None = None
        self._running = 0
        self._idle = trio.Event()
        self._idle.set()
        telemetry = telemetry or Telemetry()
        self._inflight = telemetry.gauge("shard_executor_jobs_running", "Interaction jobs running now.")
        self._failures = telemetry.counter(
            "shard_executor_job_failures_total", "Jobs that raised past the router (bugs)."
        )

    @property
    def running(self) -> int:
        return self._running

    async def on_start(self, ctx: ActorContext) -> None:
        self._ctx = ctx
        self._stopping = False
        ctx.start_soon(self._host_jobs, name=f"{ctx.path}:jobs")

    async def _host_jobs(self) -> None:
        """Hold this incarnation's job nursery: jobs start in it with a plain spawn, and stop with it.

        A helper started through the context gets a cancel scope of its own (so the cell can cancel its
        helpers); a job does not need one — this helper's scope covers the nursery, so when the incarnation
        ends every job still running is cancelled with it. Per interaction that is one cancel scope (entered,
        registered with its parent, closed) fewer on the hot path.
        """
        async with trio.open_nursery() as nursery:
            self._jobs = nursery
            try:
                await trio.sleep_forever()
            finally:
                self._jobs = None

    async def on_stop(self, ctx: ActorContext) -> None:
        # Let running commands finish (bounded by the child's shutdown timeout) before helpers are cancelled;
        # meanwhile new jobs go to the mailbox, which a stopping actor no longer reads.
        self._stopping = True
        await self.wait_idle()
        self._ctx = None

    async def handle(self, msg: object, ctx: ActorContext) -> None:
        if not isinstance(msg, Execute):
            log.warning("executor ignored an unexpected message %r", type(msg).__name__)
            return
        while self._running >= self._max_concurrency:
            await self._slot_freed.park()
        self._begin()
        jobs = self._jobs
        if jobs is not None:
            jobs.start_soon(self._run, msg, name=f"job:{msg.name}")
        else:  # the job nursery is not open yet (a job told before the helper's first step)
            ctx.start_soon(self._run, msg, name=f"job:{msg.name}")

    def try_start(self, job: Job, name: str = "interaction") -> bool:
        """Start ``job`` at once, from the caller's step, if a slot is free (True). False when the caller
        must `tell` an `Execute` instead: every slot busy, no incarnation running, or stopping."""
        jobs = self._jobs
        if jobs is None or self._stopping or self._running >= self._max_concurrency:
            return False
        self._begin()
        jobs.start_soon(self._run, Execute(job, name), name=f"job:{name}")
        return True

    def _begin(self) -> None:
        self._running += 1
        self._inflight.set(self._running)
        if self._idle.is_set():
            self._idle = trio.Event()

    async def _run(self, msg: Execute) -> None:
        try:
            await msg.job()
        except trio.Cancelled:
            raise
        except Exception:
            self._failures.inc()
            log.exception("interaction job %s raised past the router", msg.name)
        finally:
            self._running -= 1
            if self._slot_freed:
                self._slot_freed.unpark()
            self._inflight.set(self._running)
            if self._running == 0:
                self._idle.set()

    def start_soon(self, async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run a background task (e.g. a view timeout) in the executor's current incarnation."""
        if self._ctx is None:
            raise RuntimeError("the command executor is not running")
        self._ctx.start_soon(self._guarded, async_fn, *args)

    @staticmethod
    async def _guarded(async_fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        try:
            await async_fn(*args)
        except trio.Cancelled:
            raise
        except Exception:
            log.exception("background task %s failed", getattr(async_fn, "__name__", async_fn))

    async def wait_idle(self) -> None:
        """Return once no job is running."""
        while self._running:
            await self._idle.wait()
