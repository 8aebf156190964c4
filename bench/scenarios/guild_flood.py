"""Scenario 2 — guild flood: a large bot's start-up, and the first command answered behind it.

The emulator is filled before the bot connects with ``guilds`` guilds of 50 members, 20 channels and 10
roles each. On IDENTIFY it sends READY listing them all as unavailable, then one GUILD_CREATE per guild (with
members, since the bots ask for the GUILD_MEMBERS intent), over zlib-stream — what Discord does for a bot in
2,500 guilds. The moment the session exists the driver invokes ``/ping``, so the interaction is queued on the
socket behind every GUILD_CREATE.

* **time to answer** — from the emulator receiving IDENTIFY to it receiving the ``/ping`` callback: how long
  a user of a freshly (re)started bot waits for the first answer;
* **peak RSS** — the kernel's high-water mark of the bot process (``VmHWM``), i.e. what its caches cost;
* **bot CPU** over the whole flood.

The interaction deadline is raised for this scenario (a bot that needs more than 3 s would otherwise only
say "failed"; the number is more useful). Bots get no warm-up: start-up is what is measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import trio

from bench.common import BotOutcome, Metric, Target
from bench.scenarios.base import RunContext, running_emulator
from bench.scenarios.bots import BotProcess, BotSpec, driver_cpu_seconds
from bench.scenarios.harness import (
    BotNotReadyError,
    PingTarget,
    bench_config,
    bot_against,
    ping_once,
    runtime_details,
)
from bench.scenarios.profiling import sampling
from protocol.emulator import Emulator


@attrs.frozen(slots=True)
class FloodSizes:
    guilds: int
    members: int = 50
    channels: int = 20
    roles: int = 10


def sizes(quick: bool) -> FloodSizes:
    return FloodSizes(guilds=250 if quick else 2500)


def populate(emu: Emulator, plan: FloodSizes) -> PingTarget:
    """Create the flood's guilds without announcing them (the bot is not connected yet).

    Returns where to ping: the last guild, whose GUILD_CREATE is the last one sent. The emulator runs
    without its sandbox guild here, because Discord requires sharding above 2,500 guilds per shard.
    """
    last = None
    for index in range(plan.guilds):
        last = emu.builder.guild(
            f"flood-{index}",
            text_channels=plan.channels,
            roles=plan.roles,
            members=plan.members,
        )
    if last is None:
        raise ValueError("a guild flood needs at least one guild")
    bot_id = emu.bot_user.id
    member = next(uid for uid in last.members if uid != bot_id)
    return PingTarget(guild_id=last.id, user_id=member, channel_id=last.channel_ids[0])


async def wait_for_identify(emu: Emulator, bot: BotProcess, timeout: float) -> float:  # noqa: ASYNC109
    """Wait until the bot's session exists; returns the emulator time at which IDENTIFY arrived."""
    deadline = trio.current_time() + timeout
    while True:
        bot.check_alive()
        with trio.move_on_after(0.2):
            await emu.wait_for_sessions(1, timeout=0.2)
            return emu.gateway.identifies[-1].time
        if trio.current_time() > deadline:
            raise BotNotReadyError(f"{bot.spec.name} did not identify in {timeout:g}s: {bot.log_tail()}")


@attrs.frozen(slots=True)
class GuildFloodScenario:
    name: str = "guild_flood"
    description: str = "READY + N GUILD_CREATE (50 members, 20 channels, 10 roles) then /ping"

    def metrics(self, ctx: RunContext) -> list[Metric]:
        return [
            Metric(
                "flood_ping_answered_s",
                "s",
                "lower",
                "IDENTIFY -> /ping answered",
                Target("ratio", "<=", 0.5),
            ),
            Metric("peak_rss_mb", "MiB", "lower", "peak RSS", Target("ratio", "<=", 0.6)),
            Metric("flood_cpu_s", "cpu s", "lower", "bot CPU s for the flood"),
            Metric("guilds_per_s", "1/s", "higher", "GUILD_CREATE handled/s"),
        ]

    def setup(self, ctx: RunContext) -> dict[str, object]:
        return {
            **attrs.asdict(sizes(ctx.quick)),
            "compression": "zlib-stream",
            "intents": "incl. GUILD_MEMBERS",
        }

    async def measure(self, spec: BotSpec, ctx: RunContext) -> BotOutcome:
        plan = sizes(ctx.quick)
        config = bench_config(interaction_deadline=600.0, seed_sandbox=False)
        async with running_emulator(config) as emu:
            target = populate(emu, plan)
            emu.snapshot_initial_load()  # the emulator's encoding work happens before the clock starts
            async with bot_against(emu, spec, scenario=self.name, stamp=ctx.stamp) as bot:
                profile_path = ctx.profile_path(self.name, spec.name)
                async with sampling(bot.pid, profile_path, enabled=ctx.profile, attach_delay=0.0) as profile:
                    identified_at = await wait_for_identify(emu, bot, timeout=120.0)
                    at_identify, driver_at_identify = bot.sample(), driver_cpu_seconds()
                    ping_started = trio.current_time()
                    await ping_once(emu, target, timeout=600.0)
                    answered_at = trio.current_time()
                bot.check_alive()
                sample, driver_at_end = bot.sample(), driver_cpu_seconds()
                runtime = await runtime_details(bot.metrics_url)
        elapsed = answered_at - identified_at
        return BotOutcome(
            bot=spec.name,
            status="ok",
            metrics={
                "flood_ping_answered_s": elapsed,
                "peak_rss_mb": sample.peak_rss_bytes / 2**20,
                "flood_cpu_s": sample.cpu_seconds - at_identify.cpu_seconds,
                "guilds_per_s": plan.guilds / elapsed,
            },
            details={
                "identify_to_ping_dispatch_s": ping_started - identified_at,
                "rss_at_end_mb": sample.rss_bytes / 2**20,
                "startup_cpu_s": at_identify.cpu_seconds,
                "helper_processes_rss_mb": sample.helper_rss_bytes / 2**20,
                "helper_processes_cpu_s": sample.helper_cpu_seconds,
                "driver_cpu_share": (driver_at_end - driver_at_identify) / elapsed,
                **profile.as_details(),
                **runtime,
            },
        )

    def plots(self, outcomes: Sequence[BotOutcome], ctx: RunContext) -> list[Path]:
        return []
