"""Strategies, restart types and intensity escalation, through the real runtime (virtual time)."""

import random

import pytest
import trio
import trio.testing

from supervision import (
    ActorContext,
    ActorExited,
    BackoffSpec,
    ChildSpec,
    NodeState,
    Restart,
    Strategy,
    SupervisorEscalation,
    SupervisorSpec,
    open_runtime,
)
from tests.fixtures.supervision import (
    Journal,
    MaxJitter,
    probe,
    raises_after_a_second,
    returns_normally,
    settle,
    worker,
)

FAST = BackoffSpec(base=0.01, max=0.05)


def tree(journal: Journal, strategy: Strategy, **kwargs: object) -> SupervisorSpec:
    return SupervisorSpec(
        "root",
        strategy,
        [probe("a", journal), probe("b", journal), probe("c", journal)],
        backoff=FAST,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("strategy", "restarted"),
    [
        (Strategy.ONE_FOR_ONE, {"a": 1, "b": 2, "c": 1}),
        (Strategy.ONE_FOR_ALL, {"a": 2, "b": 2, "c": 2}),
        (Strategy.REST_FOR_ONE, {"a": 1, "b": 2, "c": 2}),
    ],
)
async def test_strategy_restarts_the_right_children(
    autojump_clock: trio.testing.MockClock, strategy: Strategy, restarted: dict[str, int]
) -> None:
    journal = Journal()
    async with open_runtime(tree(journal, strategy)) as rt:
        assert journal.of("start") == ["a", "b", "c"]  # ordered start
        rt.ref("root/b").tell("crash")
        await settle()
        assert {name: journal.starts(name) for name in "abc"} == restarted
        # every child answers again, through the same refs
        for name in "abc":
            assert (await rt.ref(f"root/{name}").call("ping"))[:2] == (name, "ping")
        assert rt.node("root/b").restarts_total == 1  # type: ignore[union-attr]


async def test_rest_for_one_restarts_in_start_order(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(tree(journal, Strategy.REST_FOR_ONE)) as rt:
        rt.ref("root/a").tell("crash")
        await settle()
        second_round = [name for name, kind, inc in journal.events if kind == "start" and inc == 2]
        assert second_round == ["a", "b", "c"]


async def test_messages_sent_during_backoff_reach_the_next_incarnation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    spec = SupervisorSpec("root", children=[probe("a", journal)], backoff=BackoffSpec(base=1.0, max=1.0))
    async with open_runtime(spec) as rt:
        ref = rt.ref("root/a")
        ref.tell("crash")
        await trio.sleep(0.001)
        assert rt.node("root/a").state is NodeState.BACKOFF  # type: ignore[union-attr]
        ref.tell("queued")
        reply = await ref.call("after")
        assert reply == ("a", "after", 2)
        assert await ref.call("count") == 3  # "queued", "after" and "count" were handled by incarnation 2


@pytest.mark.parametrize(
    ("restart", "body", "expected_starts", "expected_state"),
    [
        (Restart.PERMANENT, returns_normally, 3, None),
        (Restart.TRANSIENT, returns_normally, 1, NodeState.STOPPED),
        (Restart.TRANSIENT, raises_after_a_second, 3, None),
        (Restart.TEMPORARY, raises_after_a_second, 1, NodeState.STOPPED),
    ],
)
async def test_restart_types(
    autojump_clock: trio.testing.MockClock,
    restart: Restart,
    body: object,
    expected_starts: int,
    expected_state: NodeState | None,
) -> None:
    journal = Journal()
    spec = SupervisorSpec(
        "root",
        children=[worker("w", journal, body, restart=restart)],  # type: ignore[arg-type]
        max_restarts=100,
        window=100.0,
        backoff=FAST,
    )
    async with open_runtime(spec) as rt:
        await trio.sleep(2.5)  # each incarnation lives 1 s (+ up to 50 ms backoff)
        assert journal.starts("w") == expected_starts
        node = rt.node("root/w")
        assert node is not None
        if expected_state is not None:
            assert node.state is expected_state
            with pytest.raises(ActorExited):
                await rt.ref("root/w").call("hello")


async def test_root_exceeding_its_budget_fails_the_runtime_with_a_clear_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    spec = SupervisorSpec("root", children=[probe("a", journal)], max_restarts=2, window=10.0, backoff=FAST)
    with pytest.raises(SupervisorEscalation) as caught:
        async with open_runtime(spec) as rt:
            for _ in range(3):
                rt.ref("root/a").tell("crash")
                await settle(0.2)
            await trio.sleep_forever()  # the runtime's failure cancels the body
    assert "more than 2 restarts within 10s" in str(caught.value)
    assert "root/a RuntimeError" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert journal.starts("a") == 3


async def test_nested_supervisor_escalates_to_its_parent_which_restarts_the_subtree(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    inner = SupervisorSpec(
        "inner",
        children=[probe("x", journal), probe("y", journal)],
        max_restarts=1,
        window=10.0,
        backoff=FAST,
    )
    spec = SupervisorSpec("root", children=[probe("sibling", journal), inner], max_restarts=5, backoff=FAST)
    async with open_runtime(spec) as rt:
        x = rt.ref("root/inner/x")
        x.tell("crash")
        await settle()
        assert journal.starts("x") == 2 and journal.starts("y") == 1  # inner restarted x alone
        x.tell("crash")  # second restart within inner's window: inner gives up
        await settle()
        inner_node = rt.node("root/inner")
        assert inner_node is not None and inner_node.restarts_total == 1
        assert inner_node.last_exit is not None and inner_node.last_exit.exc_type == "SupervisorEscalation"
        assert journal.starts("x") == 3 and journal.starts("y") == 2  # the whole subtree restarted fresh
        assert journal.starts("sibling") == 1  # root is one_for_one: the sibling was not touched
        assert await x.call("ok") == ("x", "ok", 3)
        assert rt.readiness()


async def test_critical_child_in_backoff_makes_runtime_not_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    spec = SupervisorSpec(
        "root",
        children=[probe("core", journal, critical=True), probe("extra", journal)],
        backoff=BackoffSpec(base=10.0, max=10.0),
    )
    async with open_runtime(spec) as rt:
        assert rt.readiness()
        rt.ref("root/extra").tell("crash")
        await trio.sleep(0.001)
        assert rt.readiness()  # a non-critical child does not matter
        rt.ref("root/core").tell("crash")
        await trio.sleep(0.001)
        if rt.node("root/core").state is NodeState.BACKOFF:  # type: ignore[union-attr]
            assert not rt.readiness()
        await trio.sleep(11)
        assert rt.readiness()


async def test_startup_crash_is_retried_with_backoff(autojump_clock: trio.testing.MockClock) -> None:
    attempts: list[float] = []

    class FailsTwiceOnStart:
        async def on_start(self, ctx: object) -> None:
            attempts.append(trio.current_time())
            if len(attempts) <= 2:
                raise OSError("dependency not up yet")

        async def handle(self, msg: object, ctx: object) -> object:
            return msg

    spec = SupervisorSpec("root", children=[ChildSpec("svc", factory=FailsTwiceOnStart)], backoff=FAST)
    async with open_runtime(spec) as rt:
        await settle()
        assert await rt.ref("root/svc").call("up") == "up"
        assert len(attempts) == 3
        assert rt.node("root/svc").restarts_total == 2  # type: ignore[union-attr]


async def test_observed_restart_delays_stay_within_full_jitter_bounds(
    autojump_clock: trio.testing.MockClock,
) -> None:
    backoff = BackoffSpec(base=0.5, max=3.0, reset_after=1000.0)
    restarted_at: list[float] = []
    crashed_at: list[float] = []

    async def crashes_at_once(ctx: object) -> None:
        restarted_at.append(trio.current_time())
        crashed_at.append(trio.current_time())
        raise RuntimeError("still broken")

    spec = SupervisorSpec(
        "root",
        children=[ChildSpec("flaky", run=crashes_at_once)],
        max_restarts=100,
        window=1.0,
        backoff=backoff,
    )
    async with open_runtime(spec, rng=random.Random(1234)) as rt:
        await trio.sleep(30)
        node = rt.node("root/flaky")
        assert node is not None and node.restarts_total >= 8
    delays = [start - crash for crash, start in zip(crashed_at, restarted_at[1:], strict=False)]
    for attempt, delay in enumerate(delays):
        assert 0.0 <= delay <= min(backoff.max, backoff.base * 2**attempt) + 1e-9
    assert max(delays) > backoff.base  # the cap really grows beyond the base


async def test_failures_during_a_pending_group_restart_merge_into_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    spec = SupervisorSpec(
        "root",
        Strategy.REST_FOR_ONE,
        [probe("a", journal), probe("b", journal), probe("c", journal)],
        max_restarts=5,
        backoff=BackoffSpec(base=1.0, max=1.0),
    )
    async with open_runtime(spec, rng=MaxJitter()) as rt:
        rt.ref("root/c").tell("crash")
        await trio.sleep(0.1)
        assert rt.node("root/c").state is NodeState.BACKOFF  # type: ignore[union-attr]
        rt.ref("root/a").tell("crash")  # a's group (a, b, c) swallows c's pending restart
        await trio.sleep(0.1)
        assert {n: rt.node(f"root/{n}").state for n in "abc"} == {  # type: ignore[union-attr]
            n: NodeState.BACKOFF for n in "abc"
        }
        await trio.sleep(2)
        assert {name: journal.starts(name) for name in "abc"} == {"a": 2, "b": 2, "c": 2}
        second_round = [name for name, kind, inc in journal.events if kind == "start" and inc == 2]
        assert second_round == ["a", "b", "c"]
        root = rt.health()["tree"]
        assert root["restarts"]["in_window"] == 2


async def test_a_child_that_never_starts_fails_the_runtime_at_entry(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class NeverStarts:
        async def on_start(self, ctx: object) -> None:
            raise ConnectionRefusedError("database is down")

        async def handle(self, msg: object, ctx: object) -> object:
            return msg

    entered = False
    spec = SupervisorSpec(
        "root", children=[ChildSpec("db", factory=NeverStarts)], max_restarts=2, window=60.0, backoff=FAST
    )
    with pytest.raises(SupervisorEscalation) as caught:
        async with open_runtime(spec):
            entered = True
            await trio.sleep_forever()
    assert "root/db ConnectionRefusedError 'database is down'" in str(caught.value)
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    assert entered  # the block was entered (the child's start is retried in the background), then cancelled


async def test_a_failure_during_a_group_start_never_runs_a_child_twice(
    autojump_clock: trio.testing.MockClock,
) -> None:
    running: dict[str, int] = {}
    most: dict[str, int] = {}
    starts: dict[str, int] = {}

    class Tracked:
        def __init__(self, name: str, start_delay: float) -> None:
            self.name = name
            self.start_delay = start_delay

        async def on_start(self, ctx: ActorContext) -> None:
            name = self.name
            running[name] = running.get(name, 0) + 1
            most[name] = max(most.get(name, 0), running[name])
            starts[name] = starts.get(name, 0) + 1
            try:
                await trio.sleep(self.start_delay)
            except BaseException:
                running[name] -= 1
                raise
            ctx.start_soon(self._count_until_the_incarnation_ends)

        async def _count_until_the_incarnation_ends(self) -> None:
            try:
                await trio.sleep_forever()
            finally:
                running[self.name] -= 1

        async def handle(self, msg: object, ctx: ActorContext) -> object:
            if msg == "crash":
                raise RuntimeError(f"{self.name} crashed")
            return msg

    def tracked(name: str, start_delay: float) -> ChildSpec:
        return ChildSpec(name, factory=lambda: Tracked(name, start_delay))

    spec = SupervisorSpec(
        "root",
        Strategy.REST_FOR_ONE,
        [tracked("a", 0.0), tracked("b", 1.0), tracked("c", 0.0)],
        max_restarts=10,
        backoff=BackoffSpec(base=0.1, max=0.1),
    )
    async with open_runtime(spec, rng=MaxJitter()) as rt:  # initial start: b's on_start takes 1 s
        rt.ref("root/a").tell("crash")
        await trio.sleep(0.1 + 0.5)  # backoff over, a restarted, b half-way through its slow on_start
        rt.ref("root/a").tell("crash")
        await trio.sleep(5)
        assert most == {"a": 1, "b": 1, "c": 1}  # never two incarnations of one child at once
        assert running == {"a": 1, "b": 1, "c": 1}
        assert starts == {"a": 3, "b": 3, "c": 2}  # c was never started by the interrupted round
        assert await rt.ref("root/c").call("ok") == "ok"
