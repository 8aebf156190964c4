"""Cheap in-process counters, gauges and histograms that any layer can update inline.

Why not prometheus_client objects everywhere: the hot paths (mailbox delivery, gateway dispatch, REST permits)
update a counter per message, and prometheus_client takes a lock and walks a label dict on every ``inc``.
Here an update is a dict lookup and an integer add. Components receive a `Telemetry` in their constructor
(never a global), update their own instruments, and the metrics actor (`actors.metrics`) converts the whole
set into prometheus_client metric families at scrape time (a pull model, as in the actor anchors §6.16).

Label sets must stay bounded: label by actor kind, command name, route template or outcome — never by guild,
user or message id. `Telemetry` enforces a cap on distinct label combinations per instrument and folds the
excess into an ``other`` series so a bug cannot grow memory without bound.

Histograms use fixed, log-spaced bucket bounds (in seconds) and estimate quantiles by interpolating inside the
bucket that holds the rank; that is what the health report's p50/p99 columns show.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from typing import Literal

import attrs

LabelValues = tuple[str, ...]
Kind = Literal["counter", "gauge", "histogram"]

#: Default latency buckets: 50 µs .. ~60 s, roughly x2 apart.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip

MAX_SERIES_PER_INSTRUMENT = 200
OVERFLOW_LABEL = "other"


class _Instrument:
    __slots__ = ("_series", "doc", "label_names", "name")
    kind: Kind

    def __init__(self, name: str, doc: str, label_names: Sequence[str]) -> None:
        self.name = name
        self.doc = doc
        self.label_names: tuple[str, ...] = tuple(label_names)
        self._series: dict[LabelValues, object] = {}

    def _key(self, labels: Sequence[str]) -> LabelValues:
        key = labels if type(labels) is tuple else tuple(labels)
        if key in self._series:  # a series seen before: the hot path, one dict lookup
            return key
        if len(key) != len(self.label_names):
            raise ValueError(f"{self.name}: expected labels {self.label_names}, got {key}")
        if len(self._series) >= MAX_SERIES_PER_INSTRUMENT:
            return tuple(OVERFLOW_LABEL for _ in self.label_names)
        return key


class Counter(_Instrument):
    """A monotonically increasing count, optionally labelled."""

    __slots__ = ()
    kind: Kind = "counter"

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        key = self._key(labels)
        self._series[key] = self._series.get(key, 0.0) + amount  # type: ignore[operator]

    def value(self, *labels: str) -> float:
        return float(self._series.get(tuple(labels), 0.0))  # type: ignore[arg-type]

    def series(self) -> Iterator[tuple[LabelValues, float]]:
        for key, value in list(self._series.items()):
            yield key, float(value)  # type: ignore[arg-type]


class Gauge(Counter):
    """A value that goes up and down (mailbox depth, live actors, pool size)."""

    __slots__ = ()
    kind: Kind = "gauge"

    def set(self, value: float, *labels: str) -> None:
        self._series[self._key(labels)] = float(value)


@attrs.define(slots=True)
class HistogramSeries:
    """Bucket counts of one label combination; ``counts[i]`` counts observations ``<= bounds[i]``."""

    bounds: tuple[float, ...]
    counts: list[int]
    total: float = 0.0
    n: int = 0
    maximum: float = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.n += 1
        self.maximum = max(self.maximum, value)

    def quantile(self, q: float) -> float | None:
        """Estimate the q-quantile (0..1) by linear interpolation inside the bucket holding the rank."""
        if self.n == 0:
            return None
        rank = q * self.n
        seen = 0
        for i, count in enumerate(self.counts):
            if count and seen + count >= rank:
                low = self.bounds[i - 1] if i > 0 else 0.0
                high = self.bounds[i] if i < len(self.bounds) else self.maximum
                high = min(high, self.maximum) if self.maximum > low else high
                return low + (high - low) * ((rank - seen) / count)
            seen += count
        return self.maximum


class Histogram(_Instrument):
    """A distribution of observations (latencies in seconds by default)."""

    __slots__ = ("bounds",)
    kind: Kind = "histogram"

    def __init__(
        self, name: str, doc: str, label_names: Sequence[str], bounds: Sequence[float] = DEFAULT_BUCKETS
    ) -> None:
        super().__init__(name, doc, label_names)
        self.bounds = tuple(sorted(bounds))

    def labels(self, *labels: str) -> HistogramSeries:
        """The series for these labels (created on first use); keep it to skip the lookup on hot paths."""
        key = self._key(labels)
        series = self._series.get(key)
        if series is None:
            series = HistogramSeries(self.bounds, [0] * (len(self.bounds) + 1))
            self._series[key] = series
        return series  # type: ignore[return-value]

    def observe(self, value: float, *labels: str) -> None:
        self.labels(*labels).observe(value)

    def series(self) -> Iterator[tuple[LabelValues, HistogramSeries]]:
        yield from list(self._series.items())  # type: ignore[misc]


class Telemetry:
    """The set of instruments of one running bot. Creating an instrument twice returns the same one."""

    def __init__(self, namespace: str = "shard") -> None:
        self.namespace = namespace
        self._instruments: dict[str, _Instrument] = {}

    def _get(self, cls: type[_Instrument], name: str, doc: str, labels: Sequence[str]) -> _Instrument:
        existing = self._instruments.get(name)
        if existing is not None:
            if type(existing) is not cls or existing.label_names != tuple(labels):
                raise ValueError(f"instrument {name!r} already registered with another type or labels")
            return existing
        instrument = cls(name, doc, labels)
        self._instruments[name] = instrument
        return instrument

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Counter:
        return self._get(Counter, name, doc, labels)  # type: ignore[return-value]

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Gauge:
        return self._get(Gauge, name, doc, labels)  # type: ignore[return-value]

    def histogram(
        self, name: str, doc: str, labels: Sequence[str] = (), bounds: Sequence[float] = DEFAULT_BUCKETS
    ) -> Histogram:
        existing = self._instruments.get(name)
        if existing is None:
            self._instruments[name] = Histogram(name, doc, labels, bounds)
        return self._get(Histogram, name, doc, labels)  # type: ignore[return-value]

    def instruments(self) -> list[_Instrument]:
        return list(self._instruments.values())
