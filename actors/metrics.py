"""The metrics actor: the bot's `Telemetry` and the runtime's health as Prometheus text, at scrape time.

Why a pull-model actor rather than prometheus_client objects everywhere: hot paths update cheap in-process
instruments (`supervision.telemetry`: a dict lookup and an add, no lock), and only a scrape pays for the
conversion. At scrape time `TelemetryCollector` walks every instrument and yields prometheus_client metric
families (counters, gauges, histograms with cumulative buckets) on a private `CollectorRegistry`, and
`generate_latest` writes the exposition format — we never hand-write it. Using a private registry keeps tests
and several bots in one process independent, and keeps library-global metrics out of our endpoint.

The runtime's own state (actors by state, mailbox depth, restarts, dead letters, loop lag) lives in the health
snapshot (`rt.health()`), so on each scrape the actor first copies it into gauges of the same `Telemetry`
(`refresh_runtime_gauges`), aggregated by actor *kind* — never by per-guild path, which would be an unbounded
label set. Scrapes arrive as `Scrape` messages so they are serialised with the refresh and the
actor shows up in the health tree like any other.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from supervision.telemetry import Counter, Gauge, Histogram, Telemetry

if TYPE_CHECKING:
    from supervision.context import ActorContext

__all__ = [
    "CONTENT_TYPE",
    "MetricsActor",
    "Scrape",
    "TelemetryCollector",
    "actor_kind",
    "refresh_runtime_gauges",
]

log = logging.getLogger(__name__)

#: Content type of the Prometheus text exposition format written by `generate_latest`.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HealthSource = Callable[[], Mapping[str, Any]]


@attrs.frozen
class Scrape:
    """Ask the metrics actor for the exposition text; the reply is ``bytes``."""


def _metric_name(namespace: str, name: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    return name if not namespace or name.startswith(f"{namespace}_") else f"{namespace}_{name}"


class TelemetryCollector:
    """A prometheus_client collector over every instrument of a `Telemetry` (read at collect time)."""

    def __init__(self, telemetry: Telemetry) -> None:
        self._telemetry = telemetry

    def collect(self) -> Iterator[Metric]:
        for instrument in self._telemetry.instruments():
            name = _metric_name(self._telemetry.namespace, instrument.name)
            labels = list(instrument.label_names)
            if isinstance(instrument, Histogram):
                yield self._histogram(name, instrument, labels)
            elif isinstance(instrument, Gauge):
                gauge = GaugeMetricFamily(name, instrument.doc, labels=labels)
                for key, value in instrument.series():
                    gauge.add_metric(list(key), value)
                yield gauge
            elif isinstance(instrument, Counter):
                counter = CounterMetricFamily(name, instrument.doc, labels=labels)
                for key, value in instrument.series():
                    counter.add_metric(list(key), value)
                yield counter

    @staticmethod
    def _histogram(name: str, instrument: Histogram, labels: list[str]) -> Metric:
        family = HistogramMetricFamily(name, instrument.doc, labels=labels)
        for key, series in instrument.series():
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bound, count in zip(series.bounds, series.counts, strict=False):
                cumulative += count
                buckets.append((_le(bound), float(cumulative)))
            buckets.append(("+Inf", float(series.n)))
            family.add_metric(list(key), buckets, sum_value=series.total)
        return family


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


# ----------------------------------------------------------------------------------------------------------
# Runtime gauges from the health snapshot
# ----------------------------------------------------------------------------------------------------------


def actor_kind(node: Mapping[str, Any]) -> str:
    """The bounded label for a node: its declared kind, else its path (keyed children folded to ``/*``)."""
    kind = node.get("kind")
    if isinstance(kind, str) and kind:
        return kind
    return str(node.get("path", node.get("id", "?")))


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool | int | float):
        return float(value)
    return None


def _walk(node: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """Every node of the tree except the sampled children of keyed supervisors (they are aggregated)."""
    yield node
    if "live" in node:  # a keyed supervisor: its children list is only a top-N sample
        return
    for child in node.get("children") or ():
        yield from _walk(_mapping(child))


def refresh_runtime_gauges(telemetry: Telemetry, snapshot: Mapping[str, Any]) -> None:
    """Copy the health snapshot into ``shard_runtime_*`` gauges, labelled by actor kind and state only.

    The runtime already counts messages, restarts, mailbox depth and processing time in the same `Telemetry`;
    this adds what only the snapshot knows. Tolerant by design: a missing field leaves its gauge alone.
    """
    actors = telemetry.gauge(
        "shard_runtime_actors", "Static actors and supervisors by kind and state.", ["kind", "state"]
    )
    keyed = telemetry.gauge(
        "shard_runtime_keyed_children",
        "Children of keyed supervisors by kind and status.",
        ["kind", "status"],
    )
    counts: dict[tuple[str, str], float] = {}
    root = _mapping(snapshot.get("tree", snapshot.get("root", {})))
    for node in _walk(root) if root else ():
        kind = actor_kind(node)
        state = str(node.get("state", "UNKNOWN"))
        counts[(kind, state)] = counts.get((kind, state), 0.0) + 1.0
        if "live" in node:
            for status in ("live", "in_backoff", "quarantined", "passivated", "spawned"):
                value = _number(node.get(status))
                if value is not None:
                    keyed.set(value, kind, status)
    for key, _ in list(actors.series()):
        actors.set(0.0, *key)  # a state nobody is in any more reads 0, not its last count
    for (kind, state), count in counts.items():
        actors.set(count, kind, state)

    for field_name, name, doc in (
        ("alive", "shard_runtime_alive", "1 when the event loop lag is below its threshold."),
        ("ready", "shard_runtime_ready", "1 when every critical child is running."),
    ):
        value = _number(snapshot.get(field_name))
        if value is not None:
            telemetry.gauge(name, doc).set(value)
    loop = _mapping(snapshot.get("loop"))
    for field_name, value in loop.items():
        number = _number(value)
        if number is not None and field_name.endswith("_s"):
            telemetry.gauge(f"shard_runtime_loop_{field_name[:-2]}_seconds", "Event loop statistics.").set(
                number
            )


# ----------------------------------------------------------------------------------------------------------
# The actor
# ----------------------------------------------------------------------------------------------------------


class MetricsActor:
    """Answers `Scrape` with the Prometheus exposition text (``bytes``) of every telemetry it knows.

    `telemetry` is the bot's instrument set (default: the runtime's, ``ctx.telemetry``); the runtime's own
    telemetry is always included too. `health` returns the health snapshot (default: ``ctx.runtime.health``).
    """

    def __init__(
        self,
        telemetry: Telemetry | None = None,
        health: HealthSource | None = None,
        *,
        extra_collectors: Iterable[Any] = (),
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self._telemetries: list[Telemetry] = []
        self.telemetry = telemetry
        self._health = health
        if telemetry is not None:
            self._include(telemetry)
        for collector in extra_collectors:
            self.registry.register(collector)

    def _include(self, telemetry: Telemetry) -> None:
        if any(t is telemetry for t in self._telemetries):
            return
        self._telemetries.append(telemetry)
        self.registry.register(TelemetryCollector(telemetry))

    async def on_start(self, ctx: ActorContext) -> None:
        if self.telemetry is None:
            self.telemetry = ctx.telemetry
        self._include(ctx.telemetry)
        self._include(self.telemetry)
        if self._health is None:
            self._health = ctx.runtime.health

    def exposition(self) -> bytes:
        """Refresh the runtime gauges and render every metric family."""
        if self.telemetry is None:
            self.telemetry = Telemetry()
            self._include(self.telemetry)
        if self._health is not None:
            try:
                refresh_runtime_gauges(self.telemetry, self._health())
            except Exception:  # a broken snapshot must not take /metrics down
                log.exception("could not read the health snapshot for runtime gauges")
        self.telemetry.counter("shard_metrics_scrapes_total", "Scrapes served by the metrics actor.").inc()
        return bytes(generate_latest(self.registry))

    async def handle(self, msg: object, ctx: ActorContext) -> object:
        if isinstance(msg, Scrape):
            return self.exposition()
        raise TypeError(f"metrics actor: unexpected message {type(msg).__name__}")
