"""Property tests of restart accounting through the real runtime: for any crash schedule, a supervisor
escalates (and a keyed child is quarantined) exactly when the schedule exceeds the budget — never later,
never earlier. The oracle counts crashes in a sliding window on its own; it does not reuse RestartBudget."""

from collections.abc import Hashable

import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision import (
    BackoffSpec,
    KeyedSupervisorSpec,
    NodeState,
    SupervisorEscalation,
    SupervisorSpec,
    open_runtime,
)
from tests.fixtures.supervision import Journal, probe

#: Restarts happen at once (zero backoff), so each crash's virtual time is the time we injected it.
IMMEDIATE = BackoffSpec(base=0.0, max=0.0)


def first_violation(times: list[float], max_restarts: int, window: float) -> int | None:
    """Index of the first crash that makes more than ``max_restarts`` crashes within ``window`` seconds."""
    for i, now in enumerate(times):
        if sum(1 for t in times[: i + 1] if t > now - window) > max_restarts:
            return i
    return None


schedules = st.lists(st.integers(1, 40).map(lambda tenths: tenths / 10), min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(gaps=schedules, max_restarts=st.integers(0, 4), window=st.sampled_from([1.0, 2.5, 5.0]))
def test_supervisor_escalates_exactly_when_the_schedule_exceeds_its_budget(
    gaps: list[float], max_restarts: int, window: float
) -> None:
    times, now = [], 0.0
    for gap in gaps:
        now += gap
        times.append(round(now, 1))
    expected = first_violation(times, max_restarts, window)

    async def scenario() -> tuple[bool, int]:
        journal = Journal()
        spec = SupervisorSpec(
            "root",
            children=[probe("a", journal)],
            max_restarts=max_restarts,
            window=window,
            backoff=IMMEDIATE,
        )
        escalated = False
        try:
            async with open_runtime(spec) as rt:
                start = trio.current_time()
                for at in times:
                    await trio.sleep_until(start + at)
                    rt.ref("root/a").tell("crash")
                await trio.sleep(0.05)
        except SupervisorEscalation:
            escalated = True
        return escalated, journal.starts("a")

    escalated, starts = trio.run(scenario, clock=trio.testing.MockClock(autojump_threshold=0))
    assert escalated == (expected is not None)
    # every crash before the violating one was followed by a restart; the violating one was not
    assert starts == 1 + (len(times) if expected is None else expected)


@settings(max_examples=40, deadline=None)
@given(gaps=schedules, max_restarts=st.integers(0, 4), window=st.sampled_from([1.0, 2.5, 5.0]))
def test_keyed_child_is_quarantined_exactly_when_its_schedule_exceeds_its_budget(
    gaps: list[float], max_restarts: int, window: float
) -> None:
    times, now = [], 0.0
    for gap in gaps:
        now += gap
        times.append(round(now, 1))
    expected = first_violation(times, max_restarts, window)

    async def scenario() -> tuple[NodeState, int, int]:
        journal = Journal()

        def child(key: Hashable) -> object:
            return probe(f"g{key}", journal)

        keyed = KeyedSupervisorSpec(
            "guilds",
            child=child,  # type: ignore[arg-type]
            child_max_restarts=max_restarts,
            child_window=window,
            quarantine_for=10_000.0,
            idle_timeout=None,
            backoff=IMMEDIATE,
        )
        async with open_runtime(SupervisorSpec("root", children=[keyed], max_restarts=0)) as rt:
            guilds = rt.keyed("root/guilds")
            await guilds.ref("sibling").call("hello")
            start = trio.current_time()
            for at in times:
                await trio.sleep_until(start + at)
                guilds.tell("bad", "crash")
            await trio.sleep(0.05)
            node = rt.node("root/guilds")
            state = node.live["bad"].state  # type: ignore[union-attr]
            assert await guilds.ref("sibling").call("still here") == ("gsibling", "still here", 1)
            return state, journal.starts("gbad"), rt.dead_letters.by_reason["quarantined"]

    state, starts, quarantined_letters = trio.run(
        scenario, clock=trio.testing.MockClock(autojump_threshold=0)
    )
    if expected is None:
        assert state is NodeState.RUNNING
        assert starts == 1 + len(times)
    else:
        assert state is NodeState.QUARANTINED
        assert starts == 1 + expected
        # crashes injected after the quarantine are counted dead letters, not restarts
        assert quarantined_letters == len(times) - expected - 1
