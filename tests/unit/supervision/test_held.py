"""`held`: a trio Lock or Semaphore held for a block, with no scheduler round trip when it is free."""

from __future__ import annotations

import trio
import trio.testing

from supervision.held import held


async def test_a_free_lock_or_semaphore_is_taken_without_a_checkpoint() -> None:
    lock, limit = trio.Lock(), trio.Semaphore(1)
    with trio.testing.assert_checkpoints():  # what plain `async with` costs: a trip through the scheduler
        async with lock:
            pass
    with trio.testing.assert_no_checkpoints():
        async with held(lock):
            assert lock.locked()
        async with held(limit):
            assert limit.value == 0
    assert not lock.locked()
    assert limit.value == 1


async def test_a_taken_lock_is_waited_for_in_arrival_order() -> None:
    lock = trio.Lock()
    order: list[int] = []

    async def take(n: int) -> None:
        async with held(lock):
            order.append(n)
            await trio.sleep(0.01)

    async with trio.open_nursery() as nursery:
        for n in range(3):
            nursery.start_soon(take, n)
            await trio.testing.wait_all_tasks_blocked()
    assert order == [0, 1, 2]
    assert not lock.locked()


async def test_a_cancelled_waiter_leaves_the_lock_as_it_was() -> None:
    lock = trio.Lock()
    cancelled: list[bool] = []

    async def wait_briefly() -> None:
        with trio.move_on_after(0.01) as scope:
            async with held(lock):  # taken by the other task: waits, then is cancelled
                raise AssertionError("not reached")
        cancelled.append(scope.cancelled_caught)

    async with held(lock), trio.open_nursery() as nursery:
        nursery.start_soon(wait_briefly)
    assert cancelled == [True]
    assert not lock.locked()
    async with held(lock):  # and it can be taken again at once
        assert lock.locked()


async def test_the_lock_is_released_when_the_block_raises() -> None:
    lock = trio.Lock()
    try:
        async with held(lock):
            raise ValueError("handler failed")
    except ValueError:
        pass
    assert not lock.locked()


async def test_a_semaphore_admits_at_most_its_value() -> None:
    limit = trio.Semaphore(2)
    inside = 0
    most = 0

    async def use() -> None:
        nonlocal inside, most
        async with held(limit):
            inside += 1
            most = max(most, inside)
            await trio.sleep(0.01)
            inside -= 1

    async with trio.open_nursery() as nursery:
        for _ in range(6):
            nursery.start_soon(use)
    assert most == 2
    assert limit.value == 2


async def test_a_wait_with_a_deadline_gives_up_with_too_slow_and_takes_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    limit = trio.Semaphore(1)
    outcomes: list[str] = []

    async def waiter(deadline_in: float) -> None:
        try:
            async with held(limit, deadline=trio.current_time() + deadline_in):
                outcomes.append(f"took at {trio.current_time():.0f}")
        except trio.TooSlowError:
            outcomes.append(f"too slow at {trio.current_time():.0f}")

    # the first hold: free, so taken at once (its deadline unused)
    async with trio.open_nursery() as nursery, held(limit, deadline=trio.current_time() + 1):
        nursery.start_soon(waiter, 5.0)  # gives up at t=5, while the slot is still held
        nursery.start_soon(waiter, 20.0)  # gets the slot when it is released at t=10
        await trio.sleep(10)
    assert outcomes == ["too slow at 5", "took at 10"]
    assert limit.value == 1  # the abandoned wait took nothing
