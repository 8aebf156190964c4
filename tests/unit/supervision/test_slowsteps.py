"""The slow-step monitor on a real trio loop (real clock on purpose: it measures real stalls).

A stall is measured by the heartbeat and named by the watchdog thread, so these tests pin what could go
wrong in that split: the blocking task is named even while other tasks run quick steps around it; an idle
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

from supervision.slowsteps import SlowStepMonitor


@asynccontextmanager
async def watching(monitor: SlowStepMonitor) -> AsyncIterator[None]:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(monitor.run, name="supervision:slow-steps")
        await trio.sleep(monitor.interval * 2)  # the heartbeat has stamped and the watchdog runs
        yield
        await trio.sleep(monitor.interval * 2)  # the heartbeat's (late) tick after the last stall
        nursery.cancel_scope.cancel()


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
    assert "slow-step watchdog" not in {t.name for t in threading.enumerate()}  # joined by the monitor


def test_a_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SlowStepMonitor(threshold=0)
