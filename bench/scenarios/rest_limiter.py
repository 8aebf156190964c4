"""Scenario 4 — REST limiter: a burst of channel messages across several buckets.

Each library's REST client runs alone in its own process (no gateway): ours through ``protocol.rest`` with
the same planner the rate-limiter actor uses (`bench.scenarios.rest_burst_ours`), discord.py through its
``HTTPClient`` and hikari through its ``RESTApp`` (``bench/peers/*_rest_burst.py``). Each starts
``per_channel`` messages in each of ``channels`` channels at once and lets its limiter pace them.

The emulator gives ``POST /channels/{channel_id}/messages`` a bucket of ``limit`` per ``per`` seconds per
channel, chosen so the buckets together stay under the global 50/s and the bucket limits alone decide the
pace (a client that bunches requests at window boundaries can still meet the global limit). The responses,
captured by the harness with each 429's ``retry_after`` and scope, are judged by
`bench.scenarios.rest_analysis`: percentage of the allowed rate achieved, 429s (and how many were
avoidable), early retries. The client's CPU seconds for the burst come from the client process itself
(``time.process_time`` around the burst).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import orjson

from bench.common import OUR_BOTS, BotOutcome, Metric, Target
from bench.scenarios.base import RunContext, running_emulator
from bench.scenarios.bots import PEERS_DIR, BotSpec
from bench.scenarios.harness import bench_config, bot_against, capture_responses
from bench.scenarios.rest_analysis import BurstRequest, analyse_burst
from protocol.emulator import RouteLimit

MESSAGES_ROUTE = "POST /channels/{channel_id}/messages"


@attrs.frozen(slots=True)
class BurstSizes:
    per_channel: int
    channels: int = 4
    limit: int = 10
    per: float = 1.0


def sizes(quick: bool) -> BurstSizes:
    return BurstSizes(per_channel=30 if quick else 60)


def client_spec(bot: BotSpec) -> BotSpec:
    """The REST-only burst client of the same library as ``bot`` (same interpreter, same flags)."""
    interpreter = bot.argv[0]
    if bot.name in OUR_BOTS:
        argv: tuple[str, ...] = (interpreter, "-O", "-m", "bench.scenarios.rest_burst_ours")
    elif bot.name == "discordpy":
        argv = (interpreter, "-O", str(PEERS_DIR / "dpy_rest_burst.py"))
    elif bot.name == "hikari":
        argv = (interpreter, "-O", str(PEERS_DIR / "hikari_rest_burst.py"))
    else:
        raise ValueError(f"no REST burst client for {bot.name!r}")
    return BotSpec(name=bot.name, argv=argv)


@attrs.frozen(slots=True)
class RestLimiterScenario:
    name: str = "rest_limiter"
    description: str = "burst of channel messages across several buckets, judged from the server's log"

    def metrics(self, ctx: RunContext) -> list[Metric]:
        return [
            Metric(
                "percent_of_allowed", "%", "higher", "achieved % of allowed rate", Target("value", ">=", 95.0)
            ),
            Metric("achieved_per_s", "1/s", "higher", "messages/s achieved"),
            Metric("http_429s", "count", "lower", "429s"),
            Metric(
                "avoidable_429s",
                "count",
                "lower",
                "429s after the first per bucket",
                Target("value", "<=", 0),
            ),
            Metric("early_retries", "count", "lower", "early retries", Target("value", "<=", 0)),
            Metric("client_cpu_ms_per_request", "cpu ms", "lower", "client CPU ms / message"),
        ]

    def setup(self, ctx: RunContext) -> dict[str, object]:
        return {**attrs.asdict(sizes(ctx.quick)), "route": MESSAGES_ROUTE, "global_per_s": 50}

    async def measure(self, spec: BotSpec, ctx: RunContext) -> BotOutcome:
        plan = sizes(ctx.quick)
        client = client_spec(spec)
        reason = client.unavailable_reason()
        if reason is not None:
            return BotOutcome(bot=spec.name, status="skipped", error=reason)
        limits = {
            **bench_config().route_limits,
            MESSAGES_ROUTE: RouteLimit(plan.limit, plan.per, bucket="channel-messages-create"),
        }
        config = bench_config(echo_rest_events=False, route_limits=limits)
        async with running_emulator(config) as emu:
            observed = capture_responses(emu)
            sandbox = emu.sandbox_guild
            channel_ids = [
                c.id for c in (sandbox.general, sandbox.bot_channel, sandbox.mod_log, sandbox.nsfw)
            ]
            channel_ids = channel_ids[: plan.channels]
            env = {
                "BURST_CHANNELS": ",".join(map(str, channel_ids)),
                "BURST_PER_CHANNEL": str(plan.per_channel),
            }
            async with bot_against(
                emu, client, scenario=self.name, stamp=ctx.stamp, env_overrides=env
            ) as proc:
                exit_code = await proc.wait(timeout=300.0)
                output = proc.last_json_line()
            if exit_code != 0 or output is None:
                raise RuntimeError(f"{spec.name} burst client exited with {exit_code}: {proc.log_tail()}")
            records = [
                BurstRequest(
                    time=seen.time,
                    bucket=seen.path.rstrip("/").split("/")[-2],
                    body_key=_content(seen.body),
                    status=seen.status,
                    retry_after=seen.retry_after,
                    scope=seen.scope,
                )
                for seen in observed
                if seen.method == "POST" and seen.path.rstrip("/").endswith("/messages")
            ]
        analysis = analyse_burst(records, limit=plan.limit, per=plan.per)
        expected = plan.per_channel * len(channel_ids)
        cpu_s = float(output.get("cpu_s", 0.0))
        details: dict[str, object] = {
            "expected_messages": expected,
            "client_reported_sent": output.get("sent"),
            "client_failures": output.get("failures"),
            "server_successes": analysis.successes,
            "server_requests": analysis.requests,
            "ideal_s": analysis.ideal_s,
            "achieved_s": analysis.achieved_s,
            "allowed_per_s": analysis.allowed_per_s,
        }
        if analysis.successes != expected:
            return BotOutcome(
                bot=spec.name,
                status="failed",
                error=f"{analysis.successes} of {expected} messages delivered; {output.get('failures')}",
                details=details,
            )
        return BotOutcome(
            bot=spec.name,
            status="ok",
            metrics={
                "percent_of_allowed": analysis.percent_of_allowed,
                "achieved_per_s": analysis.achieved_per_s,
                "http_429s": float(analysis.http_429s),
                "avoidable_429s": float(analysis.avoidable_429s),
                "early_retries": float(analysis.early_retries),
                "client_cpu_ms_per_request": cpu_s / expected * 1000,
            },
            details=details,
        )

    def plots(self, outcomes: Sequence[BotOutcome], ctx: RunContext) -> list[Path]:
        return []


def _content(body: bytes) -> str:
    """The message content of a create-message request body (the key that identifies its retries)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace")
    return str(parsed.get("content")) if isinstance(parsed, dict) else str(parsed)
