"""Harness pieces that need no bot: token shape, bot specs, and the runner's handling of failing bots."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest

from bench.common import BotOutcome, Metric
from bench.scenarios.base import RunContext, measure_all
from bench.scenarios.bots import BotSpec, bot_specs
from bench.scenarios.harness import BENCH_APPLICATION_ID, bench_config, bench_token


def test_bench_token_carries_the_application_id_like_discord_tokens() -> None:
    token = bench_token()
    first = token.split(".")[0]
    padded = first + "=" * (-len(first) % 4)
    assert int(base64.b64decode(padded)) == BENCH_APPLICATION_ID
    assert token.count(".") == 2


def test_bench_config_matches_the_token_and_keeps_no_request_log() -> None:
    config = bench_config()
    assert config.token == bench_token()
    assert config.application_id == BENCH_APPLICATION_ID
    assert config.record_requests is False
    assert bench_config(record_requests=True).record_requests is True


def test_bot_specs_keep_order_and_reject_unknown_names() -> None:
    specs = bot_specs(["hikari", "ours"])
    assert [spec.name for spec in specs] == ["hikari", "ours"]
    assert specs[0].argv[-1].endswith("hikari_bot.py")
    assert "-O" in specs[1].argv
    with pytest.raises(ValueError, match="unknown bot 'serenity'"):
        bot_specs(["serenity"])


@attrs.frozen
class _ScriptedScenario:
    """A scenario whose per-bot result is scripted, to exercise the runner's bookkeeping."""

    name: str = "scripted"
    description: str = "test double"

    def metrics(self, ctx: RunContext) -> list[Metric]:
        return [Metric("rate", "1/s", "higher", "rate")]

    def setup(self, ctx: RunContext) -> dict[str, object]:
        return {"size": 1}

    calls: list[str] = attrs.field(factory=list)

    async def measure(self, spec: BotSpec, ctx: RunContext) -> BotOutcome:
        self.calls.append(spec.name)
        if spec.name == "crashing":
            raise RuntimeError("bot exited with code 1")
        return BotOutcome(spec.name, "ok", {"rate": 10.0 * len(self.calls)})

    def plots(self, outcomes: Sequence[BotOutcome], ctx: RunContext) -> list[Path]:
        return []


async def test_runner_reports_crashes_and_missing_bots_instead_of_raising(tmp_path: Path) -> None:
    import sys

    specs = [
        BotSpec("ours", (sys.executable,)),
        BotSpec("crashing", (sys.executable,)),
        BotSpec("absent", (str(tmp_path / "no-python"),)),
    ]
    ctx = RunContext(quick=True, started_at=0.0, results_dir=tmp_path)
    report = await measure_all(_ScriptedScenario(), specs, ctx, timeout_s=30)
    by_bot = {outcome.bot: outcome for outcome in report.outcomes}
    assert by_bot["ours"].status == "ok"
    assert by_bot["crashing"].status == "failed"
    assert by_bot["crashing"].error == "RuntimeError: bot exited with code 1"
    assert by_bot["absent"].status == "skipped"
    assert "setup.sh" in (by_bot["absent"].error or "")
    assert report.setup == {"size": 1}
    assert report.machine["logical_cpus"] >= 1


async def test_rounds_interleave_bots_and_stop_retrying_a_bot_that_never_worked(tmp_path: Path) -> None:
    import sys

    specs = [BotSpec("ours", (sys.executable,)), BotSpec("crashing", (sys.executable,))]
    scenario = _ScriptedScenario()
    ctx = RunContext(quick=True, started_at=0.0, results_dir=tmp_path)
    report = await measure_all(scenario, specs, ctx, timeout_s=30, repeat=3)
    assert scenario.calls == ["ours", "crashing", "ours", "ours"]
    ours = report.outcomes[0]
    assert ours.metrics == {"rate": 30.0}  # median of 10, 30, 40
    assert len(ours.details["rounds"]) == 3
    probes = ours.details["machine_probe_s"]  # one per round, taken before the bot's round
    assert len(probes) == 3
    assert all(probe > 0 for probe in probes)
    assert report.outcomes[1].status == "failed"


def test_counter_total_sums_matching_series_of_one_counter() -> None:
    from bench.scenarios.harness import counter_total

    exposition = "\n".join(
        [
            "# HELP shard_actor_messages_total Messages handled by actors",
            "# TYPE shard_actor_messages_total counter",
            'shard_actor_messages_total{kind="guild"} 1500.0',
            'shard_actor_messages_total{kind="executor"} 20.0',
            'shard_actor_messages_total_created{kind="guild"} 1.7e9',
            'shard_actor_restarts_total{kind="guild"} 3.0',
        ]
    )
    assert counter_total(exposition, "shard_actor_messages_total", 'kind="guild"') == 1500.0
    assert counter_total(exposition, "shard_actor_messages_total") == 1520.0
    assert counter_total(exposition, "shard_gateway_events_total") is None


def test_our_bot_gets_its_own_metrics_port(tmp_path: Path) -> None:
    from bench.scenarios.bots import BotProcess

    ours = bot_specs(["ours"])[0]
    proc = BotProcess(ours, api_base="http://127.0.0.1:9/api/v10", token="t", log_path=tmp_path / "l.log")
    port = int(proc.environment["SHARD_HEALTH_PORT"])
    assert port > 0
    assert proc.metrics_url == f"http://127.0.0.1:{port}/metrics"
