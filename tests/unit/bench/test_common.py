"""The benchmark harness's pure helpers: percentiles, ratios, comparisons, the result document, the table."""

from __future__ import annotations

import math
from pathlib import Path

import attrs
import jsonschema
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.common import (
    RESULT_SCHEMA,
    BotOutcome,
    Metric,
    ScenarioReport,
    Target,
    best_of,
    compare,
    cpu_probe_seconds,
    merge_rounds,
    percentile,
    probe_summary,
    ratio,
    render_markdown,
    render_table,
    result_path,
    round_ratios,
    summarize_latencies,
    write_report,
)


def test_percentile_interpolates_between_closest_ranks() -> None:
    samples = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 4.0
    assert percentile(samples, 50) == pytest.approx(2.5)
    assert percentile(samples, 99) == pytest.approx(3.97)


def test_percentile_of_one_sample_is_that_sample() -> None:
    assert percentile([7.5], 99) == 7.5


def test_percentile_rejects_empty_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)
    with pytest.raises(ValueError, match="outside"):
        percentile([1.0], 101)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200), st.floats(0, 100))
def test_percentile_stays_within_sample_range_and_is_monotonic(samples: list[float], q: float) -> None:
    value = percentile(samples, q)
    assert min(samples) <= value <= max(samples)
    assert percentile(samples, min(100.0, q + 1)) >= value


def test_summarize_latencies_reports_milliseconds() -> None:
    seconds = [0.001 * n for n in range(1, 101)]  # 1 ms .. 100 ms
    summary = summarize_latencies(seconds)
    assert summary.count == 100
    assert summary.p50_ms == pytest.approx(50.5)
    assert summary.p99_ms == pytest.approx(99.01)
    assert summary.max_ms == pytest.approx(100.0)
    assert summary.mean_ms == pytest.approx(50.5)
    assert summary.as_metrics("open_800_") == {
        "open_800_p50_ms": summary.p50_ms,
        "open_800_p99_ms": summary.p99_ms,
        "open_800_max_ms": summary.max_ms,
    }


def test_ratio_is_none_when_meaningless() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(1.0, 0.0) is None
    assert ratio(1.0, math.inf) is None
    assert ratio(math.nan, 1.0) is None


def test_best_of_respects_direction() -> None:
    values = {"discordpy": 500.0, "hikari": 800.0}
    assert best_of(values, "higher") == ("hikari", 800.0)
    assert best_of(values, "lower") == ("discordpy", 500.0)
    assert best_of({}, "higher") is None


def test_target_checks() -> None:
    assert Target("ratio", ">=", 1.5).met_by(1.6) is True
    assert Target("ratio", ">=", 1.5).met_by(1.4) is False
    assert Target("value", "<=", 5.0).met_by(5.0) is True
    assert Target("value", "<=", 5.0).met_by(None) is None
    assert Target("ratio", "<=", 0.5).describe() == "ours/best <= 0.5"


def _metrics() -> list[Metric]:
    return [
        Metric("answers_per_s", "1/s", "higher", "answers/s", Target("ratio", ">=", 1.5)),
        Metric("cpu_s_per_1000", "cpu s", "lower", "CPU per 1,000", Target("ratio", "<=", 0.5)),
        Metric("p99_ms", "ms", "lower", "p99", Target("value", "<=", 5.0)),
    ]


def _outcomes() -> list[BotOutcome]:
    return [
        BotOutcome("ours", "ok", {"answers_per_s": 3000.0, "cpu_s_per_1000": 0.2, "p99_ms": 7.0}),
        BotOutcome("discordpy", "ok", {"answers_per_s": 1000.0, "cpu_s_per_1000": 0.8, "p99_ms": 20.0}),
        BotOutcome("hikari", "failed", error="closed loop: 459 unanswered"),
    ]


def test_compare_picks_best_peer_per_row_and_checks_targets() -> None:
    rows = {row.metric.name: row for row in compare(_metrics(), _outcomes())}
    answers = rows["answers_per_s"]
    assert answers.best_peer == "discordpy"
    assert answers.ours_over_best == pytest.approx(3.0)
    assert answers.target_met is True
    assert answers.values["hikari"] is None  # the failed peer keeps its column
    assert rows["cpu_s_per_1000"].ours_over_best == pytest.approx(0.25)
    assert rows["cpu_s_per_1000"].target_met is True
    assert rows["p99_ms"].target_met is False  # an absolute bar: 7 ms > 5 ms


def test_compare_without_any_peer_value_has_no_ratio() -> None:
    outcomes = [BotOutcome("ours", "ok", {"answers_per_s": 1.0}), BotOutcome("hikari", "skipped")]
    (row, *_rest) = compare(_metrics(), outcomes)
    assert row.best_peer is None
    assert row.ours_over_best is None
    assert row.target_met is None


def _report(tmp_path: Path) -> ScenarioReport:
    return ScenarioReport(
        scenario="interactions",
        metrics=_metrics(),
        outcomes=_outcomes(),
        started_at=1_790_000_000.0,
        finished_at=1_790_000_060.0,
        quick=True,
        command="python -m bench interactions --quick",
        machine={"logical_cpus": 2, "python": "3.11.7", "platform": "Linux"},
        versions={"ours": {"trio": "0.35.0"}, "peers": {"hikari": "2.7.0"}},
        setup={"closed_total": 500},
        plots=[str(tmp_path / "plot.png")],
    )


def test_written_report_matches_the_schema_and_keeps_failures(tmp_path: Path) -> None:
    path = write_report(_report(tmp_path), results_dir=tmp_path)
    assert path == tmp_path / "interactions-20260921T141320Z.json"
    document = orjson.loads(path.read_bytes())
    jsonschema.validate(document, RESULT_SCHEMA)
    assert document["bots"]["hikari"] == {
        "status": "failed",
        "error": "closed loop: 459 unanswered",
        "metrics": {},
        "details": {},
    }
    assert document["comparison"][0]["ours_over_best"] == pytest.approx(3.0)
    assert document["started_at"] == "2026-09-21T14:13:20Z"


def test_schema_rejects_a_document_without_machine_info(tmp_path: Path) -> None:
    document = _report(tmp_path).to_document()
    del document["machine"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, RESULT_SCHEMA)


def test_result_path_names_scenario_and_utc_time(tmp_path: Path) -> None:
    assert result_path("guild_flood", 0.0, tmp_path, suffix="png").name == "guild_flood-19700101T000000Z.png"


def test_table_shows_every_bot_ratio_target_and_failure(tmp_path: Path) -> None:
    table = render_table(_report(tmp_path))
    lines = table.splitlines()
    assert lines[0] == "== interactions (quick) =="
    header = lines[1].split()
    assert header[:5] == ["metric", "unit", "ours", "discordpy", "hikari"]
    answers = next(line for line in lines if line.startswith("answers/s"))
    assert "3,000" in answers
    assert "FAILED" in answers
    assert "3.00x" in answers
    assert "ours/best >= 1.5: met" in answers
    assert "MISSED" in next(line for line in lines if line.startswith("p99"))
    assert lines[-1] == "hikari: FAILED: closed loop: 459 unanswered"


def test_markdown_table_has_a_row_per_metric_and_notes_failures(tmp_path: Path) -> None:
    markdown = render_markdown(_report(tmp_path))
    lines = markdown.splitlines()
    assert lines[0] == "#### interactions (quick)"
    assert lines[2] == "| metric | unit | ours | discordpy | hikari | best peer | ours/best | target |"
    assert sum(1 for line in lines if line.startswith("| ")) == 1 + len(_metrics())
    assert "| p99 | ms | 7 | 20 | failed | discordpy | 0.35x | ours <= 5: **missed** |" in lines
    assert lines[-1] == "* hikari: failed: closed loop: 459 unanswered"


def test_merge_rounds_takes_medians_of_good_rounds_and_warns_about_bad_ones() -> None:
    rounds = [
        BotOutcome("hikari", "ok", {"rate": 100.0, "p99": 9.0}, {"warnings": []}),
        BotOutcome("hikari", "failed", error="TimeoutError: slow"),
        BotOutcome("hikari", "ok", {"rate": 300.0, "p99": 5.0}),
        BotOutcome("hikari", "ok", {"rate": 200.0, "p99": 7.0}),
    ]
    merged = merge_rounds("hikari", rounds)
    assert merged.status == "ok"
    assert merged.metrics == {"rate": 200.0, "p99": 7.0}
    assert merged.details["rounds"] == [r.metrics for r in rounds if r.status == "ok"]
    assert merged.details["warnings"] == ["1 of 4 rounds failed: TimeoutError: slow"]


def test_merge_rounds_keeps_each_good_rounds_machine_probe_and_the_table_prints_them(tmp_path: Path) -> None:
    rounds = [
        BotOutcome("ours", "ok", {"rate": 1.0}, {"machine_probe_s": [0.041]}),
        BotOutcome("ours", "failed", error="slow", details={"machine_probe_s": [0.09]}),
        BotOutcome("ours", "ok", {"rate": 2.0}, {"machine_probe_s": [0.062]}),
    ]
    merged = merge_rounds("ours", rounds)
    assert merged.details["machine_probe_s"] == [0.041, 0.062]
    peer = BotOutcome("hikari", "ok", {"rate": 1.0}, {"machine_probe_s": [0.04]})
    line = probe_summary([merged, peer, BotOutcome("discordpy", "failed", error="x")])
    assert line is not None
    assert line.endswith("ours 0.041/0.062, hikari 0.040")
    report = _report(tmp_path)
    assert probe_summary(report.outcomes) is None  # rounds without probes print nothing
    report.outcomes[0].details["machine_probe_s"] = [0.05]
    assert render_table(report).splitlines()[-1].endswith("ours 0.050")
    assert render_markdown(report).splitlines()[-1].startswith("* machine probe per round")


def _rounds(bot: str, values: list[float], *failures: str) -> BotOutcome:
    """A bot merged from rounds of ``cpu_s_per_1000`` values (and failed rounds with these errors)."""
    rounds = [BotOutcome(bot, "ok", {"answers_per_s": 1.0, "cpu_s_per_1000": v}) for v in values]
    rounds += [BotOutcome(bot, "failed", error=error) for error in failures]
    return merge_rounds(bot, rounds)


def test_per_round_ratios_pair_interleaved_rounds_and_count_where_the_target_held(tmp_path: Path) -> None:
    ours = _rounds("ours", [0.20, 0.15, 0.30])
    peer = _rounds("discordpy", [0.40, 0.50, 0.40])
    assert round_ratios(ours, peer, "cpu_s_per_1000") == pytest.approx((0.5, 0.3, 0.75))
    report = attrs.evolve(_report(tmp_path), outcomes=[ours, peer])
    cpu_row = next(r for r in report.comparison() if r.metric.name == "cpu_s_per_1000")
    assert cpu_row.ours_over_best == pytest.approx(0.5)  # medians: 0.20 / 0.40
    assert cpu_row.per_round == pytest.approx((0.5, 0.3, 0.75))
    line = "per round, CPU per 1,000 (ours/discordpy): 0.50, 0.30, 0.75 (target met in 2 of 3)"
    assert line in render_table(report).splitlines()
    assert f"* {line}" in render_markdown(report).splitlines()
    document = report.to_document()
    jsonschema.validate(document, RESULT_SCHEMA)
    saved = next(row for row in document["comparison"] if row["metric"] == "cpu_s_per_1000")
    assert saved["per_round"] == pytest.approx([0.5, 0.3, 0.75])


def test_per_round_ratios_are_left_out_when_the_rounds_do_not_pair_up() -> None:
    ours = _rounds("ours", [0.20, 0.15, 0.30])
    assert round_ratios(ours, _rounds("discordpy", [0.4, 0.5, 0.4], "TimeoutError"), "cpu_s_per_1000") == ()
    assert round_ratios(ours, _rounds("discordpy", [0.4, 0.5]), "cpu_s_per_1000") == ()
    single = BotOutcome("ours", "ok", {"cpu_s_per_1000": 0.2})
    assert round_ratios(single, _rounds("discordpy", [0.4]), "cpu_s_per_1000") == ()
    assert round_ratios(ours, _rounds("discordpy", [0.4, 0.5, 0.4]), "not_measured") == ()


def test_cpu_probe_measures_the_work_it_is_given() -> None:
    assert cpu_probe_seconds(iterations=0, repeat=1) < cpu_probe_seconds(iterations=400_000, repeat=1)


def test_merge_rounds_keeps_the_failure_when_no_round_succeeded() -> None:
    failure = BotOutcome("ours", "failed", error="BotNotReadyError: did not identify")
    assert merge_rounds("ours", [failure]) is failure
    assert merge_rounds("ours", []).status == "skipped"


def test_assembled_parts_stand_in_for_ours_when_the_bot_did_not_run() -> None:
    outcomes = [
        BotOutcome("ours", "failed", error="did not identify"),
        BotOutcome("ours-parts", "ok", {"answers_per_s": 1500.0}),
        BotOutcome("discordpy", "ok", {"answers_per_s": 1000.0}),
    ]
    (row, *_rest) = compare(_metrics(), outcomes)
    assert row.best_peer == "discordpy"  # ours-parts is never counted as a peer
    assert row.ours_bot == "ours-parts"
    assert row.ratio_cell() == "1.50x (ours-parts)"
    assert row.target_met is True
