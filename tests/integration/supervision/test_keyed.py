"""The keyed supervisor: spawn on first message, passivation, LRU cap, per-child budget and quarantine."""

from collections.abc import Hashable

import pytest
import trio
import trio.testing

from supervision import (
    ActorExited,
    BackoffSpec,
    ChildSpec,
    KeyedSupervisorSpec,
    NodeState,
    SupervisorSpec,
    open_runtime,
    render_text,
)
from tests.fixtures.supervision import Journal, MaxJitter, probe, settle

FAST = BackoffSpec(base=0.01, max=0.05)


def guilds(journal: Journal, **kwargs: object) -> SupervisorSpec:
    def child(key: Hashable) -> object:
        return probe(f"guild:{key}", journal)

    keyed = KeyedSupervisorSpec("guilds", child=child, backoff=FAST, **kwargs)  # type: ignore[arg-type]
    return SupervisorSpec("root", children=[keyed], max_restarts=0)


async def test_children_spawn_on_first_message_and_know_their_key(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    async with open_runtime(guilds(journal)) as rt:
        keyed = rt.keyed("root/guilds")
        ref = keyed.ref(1234)
        assert keyed.live_count() == 0  # taking a ref spawns nothing
        assert await ref.call("hi") == ("guild:1234", "hi", 1)
        assert keyed.live_count() == 1
        assert rt.ref("root/guilds/1234").path == "root/guilds/1234"
        assert keyed.tell(99, "x") is True and keyed.live_count() == 2


async def test_idle_children_are_passivated_and_respawned(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(guilds(journal, idle_timeout=10.0)) as rt:
        keyed = rt.keyed("root/guilds")
        ref = keyed.ref(1)
        await ref.call("a")
        await ref.call("b")
        await trio.sleep(5)
        assert keyed.live_count() == 1
        await trio.sleep(10)
        assert keyed.live_count() == 0
        assert journal.of("stop") == ["guild:1"]  # on_stop ran: passivation is graceful
        assert await ref.call("count") == 1  # a fresh instance: the old state is gone
        assert keyed.live_count() == 1
        assert rt.health()["tree"]["children"][0]["passivated"] == 1


async def test_cap_evicts_the_least_recently_active_idle_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    async with open_runtime(guilds(journal, max_children=3, idle_timeout=None)) as rt:
        keyed = rt.keyed("root/guilds")
        for key in (1, 2, 3):
            await keyed.ref(key).call("hello")
            await trio.sleep(1)
        await keyed.ref(1).call("touch")  # now 2 is the least recently active
        await keyed.ref(4).call("hello")
        await settle()
        assert sorted(keyed.keys()) == [1, 3, 4]  # type: ignore[type-var]
        assert "guild:2" in journal.of("stop")


async def test_crash_looping_child_is_quarantined_without_touching_siblings(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    spec = guilds(journal, child_max_restarts=2, child_window=60.0, quarantine_for=100.0)
    async with open_runtime(spec) as rt:  # root max_restarts=0: any escalation would fail the test
        keyed = rt.keyed("root/guilds")
        healthy, bad = keyed.ref(1), keyed.ref(666)
        await healthy.call("hello")
        for _ in range(3):
            bad.tell("crash")
            await settle()
        node = rt.node("root/guilds")
        cell = node.live[666]  # type: ignore[union-attr]
        assert cell.state is NodeState.QUARANTINED
        assert bad.tell("more") is False
        with pytest.raises(ActorExited, match="quarantined"):
            await bad.call("more")
        assert rt.dead_letters.by_reason["quarantined"] >= 1
        assert await healthy.call("still fine") == ("guild:1", "still fine", 1)
        assert journal.starts("guild:1") == 1
        assert rt.readiness()
        await trio.sleep(101)  # the cool-off ends: the next message gets a fresh child
        assert await bad.call("hello again") == ("guild:666", "hello again", 1)


async def test_keyed_children_restart_with_backoff(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(guilds(journal, child_max_restarts=5), rng=MaxJitter()) as rt:
        ref = rt.keyed("root/guilds").ref(7)
        ref.tell("crash")
        await trio.sleep(0.001)
        assert rt.node("root/guilds").live[7].state is NodeState.BACKOFF  # type: ignore[union-attr]
        assert await ref.call("back") == ("guild:7", "back", 2)


async def test_spawning_and_passivating_many_children(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()
    async with open_runtime(guilds(journal, idle_timeout=1.0)) as rt:
        keyed = rt.keyed("root/guilds")
        for key in range(500):
            keyed.tell(key, "hello")
        await trio.sleep(0.01)
        assert keyed.live_count() == 500
        text = render_text(rt.health())
        assert "└─ … 490 more (the 10 most interesting are shown)" in text
        await trio.sleep(2)
        assert keyed.live_count() == 0
        assert len(journal.of("stop")) == 500


async def test_a_full_cap_of_busy_children_refuses_with_a_capacity_dead_letter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    journal = Journal()
    async with open_runtime(guilds(journal, max_children=2, idle_timeout=None)) as rt:
        keyed = rt.keyed("root/guilds")
        for key in (1, 2):
            keyed.tell(key, ("sleep", 100))  # both busy: nothing can be evicted
        await trio.sleep(1)
        assert keyed.ref(3).tell("hello") is False
        with pytest.raises(ActorExited, match="capacity"):
            await keyed.ref(3).call("hello")
        assert rt.dead_letters.by_reason["capacity"] == 1
        await trio.sleep(100)
        assert await keyed.ref(3).call("hello") == ("guild:3", "hello", 1)  # room again once idle


async def test_a_key_the_factory_rejects_is_a_dead_letter(autojump_clock: trio.testing.MockClock) -> None:
    journal = Journal()

    def child(key: Hashable) -> ChildSpec:
        if not isinstance(key, int):
            raise TypeError(f"guild ids are ints, got {key!r}")
        return probe(f"guild:{key}", journal)

    spec = SupervisorSpec("root", children=[KeyedSupervisorSpec("guilds", child=child)])
    async with open_runtime(spec) as rt:
        guilds = rt.keyed("root/guilds")
        assert guilds.tell("not-an-id", "hello") is False
        assert rt.dead_letters.by_reason["no_actor"] == 1
        assert await guilds.ref(7).call("hello") == ("guild:7", "hello", 1)
