"""Auto-defer: one watchdog task for all interactions instead of one timer task per interaction.

Discord fails an interaction the user sees as "The application did not respond" when no initial response
arrives within 3 s. A handler that has not answered after ``after`` seconds (2.5 by default) is deferred on
its behalf, so slow handlers still succeed.

Why a single watchdog and a FIFO instead of a timer task (or nursery) per interaction: spawning and
cancelling a task costs more than the rest of a fast command's routing put together (profiled: the
per-interaction nursery was the largest item in /ping's CPU profile). Every interaction gets the same delay,
so deadlines arrive in the order interactions started: a deque is already sorted. The watchdog sleeps until
the oldest deadline, skips contexts that answered (or finished) meanwhile — a bounded batch per task step —
and defers the rest — each
deferral in its own task, because it is a REST call and the watchdog must stay on time. The watchdog runs
in the spawner (the executor's nursery) and is restarted lazily if that nursery is replaced.

The queue holds a small `Watch` per interaction, not the context itself: the router calls `Watch.done` when
the handler returns, which lets go of the context at once. Otherwise every answered interaction of the last
``after`` seconds — its context, its parsed interaction, member, user and channel — would stay alive until
the watchdog reached it (12,000 of them at 5,000 interactions a second).
"""

from __future__ import annotations

import logging
from collections import deque

import trio

from shard.interactions.context import InteractionContext, Spawner

log = logging.getLogger(__name__)

#: Answered contexts the watchdog drops in one task step. Under load the queue holds every interaction of
#: the last ``after`` seconds; dropping thousands at once was a 9-16 ms step that delayed the interactions
#: arriving meanwhile (the benchmark's slow-step report at 800-1,600/s).
_SKIPS_PER_STEP = 256


class Watch:
    """One interaction's place in the queue; `done` (the handler returned) lets go of its context."""

    __slots__ = ("ctx", "deadline")

    def __init__(self, deadline: float, ctx: InteractionContext) -> None:
        self.deadline = deadline
        self.ctx: InteractionContext | None = ctx

    def done(self) -> None:
        self.ctx = None


class AutoDeferrer:
    """Defers contexts that are still unanswered ``after`` seconds after `watch` was called."""

    def __init__(self, spawner: Spawner, after: float) -> None:
        self._spawner = spawner
        self.after = after
        self._queue: deque[Watch] = deque()
        self._running = False
        self._wakeup = trio.Event()

    def watch(self, ctx: InteractionContext) -> Watch:
        """Start the clock for ``ctx``; call `Watch.done` when its handler returns."""
        watch = Watch(trio.current_time() + self.after, ctx)
        self._queue.append(watch)
        if not self._running:
            try:
                self._spawner.start_soon(self._run)
            except RuntimeError:  # the executor is stopping: no new background work
                log.warning("auto-defer unavailable: the spawner is not running")
                return watch
            self._running = True
        elif len(self._queue) == 1:
            self._wakeup.set()
        return watch

    def __len__(self) -> int:
        return len(self._queue)

    async def _run(self) -> None:
        skipped = 0
        ctx: InteractionContext | None = None
        try:
            while True:
                if not self._queue:
                    ctx = None  # (the last one it skipped)
                    self._wakeup = trio.Event()
                    await self._wakeup.wait()
                    continue
                head = self._queue[0]
                ctx = head.ctx
                if ctx is None or ctx.finished or ctx.answered:
                    self._queue.popleft()
                    skipped += 1
                    if skipped % _SKIPS_PER_STEP == 0:
                        await trio.lowlevel.checkpoint()  # let interactions run between batches of skips
                    continue
                if trio.current_time() < head.deadline:
                    ctx = None  # not held while sleeping: its handler may finish (and let go of it) meanwhile
                    await trio.sleep_until(head.deadline)
                    continue
                self._queue.popleft()
                log.info("%s did not answer within %.1f s; deferring", ctx.name, self.after)
                self._spawner.start_soon(self._defer, ctx)
        finally:
            self._running = False

    @staticmethod
    async def _defer(ctx: InteractionContext) -> None:
        if ctx.finished:
            return
        try:
            await ctx.defer()
        except Exception:
            log.warning("auto-defer of %s failed", ctx.name, exc_info=True)
