"""The slow-step instrument on a real trio loop: a blocking step is charged to its task, nothing else is.

It times a step from the end of the previous step (or of the I/O wait), so these tests pin the two ways that
could go wrong: a quick step that follows a slow one in the same batch must not be charged with it, and the
first step after a long I/O wait (a task that slept) must not be charged with the wait.
"""

import time

import trio

from supervision.slowsteps import SlowStepInstrument


async def test_a_blocking_step_is_charged_to_its_task_and_the_steps_around_it_are_not() -> None:
    slow = SlowStepInstrument(threshold=0.05)
    trio.lowlevel.add_instrument(slow)
    try:
        quick_steps = 0

        async def quick() -> None:
            nonlocal quick_steps
            for _ in range(200):
                quick_steps += 1
                await trio.lowlevel.checkpoint()

        async def hog() -> None:
            for _ in range(3):
                await trio.lowlevel.checkpoint()
            time.sleep(0.08)  # blocks the whole loop for one step
            await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(quick, name="root/quick")
            nursery.start_soon(hog, name="root/hog")
    finally:
        trio.lowlevel.remove_instrument(slow)
    assert quick_steps == 200
    assert slow.count == 1
    (_, task, seconds) = slow.slow[0]
    assert task == "root/hog"
    assert 0.08 <= seconds < 0.5
    worst = slow.snapshot()["worst"]
    assert isinstance(worst, list) and worst[0]["task"] == "root/hog"


async def test_the_first_step_after_a_long_wait_is_not_charged_with_the_wait() -> None:
    slow = SlowStepInstrument(threshold=0.05)
    trio.lowlevel.add_instrument(slow)
    try:

        async def sleeper() -> None:
            for _ in range(3):
                await trio.sleep(0.1)  # the loop sits in its I/O wait: no task step runs

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleeper, name="root/sleeper")
    finally:
        trio.lowlevel.remove_instrument(slow)
    assert slow.count == 0, slow.snapshot()


async def test_steps_under_the_threshold_are_not_recorded_but_one_over_it_is() -> None:
    slow = SlowStepInstrument(threshold=0.02)
    trio.lowlevel.add_instrument(slow)
    try:

        async def steps() -> None:
            time.sleep(0.005)
            await trio.lowlevel.checkpoint()
            time.sleep(0.03)
            await trio.lowlevel.checkpoint()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(steps, name="root/steps")
    finally:
        trio.lowlevel.remove_instrument(slow)
    assert slow.count == 1
    assert slow.slow[0][1] == "root/steps" and slow.slow[0][2] >= 0.03
