"""The metrics actor: Telemetry to Prometheus families, parsed back with prometheus_client."""

from prometheus_client.parser import text_string_to_metric_families

from actors.metrics import MetricsActor, Scrape, TelemetryCollector, refresh_runtime_gauges
from supervision.telemetry import Telemetry


def families(text: bytes) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    out: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(text.decode()):
        samples = out.setdefault(family.name, {})
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


async def test_counters_gauges_histograms_round_trip_through_the_text_format() -> None:
    telemetry = Telemetry()
    events = telemetry.counter("shard_gateway_events_total", "Dispatches received.", ["event"])
    events.inc("MESSAGE_CREATE", amount=3)
    events.inc("GUILD_CREATE")
    telemetry.gauge("guilds_live", "Live guild actors.").set(12)  # namespace added
    latency = telemetry.histogram(
        "shard_command_latency_seconds", "Latency.", ["command"], bounds=(0.01, 0.1, 1.0)
    )
    for value in (0.005, 0.05, 0.05, 0.5, 5.0):
        latency.observe(value, "ping")

    actor = MetricsActor(telemetry)
    parsed = families(await actor.handle(Scrape(), None))  # type: ignore[arg-type]

    counter = parsed["shard_gateway_events"]
    assert counter[("shard_gateway_events_total", (("event", "MESSAGE_CREATE"),))] == 3
    assert counter[("shard_gateway_events_total", (("event", "GUILD_CREATE"),))] == 1
    assert parsed["shard_guilds_live"][("shard_guilds_live", ())] == 12
    hist = parsed["shard_command_latency_seconds"]
    bucket = "shard_command_latency_seconds_bucket"
    assert hist[(bucket, (("command", "ping"), ("le", "0.01")))] == 1
    assert hist[(bucket, (("command", "ping"), ("le", "0.1")))] == 3
    assert hist[(bucket, (("command", "ping"), ("le", "1.0")))] == 4
    assert hist[(bucket, (("command", "ping"), ("le", "+Inf")))] == 5
    assert hist[("shard_command_latency_seconds_count", (("command", "ping"),))] == 5
    assert abs(hist[("shard_command_latency_seconds_sum", (("command", "ping"),))] - 5.605) < 1e-9
    assert parsed["shard_metrics_scrapes"][("shard_metrics_scrapes_total", ())] == 1


def test_collector_reads_instruments_created_after_registration() -> None:
    telemetry = Telemetry()
    collector = TelemetryCollector(telemetry)
    assert list(collector.collect()) == []
    telemetry.counter("late_total", "Created late.").inc()
    [family] = list(collector.collect())
    assert family.name == "shard_late"


def test_runtime_gauges_from_a_snapshot_aggregate_keyed_children() -> None:
    snapshot = {
        "alive": True,
        "ready": False,
        "loop": {"lag_s": 0.002, "lag_max_s": 0.04},
        "tree": {
            "path": "root",
            "kind": None,
            "state": "RUNNING",
            "children": [
                {"path": "root/metrics", "kind": "metrics", "state": "RUNNING"},
                {"path": "root/executor", "kind": "executor", "state": "BACKOFF"},
                {
                    "path": "root/guilds",
                    "kind": "guilds",
                    "state": "RUNNING",
                    "live": 8132,
                    "quarantined": 1,
                    "passivated": 40,
                    "children": [{"path": "root/guilds/1", "kind": "guild", "state": "QUARANTINED"}],
                },
            ],
        },
    }
    telemetry = Telemetry()
    refresh_runtime_gauges(telemetry, snapshot)
    actors = dict(telemetry.gauge("shard_runtime_actors", "", ["kind", "state"]).series())
    assert actors[("executor", "BACKOFF")] == 1
    assert actors[("root", "RUNNING")] == 1
    assert ("guild", "QUARANTINED") not in actors  # sampled keyed children are not counted one by one
    keyed = dict(telemetry.gauge("shard_runtime_keyed_children", "", ["kind", "status"]).series())
    assert keyed[("guilds", "live")] == 8132 and keyed[("guilds", "quarantined")] == 1
    assert telemetry.gauge("shard_runtime_ready", "").value() == 0.0
    assert telemetry.gauge("shard_runtime_alive", "").value() == 1.0
    assert telemetry.gauge("shard_runtime_loop_lag_max_seconds", "").value() == 0.04

    # A state nobody is in any more reads 0 on the next refresh.
    snapshot["tree"]["children"][1]["state"] = "RUNNING"  # type: ignore[index]
    refresh_runtime_gauges(telemetry, snapshot)
    actors = dict(telemetry.gauge("shard_runtime_actors", "", ["kind", "state"]).series())
    assert actors[("executor", "BACKOFF")] == 0 and actors[("executor", "RUNNING")] == 1


async def test_a_broken_health_source_does_not_break_the_scrape() -> None:
    def broken() -> dict[str, object]:
        raise RuntimeError("snapshot failed")

    actor = MetricsActor(Telemetry(), broken)
    text = actor.exposition()
    assert b"shard_metrics_scrapes_total 1.0" in text
