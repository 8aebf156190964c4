"""Restart accounting and backoff maths (pure, no event loop)."""

import random

from hypothesis import given
from hypothesis import strategies as st

from supervision import BackoffSpec, RestartBudget, backoff_cap, backoff_delay


def test_budget_allows_max_restarts_then_refuses_within_window() -> None:
    budget = RestartBudget(max_restarts=3, window=5.0)
    assert [budget.record(t) for t in (0.0, 1.0, 2.0)] == [True, True, True]
    assert budget.record(3.0) is False


def test_budget_forgets_restarts_older_than_window() -> None:
    budget = RestartBudget(max_restarts=2, window=5.0)
    assert budget.record(0.0) and budget.record(1.0)
    assert budget.record(5.5) is True  # the restart at 0.0 left the window
    assert budget.in_window(5.5) == 2


def test_zero_budget_refuses_first_restart() -> None:
    assert RestartBudget(max_restarts=0, window=1.0).record(0.0) is False


@given(
    base=st.floats(0.0, 10.0),
    maximum=st.floats(0.0, 100.0),
    attempt=st.integers(0, 200),
    seed=st.integers(0, 2**32),
)
def test_backoff_delay_within_full_jitter_bounds(
    base: float, maximum: float, attempt: int, seed: int
) -> None:
    spec = BackoffSpec(base=base, max=maximum)
    delay = backoff_delay(spec, attempt, random.Random(seed))
    assert 0.0 <= delay <= min(maximum, base * 2.0 ** min(attempt, 62))
    assert backoff_cap(spec, attempt) == min(maximum, base * 2.0 ** min(attempt, 62))


def test_backoff_cap_grows_exponentially_then_saturates() -> None:
    spec = BackoffSpec(base=0.1, max=1.0)
    assert [backoff_cap(spec, n) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_backoff_uses_the_whole_range() -> None:
    spec = BackoffSpec(base=1.0, max=1.0)
    rng = random.Random(7)
    delays = [backoff_delay(spec, 0, rng) for _ in range(1000)]
    assert min(delays) < 0.05 and max(delays) > 0.95  # full jitter, not "cap ± 20 %"


@given(
    max_restarts=st.integers(0, 6),
    window=st.floats(0.5, 20.0),
    gaps=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=60),
)
def test_budget_never_admits_more_than_max_in_any_window(
    max_restarts: int, window: float, gaps: list[float]
) -> None:
    budget = RestartBudget(max_restarts, window)
    now = 0.0
    admitted: list[float] = []
    for gap in gaps:
        now += gap
        if budget.record(now):
            admitted.append(now)
        else:
            # refusing is only allowed when the window really holds max_restarts earlier restarts
            assert sum(1 for t in admitted if t > now - window) >= max_restarts
            break
        assert sum(1 for t in admitted if t > now - window) <= max_restarts
