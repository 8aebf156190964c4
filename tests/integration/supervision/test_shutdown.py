"""Graceful shutdown order and timeouts, and SIGINT/SIGTERM handling."""

import os
import signal

import pytest
import trio
import trio.testing

from supervision import (
    ActorContext,
    ChildSpec,
    KeyedSupervisorSpec,
    NodeState,
    SupervisorSpec,
    open_runtime,
    run_until_signalled,
)
from tests.fixtures.supervision import Journal, ignores_stop, probe, worker


async def test_children_stop_in_reverse_start_order_after_draining(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    inner = SupervisorSpec("inner", children=[probe("x", journal), probe("y", journal)])
    spec = SupervisorSpec("root", children=[probe("a", journal), inner, probe("c", journal)])
    async with open_runtime(spec) as rt:
        assert journal.of("start") == ["a", "x", "y", "c"]
        for i in range(10):
            rt.ref("root/c").tell(i)
        ref_c = rt.ref("root/c")
    assert journal.of("stop") == ["c", "y", "x", "a"]
    assert ref_c.tell("late") is False  # refs outlive the runtime harmlessly: a dead letter
    node = rt.node("root/c")
    assert node is not None and node.state is NodeState.STOPPED
    assert node.handled == 10  # type: ignore[attr-defined]  # queued work was drained before on_stop


async def test_a_stuck_child_costs_its_own_timeout_and_no_more(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    spec = SupervisorSpec(
        "root",
        children=[
            probe("a", journal),
            worker("stuck", journal, ignores_stop, shutdown_timeout=2.0),
            probe("c", journal),
        ],
    )
    async with open_runtime(spec) as rt:
        start = trio.current_time()
    assert trio.current_time() - start == pytest.approx(2.0)
    assert journal.of("stop") == ["c", "a"]
    stuck = rt.node("root/stuck")
    assert stuck is not None and stuck.state is NodeState.STOPPED
    assert stuck.last_exit is not None and stuck.last_exit.kind == "cancel"


async def test_worker_reading_its_mailbox_ends_when_intake_closes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    drained: list[object] = []

    async def consumer(ctx: ActorContext) -> None:
        async for msg in ctx.mailbox:
            drained.append(msg)
        drained.append("end")

    spec = SupervisorSpec("root", children=[ChildSpec("consumer", run=consumer, shutdown_timeout=100.0)])
    async with open_runtime(spec) as rt:
        rt.ref("root/consumer").tell(1)
        start = trio.current_time()
    assert drained == [1, "end"]
    assert trio.current_time() - start < 1.0


async def test_keyed_children_are_stopped_by_closing_their_mailboxes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    keyed = KeyedSupervisorSpec("guilds", child=lambda key: probe(f"g{key}", journal))
    async with open_runtime(SupervisorSpec("root", children=[keyed])) as rt:
        for key in range(20):
            rt.keyed("root/guilds").tell(key, "hello")
    assert len(journal.of("stop")) == 20


async def _signal_me(signum: int, delay: float) -> None:
    await trio.sleep(delay)
    os.kill(os.getpid(), signum)


async def test_first_signal_shuts_down_gracefully() -> None:
    journal = Journal()
    spec = SupervisorSpec("root", children=[probe("a", journal), probe("b", journal)])
    async with open_runtime(spec) as rt, trio.open_nursery() as nursery:
        nursery.start_soon(_signal_me, signal.SIGTERM, 0.05)
        with trio.fail_after(10):
            await run_until_signalled(rt)
        assert rt.shutting_down
        assert journal.of("stop") == ["b", "a"]


async def test_second_signal_forces_shutdown() -> None:
    journal = Journal()
    spec = SupervisorSpec(
        "root", children=[probe("a", journal), worker("stuck", journal, ignores_stop, shutdown_timeout=3600)]
    )
    with trio.fail_after(10):  # a stuck child with an hour-long shutdown timeout does not hold us
        async with open_runtime(spec) as rt:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_signal_me, signal.SIGINT, 0.05)
                nursery.start_soon(_signal_me, signal.SIGINT, 0.3)
                await run_until_signalled(rt)
            assert rt.shutting_down and rt.finished.is_set()
    assert journal.of("stop") == []  # nobody got a graceful stop: "a" was still waiting behind "stuck"
    assert rt.node("root/stuck").state is NodeState.STOPPED  # type: ignore[union-attr]
    assert rt.node("root/a").state is NodeState.STOPPED  # type: ignore[union-attr]


async def test_errors_raised_while_being_torn_down_are_recorded_not_raised(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def messy(ctx: ActorContext) -> None:
        async def cleanup_fails() -> None:
            try:
                await trio.sleep_forever()
            finally:
                raise ValueError("cleanup failed")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(cleanup_fails)
            nursery.start_soon(trio.sleep_forever)

    spec = SupervisorSpec("root", children=[ChildSpec("messy", run=messy)])
    async with open_runtime(spec) as rt:
        await trio.sleep(1)
        rt.force_shutdown()
    node = rt.node("root/messy")
    assert node is not None and node.last_exit is not None
    assert (node.last_exit.exc_type, node.last_exit.msg) == ("ValueError", "cleanup failed")
