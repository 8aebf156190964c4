"""The shared instruments: label caps, quantile estimates."""

import pytest

from supervision.telemetry import MAX_SERIES_PER_INSTRUMENT, OVERFLOW_LABEL, Telemetry


def test_counter_folds_unbounded_labels_into_other() -> None:
    t = Telemetry()
    c = t.counter("x_total", "doc", ["kind"])
    for i in range(MAX_SERIES_PER_INSTRUMENT + 50):
        c.inc(str(i))
    keys = [k for k, _ in c.series()]
    assert len(keys) == MAX_SERIES_PER_INSTRUMENT + 1
    assert c.value(OVERFLOW_LABEL) == 50


def test_histogram_quantiles_are_within_bucket_bounds() -> None:
    t = Telemetry()
    h = t.histogram("lat_seconds", "doc")
    for i in range(1, 1001):
        h.observe(i / 1000)  # 1 ms .. 1 s uniform
    s = h.labels()
    p50 = s.quantile(0.5)
    p99 = s.quantile(0.99)
    assert p50 is not None and p99 is not None
    assert 0.25 <= p50 <= 1.0
    assert 0.5 <= p99 <= 1.0
    assert s.n == 1000


def test_reregistering_with_other_labels_is_an_error() -> None:
    t = Telemetry()
    t.counter("a_total", "doc", ["x"])
    assert t.counter("a_total", "doc", ["x"]) is t.counter("a_total", "doc", ["x"])
    with pytest.raises(ValueError):
        t.counter("a_total", "doc", ["y"])


def test_a_wrong_number_of_labels_is_refused_on_every_instrument_even_after_other_series_exist() -> None:
    t = Telemetry()
    c = t.counter("b_total", "doc", ["route", "status"])
    g = t.gauge("b_depth", "doc", ["kind"])
    h = t.histogram("b_seconds", "doc", ["route"])
    c.inc("GET /x", "200")
    g.set(3, "guild")
    h.observe(0.01, "GET /x")
    for call in (lambda: c.inc("GET /x"), lambda: g.set(1), lambda: h.observe(0.1, "GET /x", "200")):
        with pytest.raises(ValueError, match="expected labels"):
            call()
    c.inc("GET /x", "200")  # a known series: still counted, through the fast path
    assert c.value("GET /x", "200") == 2
    assert g.value("guild") == 3
    assert h.labels("GET /x").n == 1
