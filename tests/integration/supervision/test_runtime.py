"""Runtime-level behaviour: helper tasks, error surfacing, log fields, loop-lag liveness, lookups."""

import time
from collections.abc import Hashable

import pytest
import trio
import trio.testing

from supervision import (
    ActorContext,
    BackoffSpec,
    ChildSpec,
    KeyedSupervisorSpec,
    SupervisorSpec,
    logfields,
    open_runtime,
    render_text,
)
from tests.fixtures.supervision import settle

FAST = BackoffSpec(base=0.01, max=0.05)


class WithHelper:
    """Starts a ticking helper; "break helper" makes the helper raise."""

    def __init__(self, ticks: list[int]) -> None:
        self.ticks = ticks
        self.fail = trio.Event()

    async def on_start(self, ctx: ActorContext) -> None:
        ctx.start_soon(self._tick, ctx.incarnation)

    async def _tick(self, incarnation: int) -> None:
        while True:
            with trio.move_on_after(1):
                await self.fail.wait()
            if self.fail.is_set():
                raise OSError("helper lost its connection")
            self.ticks.append(incarnation)

    async def handle(self, msg: object, ctx: ActorContext) -> object:
        if msg == "break helper":
            self.fail.set()
        return ctx.incarnation


async def test_helper_tasks_die_with_their_incarnation_and_crash_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ticks: list[int] = []
    spec = SupervisorSpec("root", children=[ChildSpec("a", factory=lambda: WithHelper(ticks))], backoff=FAST)
    async with open_runtime(spec) as rt:
        ref = rt.ref("root/a")
        await trio.sleep(3.5)
        assert ticks == [1, 1, 1]
        await ref.call("break helper")
        await settle()
        node = rt.node("root/a")
        assert node is not None and node.last_exit is not None
        assert node.last_exit.exc_type == "OSError"  # the helper's error is the actor's exit reason
        assert await ref.call("which") == 2
        await trio.sleep(2.5)
        assert ticks == [1, 1, 1, 2, 2]  # the first incarnation's helper stopped ticking


async def test_body_errors_come_out_unwrapped(autojump_clock: trio.testing.MockClock) -> None:
    spec = SupervisorSpec("root", children=[ChildSpec("a", factory=lambda: WithHelper([]))])
    with pytest.raises(KeyError, match="from the body"):
        async with open_runtime(spec):
            raise KeyError("from the body")


async def test_actor_tasks_carry_their_path_in_log_fields(autojump_clock: trio.testing.MockClock) -> None:
    class Reporter:
        async def handle(self, msg: object, ctx: ActorContext) -> object:
            return dict(logfields.current())

    def guild(key: Hashable) -> ChildSpec:
        return ChildSpec(str(key), factory=Reporter)

    spec = SupervisorSpec(
        "root", children=[ChildSpec("r", factory=Reporter), KeyedSupervisorSpec("guilds", child=guild)]
    )
    async with open_runtime(spec) as rt:
        assert await rt.ref("root/r").call("fields") == {"actor": "root/r"}
        assert await rt.keyed("root/guilds").ref(5).call("fields") == {"actor": "root/guilds/5"}
        assert "actor" not in logfields.current()  # nothing leaks into the caller's task


async def test_keyed_workers_end_when_passivated(autojump_clock: trio.testing.MockClock) -> None:
    ended: list[Hashable] = []

    async def session(ctx: ActorContext) -> None:
        async for _msg in ctx.mailbox:
            pass
        ended.append(ctx.key)

    def child(key: Hashable) -> ChildSpec:
        return ChildSpec(f"s{key}", run=session)

    spec = SupervisorSpec("root", children=[KeyedSupervisorSpec("sessions", child=child, idle_timeout=5.0)])
    async with open_runtime(spec) as rt:
        sessions = rt.keyed("root/sessions")
        sessions.tell("a", 1)
        sessions.tell("b", 1)
        await trio.sleep(0.1)
        assert sessions.live_count() == 2
        await trio.sleep(10)
        assert sorted(ended) == ["a", "b"]  # type: ignore[type-var]
        assert sessions.live_count() == 0


async def test_unknown_keyed_path_is_a_lookup_error(autojump_clock: trio.testing.MockClock) -> None:
    async with open_runtime(
        SupervisorSpec("root", children=[ChildSpec("a", factory=lambda: WithHelper([]))])
    ) as rt:
        with pytest.raises(LookupError):
            rt.keyed("root/a")


async def test_a_blocked_event_loop_fails_liveness() -> None:
    """Real clock on purpose: the lag monitor measures how late the scheduler runs a sleeping task."""

    class Hog:
        async def handle(self, msg: object, ctx: ActorContext) -> None:
            time.sleep(0.6)

    spec = SupervisorSpec("root", children=[ChildSpec("hog", factory=Hog)])
    async with open_runtime(spec, loop_lag_threshold=0.25) as rt:
        await trio.sleep(0.25)
        assert rt.liveness()
        rt.ref("root/hog").tell("block")
        await trio.sleep(0.1)  # wakes late, right after the 0.6 s stall ...
        await trio.sleep(0.2)  # ... and this gives the monitor its first (late) tick
        assert not rt.liveness()
        snapshot = rt.health()
        assert snapshot["loop"]["lag_max_s"] >= 0.25
        assert snapshot["alive"] is False
        worst = snapshot["loop"]["slow_steps"]["worst"][0]
        assert rt.slow_steps is not None
        assert worst["task"] == "root/hog"  # the stall is attributed to its actor ...
        assert worst["step_s"] >= 0.6 - rt.slow_steps.interval  # ... and measured within one heartbeat
        assert "(slowest step root/hog" in render_text(snapshot).splitlines()[1]


async def test_an_active_keyed_worker_is_not_passivated(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[object] = []

    async def session(ctx: ActorContext) -> None:
        async for msg in ctx.mailbox:
            seen.append(msg)

    spec = SupervisorSpec(
        "root",
        children=[
            KeyedSupervisorSpec("s", child=lambda key: ChildSpec(str(key), run=session), idle_timeout=5.0)
        ],
    )
    async with open_runtime(spec) as rt:
        sessions = rt.keyed("root/s")
        for i in range(6):
            sessions.tell("busy", i)
            await trio.sleep(3)  # never 5 s without a message
        assert sessions.live_count() == 1
        assert seen == list(range(6))
        await trio.sleep(10)
        assert sessions.live_count() == 0


async def test_errors_inside_a_workers_own_nursery_are_reported_by_their_real_type(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def fan_out(ctx: ActorContext) -> None:
        async def part() -> None:
            await trio.sleep(1)
            raise ValueError("bad frame")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(part)
            nursery.start_soon(trio.sleep_forever)

    spec = SupervisorSpec(
        "root", children=[ChildSpec("w", run=fan_out)], backoff=BackoffSpec(base=50, max=50)
    )
    async with open_runtime(spec) as rt:
        await trio.sleep(2)
        node = rt.node("root/w")
        assert node is not None and node.last_exit is not None
        assert (node.last_exit.kind, node.last_exit.exc_type, node.last_exit.msg) == (
            "error",
            "ValueError",
            "bad frame",
        )
        assert node.restarts_total == 1
