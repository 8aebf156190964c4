"""Judging a REST burst from the server's log: allowed rate, avoidable 429s, early retries."""

from __future__ import annotations

import pytest

from bench.scenarios.rest_analysis import BurstRequest, analyse_burst


def _ok(time: float, bucket: str, key: str) -> BurstRequest:
    return BurstRequest(time=time, bucket=bucket, body_key=key, status=200)


def test_a_perfect_client_achieves_the_allowed_rate() -> None:
    # limit 2 per 1 s, 4 messages in each of two buckets: windows open at 0.0 and 1.0.
    log = [_ok(t, b, f"{b}{i}") for b in ("a", "b") for i, t in enumerate((0.0, 0.01, 1.0, 1.01))]
    result = analyse_burst(log, limit=2, per=1.0)
    assert result.successes == 8
    assert result.ideal_s == pytest.approx(1.0)
    assert result.achieved_s == pytest.approx(1.01)
    assert result.percent_of_allowed == pytest.approx(100 / 1.01)
    assert result.allowed_per_s == pytest.approx(8.0)
    assert (result.http_429s, result.avoidable_429s, result.early_retries) == (0, 0, 0)


def test_a_slow_client_is_measured_against_the_ideal() -> None:
    log = [_ok(float(i), "a", str(i)) for i in range(4)]  # one per second although 2 per second are allowed
    result = analyse_burst(log, limit=2, per=1.0)
    assert result.ideal_s == pytest.approx(1.0)
    assert result.percent_of_allowed == pytest.approx(100 / 3)


def test_first_429_per_bucket_is_excused_and_later_ones_are_avoidable() -> None:
    log = [
        _ok(0.0, "a", "m1"),
        BurstRequest(0.1, "a", "m2", 429),  # window of 1 used up: the client did not know yet
        _ok(1.0, "a", "m2"),  # retried at the reset: on time
        BurstRequest(1.1, "a", "m3", 429),  # it knew by now
        BurstRequest(0.2, "b", "n1", 429),
    ]
    result = analyse_burst(log, limit=1, per=1.0)
    assert result.http_429s == 3
    assert result.avoidable_429s == 1
    assert result.early_retries == 0


def test_retrying_a_429_before_its_window_resets_is_early() -> None:
    log = [
        _ok(0.0, "a", "m1"),
        BurstRequest(0.1, "a", "m2", 429),  # retry_after points at 1.0
        BurstRequest(0.5, "a", "m2", 429),  # retried too soon
        _ok(1.0, "a", "m2"),  # the retry of the second 429 is on time
    ]
    result = analyse_burst(log, limit=1, per=1.0)
    assert result.early_retries == 1
    assert result.successes == 2


def test_an_empty_log_is_not_an_error() -> None:
    result = analyse_burst([], limit=5, per=5.0)
    assert result.successes == 0
    assert result.percent_of_allowed == 100.0


def test_retry_after_told_by_the_server_decides_what_is_early() -> None:
    log = [
        _ok(0.0, "a", "m1"),
        BurstRequest(0.1, "a", "m2", 429, retry_after=0.2, scope="global"),
        _ok(0.35, "a", "m2"),  # after 0.1 + 0.2: on time, although the route window resets only at 1.0
        BurstRequest(0.4, "b", "n1", 429, retry_after=0.5, scope="global"),  # a second global 429
        BurstRequest(0.5, "b", "n1", 429, retry_after=0.5, scope="user"),  # retried 0.4 s early
    ]
    result = analyse_burst(log, limit=1, per=1.0)
    assert result.early_retries == 1
    assert result.http_429s == 3
    assert result.avoidable_429s == 1  # the second global one; bucket b's first route 429 is excused
