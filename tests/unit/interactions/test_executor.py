"""The command executor actor under the real supervision runtime."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import trio
import trio.testing

from actors.executor import CommandExecutor, Execute
from supervision import ChildSpec, MailboxSpec, SupervisorSpec, open_runtime
from tests.fixtures.interactions import MODERATOR, Bot, build_bot, slash


def executor_tree(executor: CommandExecutor, *, capacity: int = 64, **child: Any) -> SupervisorSpec:
    """A root supervisor with ``executor`` as its one child (``child``: more ChildSpec settings)."""
    mailbox = MailboxSpec(capacity=capacity)
    return SupervisorSpec(
        id="root", children=[ChildSpec(id="executor", factory=lambda: executor, mailbox=mailbox, **child)]
    )


async def test_executor_runs_interactions_concurrently_and_survives_bugs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = CommandExecutor(max_concurrency=4)
    spec = executor_tree(executor, critical=True)
    async with open_runtime(spec) as runtime:
        ref = runtime.ref("root/executor")
        bot: Bot = build_bot(executor)  # the executor is also the spawner for view timeouts

        async def broken() -> None:
            raise RuntimeError("a bug past the router")

        ref.tell(Execute(broken, name="broken"))
        payloads = [slash("slow") for _ in range(3)] + [slash("echo", {"text": "hey"})]
        started = trio.current_time()
        for payload in payloads:
            assert ref.tell(Execute(functools.partial(bot.router.handle, payload)))
        await trio.testing.wait_all_tasks_blocked()
        await executor.wait_idle()
        # three 10 s handlers ran side by side, not one after another
        assert trio.current_time() - started < 15
        for payload in payloads[:3]:
            assert [c.callback_type for c in bot.rest.for_token(payload)] == [5, None]
        assert bot.rest.for_token(payloads[3])[0].content == "hey"
        assert executor.running == 0
        health = runtime.health()
        assert "executor" in str(health)

        # a view timeout scheduled through the executor runs in its nursery
        purge = slash("purge", persona=MODERATOR)
        ref.tell(Execute(functools.partial(bot.router.handle, purge)))
        await trio.sleep(61)
        assert bot.rest.for_token(purge)[-1].method == "PATCH"


class _StepCounter(trio.abc.Instrument):
    """Counts task steps per task name."""

    def __init__(self) -> None:
        self.steps: dict[str, int] = {}

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        self.steps[task.name] = self.steps.get(task.name, 0) + 1


async def test_a_batch_of_jobs_starts_in_one_executor_step_and_a_full_executor_still_waits() -> None:
    executor = CommandExecutor(max_concurrency=3)
    spec = executor_tree(executor)
    release = trio.Event()
    started: list[int] = []

    async def job(n: int) -> None:
        started.append(n)
        await release.wait()

    async with open_runtime(spec) as runtime:
        ref = runtime.ref("root/executor")
        await trio.testing.wait_all_tasks_blocked()
        counter = _StepCounter()
        trio.lowlevel.add_instrument(counter)
        try:
            for n in range(5):
                assert ref.tell(Execute(functools.partial(job, n)))
            await trio.testing.wait_all_tasks_blocked()
        finally:
            trio.lowlevel.remove_instrument(counter)
        # three free slots: three jobs started from one step of the executor (the third waits for a slot)
        assert sorted(started) == [0, 1, 2]
        assert executor.running == 3
        executor_steps = sum(n for name, n in counter.steps.items() if name.startswith("root/executor"))
        assert executor_steps == 1, counter.steps
        release.set()
        await trio.testing.wait_all_tasks_blocked()
        await executor.wait_idle()
        assert sorted(started) == [0, 1, 2, 3, 4]  # the waiting jobs ran once slots were free
        assert executor.running == 0


async def test_jobs_still_running_when_the_executor_stops_are_cancelled_with_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = CommandExecutor(max_concurrency=4)
    spec = executor_tree(executor, capacity=8, shutdown_timeout=2.0)
    outcomes: list[str] = []

    async def stuck() -> None:
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            outcomes.append("cancelled")
            raise

    async def quick() -> None:
        outcomes.append("done")

    async with open_runtime(spec) as runtime:
        ref = runtime.ref("root/executor")
        await trio.testing.wait_all_tasks_blocked()
        assert ref.tell(Execute(quick)) and ref.tell(Execute(stuck))
        await trio.testing.wait_all_tasks_blocked()
        assert outcomes == ["done"] and executor.running == 1
        stopping_at = trio.current_time()
    # the graceful stop waited its 2 s for the stuck job, then cancelled it with the incarnation
    assert outcomes == ["done", "cancelled"]
    assert executor.running == 0
    assert 2.0 <= trio.current_time() - stopping_at < 10


async def test_try_start_runs_a_job_from_the_callers_step_only_while_a_slot_is_free() -> None:
    executor = CommandExecutor(max_concurrency=2)
    release = trio.Event()
    started: list[str] = []

    async def job(label: str) -> None:
        started.append(label)
        await release.wait()

    assert not executor.try_start(functools.partial(job, "early"))  # no incarnation yet: tell instead
    async with open_runtime(executor_tree(executor)) as runtime:
        ref = runtime.ref("root/executor")
        await trio.testing.wait_all_tasks_blocked()
        counter = _StepCounter()
        trio.lowlevel.add_instrument(counter)
        try:
            assert executor.try_start(functools.partial(job, "a"))
            assert executor.running == 1  # counted before the job's first step
            assert executor.try_start(functools.partial(job, "b"))
            assert not executor.try_start(functools.partial(job, "c"))  # both slots busy
            # the declined job goes through the mailbox and waits there for a slot, as any Execute does
            assert ref.tell(Execute(functools.partial(job, "c")))
            await trio.testing.wait_all_tasks_blocked()
        finally:
            trio.lowlevel.remove_instrument(counter)
        assert sorted(started) == ["a", "b"] and executor.running == 2
        # "a" and "b" never went through the executor's task; only the queued "c" woke it
        assert sum(n for name, n in counter.steps.items() if name.startswith("root/executor")) == 1
        release.set()
        await trio.testing.wait_all_tasks_blocked()
        await executor.wait_idle()
        assert sorted(started) == ["a", "b", "c"] and executor.running == 0
    assert not executor.try_start(functools.partial(job, "late"))  # stopped: the job nursery is gone
    assert sorted(started) == ["a", "b", "c"]


async def test_try_start_declines_while_the_executor_waits_for_its_jobs_to_stop(
    autojump_clock: trio.testing.MockClock,
) -> None:
    executor = CommandExecutor(max_concurrency=4)
    declined: list[bool] = []

    async def long_job() -> None:
        await trio.sleep(1)
        declined.append(not executor.try_start(long_job))  # during the graceful stop's wait_idle

    async with open_runtime(executor_tree(executor, shutdown_timeout=5.0)):
        await trio.testing.wait_all_tasks_blocked()
        assert executor.try_start(long_job)
    assert declined == [True]
    assert executor.running == 0


def test_max_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CommandExecutor(max_concurrency=0)
