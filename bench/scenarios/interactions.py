"""Scenario 1 — ``/ping`` interactions, closed loop and open loop.

Closed loop: ``concurrency`` simulated users each invoke ``/ping`` and invoke again as soon as the answer
arrives, so at most ``concurrency`` interactions are unanswered at any moment. This finds the bot's maximum
answer rate and, with the bot's CPU seconds over the same window, its CPU cost per 1,000 interactions.

Open loop: interactions are dispatched on a fixed schedule (100, 400, 800, 1,600 per second) whatever the
bot does, the way real users arrive. A closed loop hides queueing (a slow bot slows its own load), an open
loop shows it: latency stays flat while the bot keeps up and climbs once offered load passes its capacity.
Latency is measured from the moment the INTERACTION_CREATE is handed to the emulator's gateway until the
emulator has received the interaction callback. The schedule is absolute (``start + i / rate``), so when the
driver oversleeps it catches up instead of silently offering less; the lag between schedule and dispatch is
recorded, and a row where it exceeds 5 ms (p99) carries a warning, so a saturated driver is visible rather
than mistaken for a slow or fast bot. Payloads are built (and encoded to JSON) before the clock starts;
during the measured window the driver only dispatches and waits.

An interaction not answered within the emulator's 3 s deadline counts as unanswered; it enters the latency
percentiles at 3 s (a lower bound: leaving it out would make an overloaded bot look fast), and the number
of unanswered interactions is its own row.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import orjson
import trio

from bench.common import BotOutcome, Metric, Target, percentile, result_path, summarize_latencies
from bench.scenarios.base import RunContext, running_emulator
from bench.scenarios.bots import BotSpec, driver_cpu_seconds
from bench.scenarios.harness import (
    CHANNEL_MESSAGE_WITH_SOURCE,
    PING_REPLY,
    PingTarget,
    bench_config,
    bot_against,
    runtime_details,
    sandbox_target,
    wait_until_ready,
)
from bench.scenarios.plot import write_line_plot
from bench.scenarios.profiling import sampling
from protocol.emulator import Emulator
from protocol.emulator.state import JSONObject

OPEN_LOOP_RATES: tuple[int, ...] = (100, 400, 800, 1600)
DEADLINE_S = 3.0  # Discord's interaction deadline, which the emulator enforces
DRIVER_LAG_WARNING_MS = 5.0


@attrs.frozen(slots=True)
class InteractionSizes:
    closed_total: int
    concurrency: int
    open_seconds: float
    rates: tuple[int, ...] = OPEN_LOOP_RATES


def sizes(quick: bool) -> InteractionSizes:
    if quick:
        return InteractionSizes(closed_total=500, concurrency=100, open_seconds=1.0)
    return InteractionSizes(closed_total=2000, concurrency=100, open_seconds=4.0)


@attrs.define(slots=True)
class _Tally:
    latencies: list[float] = attrs.field(factory=list)
    unanswered: int = 0
    wrong: int = 0


@attrs.frozen(slots=True)
class Prebuilt:
    """One /ping interaction, built and encoded to JSON before the clock starts."""

    payload: JSONObject
    encoded: bytes


def prebuild_pings(emu: Emulator, target: PingTarget, count: int) -> list[Prebuilt]:
    """Build ``count`` /ping payloads before the clock starts, so the measured loop only dispatches."""
    payloads = [
        emu.interactions.slash(target.guild_id, target.user_id, "ping", channel_id=target.channel_id)
        for _ in range(count)
    ]
    return [Prebuilt(payload, orjson.dumps(payload)) for payload in payloads]


async def _invoke_and_time(emu: Emulator, ping: Prebuilt, tally: _Tally) -> None:
    started = trio.current_time()
    interaction = emu.invoke_nowait(ping.payload, encoded=ping.encoded)
    try:
        reply = await interaction.response(timeout=10.0)
    except Exception:
        tally.unanswered += 1
        return
    tally.latencies.append(trio.current_time() - started)
    if reply.type != CHANNEL_MESSAGE_WITH_SOURCE or not (reply.content or "").startswith(PING_REPLY):
        tally.wrong += 1


async def closed_loop(
    emu: Emulator, target: PingTarget, total: int, concurrency: int
) -> tuple[_Tally, float]:
    """Run ``total`` pings with at most ``concurrency`` outstanding; returns the tally and elapsed seconds."""
    tally = _Tally()
    payloads = prebuild_pings(emu, target, total)
    payloads.reverse()

    async def user() -> None:
        while payloads:
            await _invoke_and_time(emu, payloads.pop(), tally)

    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        for _ in range(min(concurrency, total)):
            nursery.start_soon(user)
    return tally, trio.current_time() - started


async def open_loop(
    emu: Emulator, target: PingTarget, rate: int, seconds: float
) -> tuple[_Tally, list[float]]:
    """Offer ``rate`` pings per second for ``seconds``; returns the tally and the schedule lags."""
    tally = _Tally()
    lags: list[float] = []
    payloads = prebuild_pings(emu, target, max(1, round(rate * seconds)))
    async with trio.open_nursery() as nursery:
        start = trio.current_time() + 0.01
        for index, payload in enumerate(payloads):
            due = start + index / rate
            await trio.sleep_until(due)
            lags.append(trio.current_time() - due)
            nursery.start_soon(_invoke_and_time, emu, payload, tally)
    return tally, lags


@attrs.frozen(slots=True)
class InteractionsScenario:
    name: str = "interactions"
    description: str = "/ping closed loop (answers/s, CPU per 1,000) and open loop (latency vs offered load)"

    def metrics(self, ctx: RunContext) -> list[Metric]:
        rows = [
            Metric("closed_answers_per_s", "1/s", "higher", "closed: answers/s", Target("ratio", ">=", 1.5)),
            Metric(
                "closed_cpu_s_per_1000",
                "cpu s",
                "lower",
                "closed: bot CPU s / 1,000",
                Target("ratio", "<=", 0.5),
            ),
            Metric("closed_p50_ms", "ms", "lower", "closed: p50"),
            Metric("closed_p99_ms", "ms", "lower", "closed: p99"),
        ]
        for rate in sizes(ctx.quick).rates:
            p99_target = Target("value", "<=", 5.0) if rate == 800 else None
            rows += [
                Metric(f"open_{rate}_p50_ms", "ms", "lower", f"open {rate}/s: p50"),
                Metric(f"open_{rate}_p99_ms", "ms", "lower", f"open {rate}/s: p99", p99_target),
                Metric(f"open_{rate}_max_ms", "ms", "lower", f"open {rate}/s: max"),
                Metric(f"open_{rate}_unanswered", "count", "lower", f"open {rate}/s: unanswered"),
                Metric(f"open_{rate}_cpu_s_per_1000", "cpu s", "lower", f"open {rate}/s: bot CPU s / 1,000"),
            ]
        return rows

    def setup(self, ctx: RunContext) -> dict[str, object]:
        return attrs.asdict(sizes(ctx.quick))

    async def measure(self, spec: BotSpec, ctx: RunContext) -> BotOutcome:
        plan = sizes(ctx.quick)
        metrics: dict[str, float] = {}
        warnings: list[str] = []
        details: dict[str, object] = {"warnings": warnings}
        async with (
            running_emulator(bench_config()) as emu,
            bot_against(emu, spec, scenario=self.name, stamp=ctx.stamp) as bot,
        ):
            target = sandbox_target(emu)
            await wait_until_ready(emu, bot, target)

            profile_path = ctx.profile_path(self.name, spec.name)
            async with sampling(bot.pid, profile_path, enabled=ctx.profile) as profile:
                before, driver_before = bot.sample(), driver_cpu_seconds()
                tally, elapsed = await closed_loop(emu, target, plan.closed_total, plan.concurrency)
                after, driver_after = bot.sample(), driver_cpu_seconds()
            if ctx.profile:
                details.update(profile.as_details())
            bot.check_alive()
            if tally.unanswered or tally.wrong or not tally.latencies:
                raise RuntimeError(
                    f"closed loop: {tally.unanswered} unanswered, {tally.wrong} wrong replies"
                    f" of {plan.closed_total}"
                )
            summary = summarize_latencies(tally.latencies)
            metrics["closed_answers_per_s"] = len(tally.latencies) / elapsed
            metrics["closed_cpu_s_per_1000"] = (
                (after.cpu_seconds - before.cpu_seconds) / plan.closed_total * 1000
            )
            metrics["closed_p50_ms"] = summary.p50_ms
            metrics["closed_p99_ms"] = summary.p99_ms
            details["closed_elapsed_s"] = elapsed
            details["closed_driver_cpu_share"] = (driver_after - driver_before) / elapsed
            details["closed_bot_cpu_share"] = (after.cpu_seconds - before.cpu_seconds) / elapsed
            details["closed_helper_cpu_s_per_1000"] = (
                (after.helper_cpu_seconds - before.helper_cpu_seconds) / plan.closed_total * 1000
            )

            for rate in plan.rates:
                cpu_before = bot.sample().cpu_seconds
                tally, lags = await open_loop(emu, target, rate, plan.open_seconds)
                bot.check_alive()
                metrics[f"open_{rate}_unanswered"] = float(tally.unanswered)
                # An unanswered interaction counts at the deadline: a lower bound, never left out.
                counted = tally.latencies + [DEADLINE_S] * tally.unanswered
                if counted:
                    summary = summarize_latencies(counted)
                    metrics.update(summary.as_metrics(prefix=f"open_{rate}_"))
                lag_p99_ms = percentile(lags, 99) * 1000
                details[f"open_{rate}_driver_lag_p99_ms"] = lag_p99_ms
                if lag_p99_ms > DRIVER_LAG_WARNING_MS:
                    warnings.append(
                        f"driver behind schedule at {rate}/s (lag p99 {lag_p99_ms:.0f} ms): "
                        "that row measures the driver and emulator too"
                    )
                details[f"open_{rate}_wrong_replies"] = tally.wrong
                await trio.sleep(0.5)  # let stragglers drain before the next rate
                # Every bot at the same offered load: the CPU comparison the closed loop cannot give (there
                # the faster bot also keeps the driver, on the other vCPU, busier; docs/benchmarks.md).
                # Per interaction offered, the drain's half second of idle work included.
                offered = max(1, round(rate * plan.open_seconds))
                cpu_used = bot.sample().cpu_seconds - cpu_before
                metrics[f"open_{rate}_cpu_s_per_1000"] = cpu_used / offered * 1000
            final = bot.sample()
            details.update(await runtime_details(bot.metrics_url))
            details["peak_rss_mb"] = final.peak_rss_bytes / 2**20
            details["helper_processes_rss_mb"] = final.helper_rss_bytes / 2**20
        return BotOutcome(bot=spec.name, status="ok", metrics=metrics, details=details)

    def plots(self, outcomes: Sequence[BotOutcome], ctx: RunContext) -> list[Path]:
        rates = sizes(ctx.quick).rates
        series: dict[str, list[tuple[float, float]]] = {}
        for outcome in outcomes:
            for stat in ("p50", "p99"):
                points = [
                    (float(rate), outcome.metrics[f"open_{rate}_{stat}_ms"])
                    for rate in rates
                    if f"open_{rate}_{stat}_ms" in outcome.metrics
                ]
                if points:
                    series[f"{outcome.bot} {stat}"] = points
        if not series:
            return []
        path = result_path(self.name, ctx.started_at, ctx.results_dir, suffix="png")
        write_line_plot(
            path,
            series,
            title="/ping open loop: latency vs offered load",
            x_label="offered load (interactions/s)",
            y_label="latency (ms, log)",
            log_y=True,
        )
        return [path]
