"""The slow-step monitor on a real trio loop (real clock on purpose: it measures real stalls).

The watchdog thread samples the loop thread's running step, so these tests pin what could go wrong in that:
the blocking task is named even while other tasks run quick steps around it (and so the private trio details
it reads, the run loop's ``task`` local and ``Task._schedule_points``, are where it expects them); an idle
loop (tasks sleeping) is no stall; short steps are not recorded; a long stall is logged *while it lasts*;
and the watchdog thread ends with the monitor.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from supervision.slowsteps import SlowStepMonitor


@asynccontextmanager
async def watching(monitor: SlowStepMonitor) -> AsyncIterator[None]:
    monitor.start()
    try:
        yield
        await trio.sleep(monitor.interval * 3)  # the watchdog's sample after the last step ended
    finally:
        monitor.stop()


async def run_tasks(*tasks: tuple[str, Callable[[], Awaitable[None]]]) -> None:
    async with trio.open_nursery() as nursery:
        for name, task in tasks:
            nursery.start_soon(task, name=name)


async def test_a_blocking_step_is_named_with_its_task_and_line_while_other_tasks_keep_stepping() -> None:
    monitor = SlowStepMonitor(threshold=0.1)  # thresholds well above a busy CI machine's scheduling delays
    quick_steps = 0

    async def quick() -> None:
        nonlocal quick_steps
        for _ in range(200):
            quick_steps += 1
            await trio.lowlevel.checkpoint()

    async def hog() -> None:
        for _ in range(3):
            await trio.lowlevel.checkpoint()
        time.sleep(0.3)  # blocks the whole loop for one step
        await trio.lowlevel.checkpoint()

    async with watching(monitor):
        await run_tasks(("root/quick", quick), ("root/hog", hog))
    assert quick_steps == 200
    assert monitor.count == 1, monitor.snapshot()
    (_, task, seconds, where) = monitor.slow[0]
    assert task == "root/hog"
    assert 0.3 - monitor.interval <= seconds < 1.0  # a lower bound, within one heartbeat interval
    assert where is not None and "test_slowsteps.py" in where and "(hog)" in where
    worst = monitor.snapshot()["worst"]
    assert isinstance(worst, list) and worst[0]["task"] == "root/hog" and worst[0]["where"] == where


async def test_an_idle_loop_is_no_stall() -> None:
    monitor = SlowStepMonitor(threshold=0.1)

    async def sleeper() -> None:
        for _ in range(3):
            await trio.sleep(0.1)  # the loop sits in its I/O wait: no task step runs

    async with watching(monitor):
        await run_tasks(("root/sleeper", sleeper))
    assert monitor.count == 0, monitor.snapshot()


async def test_steps_under_the_threshold_are_not_recorded_but_one_over_it_is() -> None:
    monitor = SlowStepMonitor(threshold=0.1)

    async def steps() -> None:
        for _ in range(5):
            time.sleep(0.01)
            await trio.lowlevel.checkpoint()
        time.sleep(0.25)
        await trio.lowlevel.checkpoint()

    async with watching(monitor):
        await run_tasks(("root/steps", steps))
    assert monitor.count == 1, monitor.snapshot()
    assert monitor.slow[0][1] == "root/steps" and monitor.slow[0][2] >= 0.25 - monitor.interval


async def test_a_long_stall_is_logged_while_it_lasts(caplog: pytest.LogCaptureFixture) -> None:
    monitor = SlowStepMonitor(threshold=0.1, warn_after=0.2)
    ended_at: list[float] = []

    async def stuck() -> None:
        time.sleep(0.6)  # the loop cannot log this itself until it is over
        ended_at.append(time.time())

    with caplog.at_level(logging.WARNING, logger="supervision.slowsteps"):
        async with watching(monitor):
            await run_tasks(("root/guilds/1200", stuck))
    warnings = [r for r in caplog.records if "event loop blocked" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert warnings[0].created < ended_at[0]  # logged by the watchdog during the stall
    assert "root/guilds/1200" in warnings[0].getMessage() and "(stuck)" in warnings[0].getMessage()
    assert monitor.count == 1 and monitor.slow[0][1] == "root/guilds/1200"


async def test_the_watchdog_thread_ends_with_the_monitor() -> None:
    monitor = SlowStepMonitor(threshold=0.05)
    before = {t.name for t in threading.enumerate()}
    assert "slow-step watchdog" not in before
    async with watching(monitor):
        assert "slow-step watchdog" in {t.name for t in threading.enumerate()}
    assert "slow-step watchdog" not in {t.name for t in threading.enumerate()}  # joined by stop()
    monitor.start()  # and it can watch again
    monitor.stop()


def test_a_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SlowStepMonitor(threshold=0)


async def test_a_step_under_a_mock_clock_is_still_timed_in_real_time(
    autojump_clock: trio.testing.MockClock,
) -> None:
    monitor = SlowStepMonitor(threshold=0.1)

    async def blocking() -> None:
        await trio.sleep(3600)  # mock time: instant under the autojump clock
        time.sleep(0.3)

    async with watching(monitor):
        await run_tasks(("root/blocking", blocking))
        # mock sleeps take no real time: idle the loop for real while the watchdog samples it
        await trio.to_thread.run_sync(time.sleep, monitor.interval * 3)
    assert monitor.count == 1 and monitor.slow[0][1] == "root/blocking"
