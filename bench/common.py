"""What every benchmark scenario shares: statistics, ratios against peers, the result document and the table.

Why results look the way they do: the machines the benchmarks run on are shared and noisy, so absolute numbers
say little and the design (DESIGN §6) asks for **ratios measured side by side in one run**. Every scenario
therefore measures each bot (ours, discord.py, hikari) in the same process tree layout and reports the same
named metrics per bot; this module turns those into one row per metric with the best peer and the
``ours / best peer`` ratio, checks the issue's targets on that ratio, and saves everything a reader needs to
trust or reproduce the number (machine, versions, the exact command) as JSON in ``bench/results/``.

A bot that fails a scenario is kept in the document with its error (status ``failed``), never dropped: a
missing column would make the comparison look better than it is.

Latencies are summarised with linear-interpolation percentiles (the "type 7" estimator NumPy and most
spreadsheets use) over the raw samples, not over histogram buckets, because a scenario keeps at most a few
hundred thousand samples and exact tails are the point of p99.
"""

from __future__ import annotations

import importlib.metadata
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import orjson

SCHEMA_VERSION = "twi-bench/1"
REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "bench" / "results"
PEERS_PYTHON = REPO_ROOT / ".peers" / "venv" / "bin" / "python"

Better = Literal["higher", "lower"]
Status = Literal["ok", "failed", "skipped"]


# --------------------------------------------------------------------------------------------- statistics


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``samples`` by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("percentile of no samples")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile {q} outside 0..100")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


@attrs.frozen(slots=True)
class LatencySummary:
    """Latency figures in milliseconds over ``count`` samples."""

    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    def as_metrics(self, prefix: str = "") -> dict[str, float]:
        return {
            f"{prefix}p50_ms": self.p50_ms,
            f"{prefix}p99_ms": self.p99_ms,
            f"{prefix}max_ms": self.max_ms,
        }


def summarize_latencies(seconds: Sequence[float]) -> LatencySummary:
    """Summarise latencies given in seconds (as ``trio.current_time()`` differences) in milliseconds."""
    if not seconds:
        raise ValueError("no latency samples")
    millis = sorted(s * 1000.0 for s in seconds)
    return LatencySummary(
        count=len(millis),
        p50_ms=percentile(millis, 50),
        p99_ms=percentile(millis, 99),
        max_ms=millis[-1],
        mean_ms=sum(millis) / len(millis),
    )


def ratio(ours: float, theirs: float) -> float | None:
    """``ours / theirs``, or None when the ratio is meaningless (a zero or non-finite denominator)."""
    if theirs == 0 or not math.isfinite(theirs) or not math.isfinite(ours):
        return None
    return ours / theirs


# --------------------------------------------------------------------------------------------- metrics


@attrs.frozen(slots=True)
class Target:
    """A bar from the issue. ``on="ratio"`` compares ours/best-peer, ``on="value"`` our absolute value."""

    on: Literal["ratio", "value"]
    op: Literal[">=", "<="]
    bound: float

    def met_by(self, value: float | None) -> bool | None:
        if value is None:
            return None
        return value >= self.bound if self.op == ">=" else value <= self.bound

    def describe(self) -> str:
        subject = "ours/best" if self.on == "ratio" else "ours"
        return f"{subject} {self.op} {self.bound:g}"


@attrs.frozen(slots=True)
class Metric:
    """One row of a scenario's table: a named figure every bot reports."""

    name: str
    unit: str
    better: Better
    label: str
    target: Target | None = None


@attrs.define(slots=True)
class BotOutcome:
    """What one bot achieved in one scenario; ``metrics`` holds only the figures it actually reached."""

    bot: str
    status: Status
    metrics: dict[str, float] = attrs.field(factory=dict)
    details: dict[str, Any] = attrs.field(factory=dict)
    error: str | None = None


#: The fixed work `cpu_probe_seconds` times: ~0.04 s of CPU on the 2-core VM of the docs' figures.
PROBE_ITERATIONS = 1_000_000
#: Where each round's probe goes in its outcome's details (a list: one entry per good round once merged).
PROBE_DETAIL = "machine_probe_s"
#: Rounds a bot failed (`merge_rounds`); its remaining rounds no longer pair with other bots' by index.
FAILED_ROUNDS_DETAIL = "failed_rounds"


def cpu_probe_seconds(iterations: int = PROBE_ITERATIONS, repeat: int = 3) -> float:
    """CPU seconds the same pure-Python loop takes right now (the fastest of ``repeat`` timings).

    Why: on the shared VMs these benchmarks run on, the same work costs up to twice as much CPU from one
    minute to the next, and also while the *other* vCPU is busy (it shares the core underneath:
    ``docs/benchmarks.md``, "Reading the CPU figures"). Ratios of bots measured in the same minutes cancel
    most of that, but a round taken in a slow phase still skews its bot's median. So each round records this
    probe (taken between bots, while nothing else of the benchmark runs), and the table prints it, so a
    reader can see when a bot's rounds ran on a slower machine than its peers'.
    """
    best = math.inf
    for _ in range(max(1, repeat)):
        started = time.process_time()
        total = 0
        for i in range(iterations):
            total += i * i
        best = min(best, time.process_time() - started)
    return best


def probe_summary(outcomes: Sequence[BotOutcome]) -> str | None:
    """Each bot's rounds' probes on one line ("ours 0.041/0.043, discordpy 0.040/0.061"), or None."""
    parts = []
    for outcome in outcomes:
        probes = outcome.details.get(PROBE_DETAIL)
        if isinstance(probes, list) and probes:
            parts.append(f"{outcome.bot} " + "/".join(f"{float(p):.3f}" for p in probes))
    if not parts:
        return None
    return "machine probe per round (CPU s for the same loop; higher = slower machine): " + ", ".join(parts)


def merge_rounds(bot: str, rounds: Sequence[BotOutcome]) -> BotOutcome:
    """One outcome from several rounds of the same bot: the median of each metric over the good rounds.

    Medians because a shared machine produces outliers in both directions; the per-round figures stay in
    ``details["rounds"]``. A bot with no good round keeps its first failure (or skip) as its outcome; a bot
    that failed some rounds but not all is ``ok`` with a warning saying how many failed and why.
    """
    if not rounds:
        return BotOutcome(bot=bot, status="skipped", error="not measured")
    good = [outcome for outcome in rounds if outcome.status == "ok"]
    if not good:
        return rounds[0]
    if len(rounds) == 1:
        return rounds[0]
    names = sorted({name for outcome in good for name in outcome.metrics})
    metrics = {name: statistics.median(o.metrics[name] for o in good if name in o.metrics) for name in names}
    details = dict(good[-1].details)
    details["rounds"] = [outcome.metrics for outcome in good]
    details[PROBE_DETAIL] = [p for outcome in good for p in outcome.details.get(PROBE_DETAIL, ())]
    failed = [outcome for outcome in rounds if outcome.status != "ok"]
    details[FAILED_ROUNDS_DETAIL] = len(failed)
    if failed:
        warnings = list(details.get("warnings") or [])
        warnings.append(f"{len(failed)} of {len(rounds)} rounds failed: {failed[0].error}")
        details["warnings"] = warnings
    return BotOutcome(bot=bot, status="ok", metrics=metrics, details=details)


@attrs.frozen(slots=True)
class ComparisonRow:
    metric: Metric
    values: dict[str, float | None]
    best_peer: str | None
    best_peer_value: float | None
    ours_over_best: float | None
    target_met: bool | None
    ours_bot: str | None = None
    #: ours / best peer in each interleaved round (round i of both ran minutes apart at most); empty when
    #: either side has a single round or lost a round (then the rounds no longer pair up).
    per_round: tuple[float, ...] = ()

    def ratio_cell(self) -> str:
        if self.ours_over_best is None:
            return "-"
        suffix = "" if self.ours_bot in (None, "ours") else f" ({self.ours_bot})"
        return f"{self.ours_over_best:.2f}x{suffix}"


def best_of(values: Mapping[str, float], better: Better) -> tuple[str, float] | None:
    """The best (name, value) by ``better``; ties go to the first name in order."""
    best: tuple[str, float] | None = None
    for name, value in values.items():
        if not math.isfinite(value):
            continue
        if best is None or (value > best[1] if better == "higher" else value < best[1]):
            best = (name, value)
    return best


#: Our bots, in order of preference for the ratio: the real bot, then its parts assembled for the bench.
OUR_BOTS: tuple[str, ...] = ("ours", "ours-parts")


def compare(
    metrics: Sequence[Metric], outcomes: Sequence[BotOutcome], ours: Sequence[str] = OUR_BOTS
) -> list[ComparisonRow]:
    """One row per metric: each bot's value, the best peer and ours/best, with the target checked.

    Peers are the bots not named in ``ours``; "ours" in the ratio is the first of ``ours`` that has a
    value for the row (the real bot when it ran, else its assembled parts), named in ``ours_bot``.
    """
    rows: list[ComparisonRow] = []
    by_bot = {o.bot: o for o in outcomes}
    for metric in metrics:
        values: dict[str, float | None] = {o.bot: o.metrics.get(metric.name) for o in outcomes}
        peers = {b: v for b, v in values.items() if b not in ours and v is not None}
        best = best_of(peers, metric.better)
        ours_bot = next((name for name in ours if values.get(name) is not None), None)
        our_value = values.get(ours_bot) if ours_bot is not None else None
        over = ratio(our_value, best[1]) if (best is not None and our_value is not None) else None
        target_met: bool | None = None
        if metric.target is not None:
            subject = over if metric.target.on == "ratio" else our_value
            target_met = metric.target.met_by(subject)
        per_round: tuple[float, ...] = ()
        if ours_bot is not None and best is not None:
            per_round = round_ratios(by_bot[ours_bot], by_bot[best[0]], metric.name)
        rows.append(
            ComparisonRow(
                metric=metric,
                values=values,
                best_peer=best[0] if best else None,
                best_peer_value=best[1] if best else None,
                ours_over_best=over,
                target_met=target_met,
                ours_bot=ours_bot,
                per_round=per_round,
            )
        )
    return rows


def round_ratios(ours: BotOutcome, peer: BotOutcome, metric: str) -> tuple[float, ...]:
    """``metric``'s ours/peer ratio round by round, or () when the rounds do not pair up.

    The table's ratio is of medians; this shows how far single rounds stray on a shared machine. Rounds
    pair only when both bots kept every round (`merge_rounds` drops failed ones, which would shift them).
    """
    ours_rounds, peer_rounds = ours.details.get("rounds"), peer.details.get("rounds")
    if not (isinstance(ours_rounds, list) and isinstance(peer_rounds, list)):
        return ()
    if len(ours_rounds) != len(peer_rounds) or len(ours_rounds) < 2 or _lost_rounds(ours, peer):
        return ()
    ratios = []
    for mine, theirs in zip(ours_rounds, peer_rounds, strict=True):
        value = ratio(mine.get(metric), theirs.get(metric)) if metric in mine and metric in theirs else None
        if value is None:
            return ()
        ratios.append(value)
    return tuple(ratios)


def _lost_rounds(*outcomes: BotOutcome) -> bool:
    return any(outcome.details.get(FAILED_ROUNDS_DETAIL, 0) for outcome in outcomes)


def spread_lines(report: ScenarioReport) -> list[str]:
    """For each row with a ratio target: its per-round ratios and in how many rounds the target held."""
    lines = []
    for row in report.comparison():
        target = row.metric.target
        if target is None or target.on != "ratio" or not row.per_round:
            continue
        held = sum(1 for value in row.per_round if target.met_by(value))
        ratios = ", ".join(f"{value:.2f}" for value in row.per_round)
        lines.append(
            f"per round, {row.metric.label} ({row.ours_bot}/{row.best_peer}): {ratios}"
            f" (target met in {held} of {len(row.per_round)})"
        )
    return lines


# --------------------------------------------------------------------------------------------- provenance


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform.processor` says."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on: CPU, memory, OS, load at the start."""
    import psutil

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True),
        "physical_cpus": psutil.cpu_count(logical=False),
        "memory_total_bytes": psutil.virtual_memory().total,
        "loadavg_at_start": list(load),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
    }


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def our_versions() -> dict[str, str | None]:
    names = ("twi-bot-shard", "trio", "httpx", "h11", "wsproto", "orjson", "attrs", "cattrs", "zstandard")
    return {name: _dist_version(name) for name in names}


def peer_versions(peers_python: Path = PEERS_PYTHON) -> dict[str, str | None]:
    """Versions in the peers' virtualenv, asked of its own interpreter (it is not importable from here)."""
    if not peers_python.exists():
        return {}
    script = (
        "import importlib.metadata as m, json, sys\n"
        "out = {'python': sys.version.split()[0]}\n"
        "for n in ('discord.py', 'hikari', 'aiohttp', 'orjson', 'zstandard'):\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = None\n"
        "print(json.dumps(out))\n"
    )
    try:
        done = subprocess.run(  # noqa: PLW1510 - checked below
            [str(peers_python), "-c", script], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if done.returncode != 0:
        return {}
    parsed = orjson.loads(done.stdout)
    return dict(parsed) if isinstance(parsed, dict) else {}


def exact_command(argv: Sequence[str] | None = None) -> str:
    """The command line that reproduces this run, as a shell would take it."""
    args = list(sys.argv if argv is None else argv)
    if args and args[0].endswith("__main__.py"):
        args = ["-m", "bench", *args[1:]]
    return shlex.join([sys.executable, *args])


# --------------------------------------------------------------------------------------------- documents


@attrs.define(slots=True)
class ScenarioReport:
    """Everything one scenario produced; ``to_document`` is the JSON saved to ``bench/results``."""

    scenario: str
    metrics: list[Metric]
    outcomes: list[BotOutcome]
    started_at: float
    finished_at: float
    quick: bool
    command: str
    machine: dict[str, Any]
    versions: dict[str, Any]
    setup: dict[str, Any] = attrs.field(factory=dict)
    plots: list[str] = attrs.field(factory=list)

    def comparison(self) -> list[ComparisonRow]:
        return compare(self.metrics, self.outcomes)

    def to_document(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "scenario": self.scenario,
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "quick": self.quick,
            "command": self.command,
            "machine": self.machine,
            "versions": self.versions,
            "setup": self.setup,
            "metrics": [
                {
                    "name": m.name,
                    "unit": m.unit,
                    "better": m.better,
                    "label": m.label,
                    "target": m.target.describe() if m.target else None,
                }
                for m in self.metrics
            ],
            "bots": {
                o.bot: {"status": o.status, "error": o.error, "metrics": o.metrics, "details": o.details}
                for o in self.outcomes
            },
            "comparison": [
                {
                    "metric": row.metric.name,
                    "values": row.values,
                    "best_peer": row.best_peer,
                    "best_peer_value": row.best_peer_value,
                    "ours_over_best": row.ours_over_best,
                    "ours_bot": row.ours_bot,
                    "target_met": row.target_met,
                    "per_round": list(row.per_round),
                }
                for row in self.comparison()
            ],
            "plots": self.plots,
        }


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def utc_stamp(started_at: float) -> str:
    """``20261122T012345Z``: the UTC time a run started, as result and log file names carry it."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started_at))


def result_path(
    scenario: str, started_at: float, results_dir: Path = RESULTS_DIR, suffix: str = "json"
) -> Path:
    return results_dir / f"{scenario}-{utc_stamp(started_at)}.{suffix}"


def write_report(report: ScenarioReport, results_dir: Path = RESULTS_DIR) -> Path:
    """Save the report's document as ``<results_dir>/<scenario>-<UTC timestamp>.json``."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = result_path(report.scenario, report.started_at, results_dir)
    path.write_bytes(orjson.dumps(report.to_document(), option=orjson.OPT_INDENT_2) + b"\n")
    return path


#: JSON Schema of the saved document (checked by the unit tests; readers may validate against it too).
RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "schema", "scenario", "started_at", "finished_at", "quick", "command",
        "machine", "versions", "setup", "metrics", "bots", "comparison", "plots",
    ],
    "properties": {
        "schema": {"const": SCHEMA_VERSION},
        "scenario": {"type": "string"},
        "started_at": {"type": "string"},
        "finished_at": {"type": "string"},
        "quick": {"type": "boolean"},
        "command": {"type": "string"},
        "machine": {"type": "object", "required": ["logical_cpus", "python", "platform"]},
        "versions": {"type": "object"},
        "setup": {"type": "object"},
        "metrics": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "unit", "better", "label", "target"],
                "properties": {"better": {"enum": ["higher", "lower"]}},
            },
        },
        "bots": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "required": ["status", "error", "metrics", "details"],
                "properties": {
                    "status": {"enum": ["ok", "failed", "skipped"]},
                    "error": {"type": ["string", "null"]},
                    "metrics": {"type": "object", "additionalProperties": {"type": "number"}},
                },
            },
        },
        "comparison": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "metric", "values", "best_peer", "best_peer_value", "ours_over_best", "target_met",
                ],
                "properties": {
                    "ours_over_best": {"type": ["number", "null"]},
                    "target_met": {"type": ["boolean", "null"]},
                    "per_round": {"type": "array", "items": {"type": "number"}},
                },
            },
        },
        "plots": {"type": "array", "items": {"type": "string"}},
    },
}  # fmt: skip


# --------------------------------------------------------------------------------------------- table


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if value == int(value) and magnitude < 1e12:
        return f"{int(value):,}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def render_table(report: ScenarioReport) -> str:
    """A plain-text table: one row per metric, a column per bot, best peer, ours/best and the target."""
    bots = [o.bot for o in report.outcomes]
    status = {o.bot: o.status for o in report.outcomes}
    header = ["metric", "unit", *bots, "best peer", "ours/best", "target"]
    lines: list[list[str]] = [header]
    for row in report.comparison():
        cells = [row.metric.label, row.metric.unit]
        for bot in bots:
            value = row.values.get(bot)
            cells.append(_fmt(value) if value is not None else status[bot].upper())
        cells.append(row.best_peer or "-")
        cells.append(row.ratio_cell())
        if row.metric.target is None:
            cells.append("")
        else:
            verdict = {True: "met", False: "MISSED", None: "n/a"}[row.target_met]
            cells.append(f"{row.metric.target.describe()}: {verdict}")
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = [f"== {report.scenario}{' (quick)' if report.quick else ''} =="]
    for index, line in enumerate(lines):
        rendered.append(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
        if index == 0:
            rendered.append("  ".join("-" * width for width in widths))
    for outcome in report.outcomes:
        if outcome.status != "ok":
            rendered.append(f"{outcome.bot}: {outcome.status.upper()}: {outcome.error or ''}".rstrip(": "))
        rendered.extend(f"{outcome.bot}: warning: {warning}" for warning in outcome_warnings(outcome))
    rendered.extend(spread_lines(report))
    probes = probe_summary(report.outcomes)
    if probes is not None:
        rendered.append(probes)
    return "\n".join(rendered)


def outcome_warnings(outcome: BotOutcome) -> list[str]:
    """Caveats a scenario attached to a bot's figures (``details["warnings"]``)."""
    warnings = outcome.details.get("warnings")
    return [str(w) for w in warnings] if isinstance(warnings, list) else []


def render_markdown(report: ScenarioReport) -> str:
    """The same table as `render_table`, as Markdown (for docs/benchmarks.md)."""
    bots = [o.bot for o in report.outcomes]
    status = {o.bot: o.status for o in report.outcomes}
    header = ["metric", "unit", *bots, "best peer", "ours/best", "target"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in report.comparison():
        cells = [row.metric.label, row.metric.unit]
        for bot in bots:
            value = row.values.get(bot)
            cells.append(_fmt(value) if value is not None else status[bot])
        cells.append(row.best_peer or "-")
        cells.append(row.ratio_cell())
        if row.metric.target is None:
            cells.append("")
        else:
            verdict = {True: "met", False: "**missed**", None: "n/a"}[row.target_met]
            cells.append(f"{row.metric.target.describe()}: {verdict}")
        lines.append("| " + " | ".join(cells) + " |")
    notes = [f"* {o.bot}: {o.status}: {o.error}" for o in report.outcomes if o.status != "ok"]
    notes += [f"* {o.bot}: warning: {w}" for o in report.outcomes for w in outcome_warnings(o)]
    notes += [f"* {line}" for line in spread_lines(report)]
    probes = probe_summary(report.outcomes)
    if probes is not None:
        notes.append(f"* {probes}")
    return "\n".join([f"#### {report.scenario}{' (quick)' if report.quick else ''}", "", *lines, "", *notes])
