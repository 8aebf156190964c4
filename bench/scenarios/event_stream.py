"""Scenario 3 — event stream: a busy community's traffic, as fast as the bot can take it.

``total`` dispatches over zlib-stream across 100 guilds, MESSAGE_CREATE-heavy like a real chat server:
70 % MESSAGE_CREATE, 15 % MESSAGE_REACTION_ADD, 10 % TYPING_START, 5 % GUILD_MEMBER_UPDATE, guilds chosen
uniformly (seeded, so every bot sees the same sequence).

Why the payloads are prepared up front: the emulator's own user actions (``emu.users``) build one real
payload per guild and kind, captured instead of dispatched; the stream is then those templates with fresh
ids, encoded once before the clock starts. During the measured window the driver only hands encoded bytes
to the emulator (``dispatch_encoded``), so its CPU goes to framing and compression, not to building dicts.
The driver keeps at most ``window`` frames queued on the socket; beyond that it waits, so a slow bot slows
the stream (TCP backpressure) instead of the driver buffering the whole run in memory.

The window ends when a ``/ping`` dispatched behind the last event is answered: the bot has read and routed
everything before it. ``events/s`` is ``total`` over that window, and the bot's CPU seconds over the same
window are reported per 100,000 events. Peers then answer ``/count`` with what their listeners saw, which
checks that the events were delivered, not just read; ours reports, from its ``/metrics`` endpoint, how many
messages its guild actors handled over the window (``shard_actor_messages_total{kind="guild"}``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import orjson
import trio

from bench.common import BotOutcome, Metric, Target
from bench.scenarios.base import RunContext, running_emulator
from bench.scenarios.bots import BotSpec, driver_cpu_seconds
from bench.scenarios.harness import (
    PingTarget,
    ask_count,
    bench_config,
    bot_against,
    ping_once,
    scrape_counter,
    wait_until_ready,
)
from bench.scenarios.profiling import sampling
from protocol.emulator import Emulator
from protocol.emulator.user_actions import UserActions

JSONObject = dict[str, Any]

#: Our runtime's count of messages handled by actors, by kind (read from the bot's /metrics).
GUILD_MESSAGES = "shard_actor_messages_total"

MIX: tuple[tuple[str, float], ...] = (
    ("MESSAGE_CREATE", 0.70),
    ("MESSAGE_REACTION_ADD", 0.15),
    ("TYPING_START", 0.10),
    ("GUILD_MEMBER_UPDATE", 0.05),
)


@attrs.frozen(slots=True)
class StreamSizes:
    total: int
    guilds: int = 100
    channels: int = 5
    members: int = 20
    roles: int = 5
    window: int = 20_000
    seed: int = 6


def sizes(quick: bool) -> StreamSizes:
    return StreamSizes(total=20_000 if quick else 200_000)


@attrs.frozen(slots=True)
class GuildTemplates:
    """One captured payload per event kind for one guild."""

    guild_id: int
    by_event: dict[str, JSONObject]


def build_templates(emu: Emulator, plan: StreamSizes) -> tuple[list[GuildTemplates], PingTarget]:
    """Create the guilds and capture one realistic payload per kind and guild from the emulator's builders."""
    captured: list[tuple[int | None, str, JSONObject]] = []

    def capture(guild_id: int | None, event: str, payload: JSONObject) -> int:
        captured.append((guild_id, event, payload))
        return 0

    actions = UserActions(emu.state, capture)
    bot_id = emu.bot_user.id
    templates: list[GuildTemplates] = []
    target: PingTarget | None = None
    for index in range(plan.guilds):
        guild = emu.builder.guild(
            f"busy-{index}", text_channels=plan.channels, roles=plan.roles, members=plan.members
        )
        humans = [uid for uid in guild.members if uid != bot_id]
        channel_id = guild.channel_ids[0]
        captured.clear()
        message = actions.send_message(channel_id, humans[0], "a message of ordinary length, with some words")
        actions.react(message, humans[1 % len(humans)], "👍")
        actions.start_typing(channel_id, humans[2 % len(humans)])
        role_ids = [rid for rid in guild.roles if rid != guild.id][:1]
        actions.set_roles(guild.id, humans[3 % len(humans)], role_ids)
        emu.state.channel_messages(channel_id).clear()
        templates.append(GuildTemplates(guild.id, {event: payload for _gid, event, payload in captured}))
        if target is None:
            target = PingTarget(guild_id=guild.id, user_id=humans[0], channel_id=channel_id)
    if target is None:
        raise ValueError("an event stream needs at least one guild")
    return templates, target


def encode_stream(
    templates: Sequence[GuildTemplates], plan: StreamSizes, first_id: int
) -> list[tuple[int, str, bytes]]:
    """The whole stream, encoded: ``(guild_id, event, payload_json)`` in dispatch order."""
    chooser = random.Random(plan.seed)
    events = [name for name, _share in MIX]
    weights = [share for _name, share in MIX]
    kinds = chooser.choices(events, weights=weights, k=plan.total)
    guilds = [chooser.randrange(len(templates)) for _ in range(plan.total)]
    stream: list[tuple[int, str, bytes]] = []
    next_id = first_id
    for kind, guild_index in zip(kinds, guilds, strict=True):
        template = templates[guild_index]
        payload = template.by_event[kind]
        if kind == "MESSAGE_CREATE":
            payload = {**payload, "id": str(next_id), "content": f"message {next_id}"}
            next_id += 1
        stream.append((template.guild_id, kind, orjson.dumps(payload)))
    return stream


async def push_stream(emu: Emulator, stream: Sequence[tuple[int, str, bytes]], window: int) -> None:
    """Hand the encoded stream to the emulator, keeping at most ``window`` frames queued per connection."""
    dispatch = emu.dispatch_encoded
    batch = max(1, window // 10)
    for start in range(0, len(stream), batch):
        for guild_id, event, payload in stream[start : start + batch]:
            dispatch(guild_id, event, payload)
        await trio.lowlevel.checkpoint()
        for connection in emu.gateway.attached_connections():
            if connection.queued > window:
                await connection.wait_flushed()


@attrs.frozen(slots=True)
class EventStreamScenario:
    name: str = "event_stream"
    description: str = "mixed dispatches over zlib-stream across 100 guilds; events/s and bot CPU"

    def metrics(self, ctx: RunContext) -> list[Metric]:
        return [
            Metric("events_per_s", "1/s", "higher", "events/s", Target("ratio", ">=", 2.0)),
            Metric("cpu_s_per_100k", "cpu s", "lower", "bot CPU s / 100,000 events"),
        ]

    def setup(self, ctx: RunContext) -> dict[str, object]:
        return {**attrs.asdict(sizes(ctx.quick)), "mix": dict(MIX), "compression": "zlib-stream"}

    async def measure(self, spec: BotSpec, ctx: RunContext) -> BotOutcome:
        plan = sizes(ctx.quick)
        config = bench_config(interaction_deadline=600.0, seed_sandbox=False, replay_buffer_size=1000)
        async with running_emulator(config) as emu:
            templates, target = build_templates(emu, plan)
            stream = encode_stream(templates, plan, first_id=emu.state.snowflakes.next())
            async with bot_against(emu, spec, scenario=self.name, stamp=ctx.stamp) as bot:
                await wait_until_ready(emu, bot, target)
                counted_before = await ask_count(emu, target)
                delivered_before = await scrape_counter(bot.metrics_url, GUILD_MESSAGES, 'kind="guild"')
                profile_path = ctx.profile_path(self.name, spec.name)
                async with sampling(bot.pid, profile_path, enabled=ctx.profile) as profile:
                    before, driver_before = bot.sample(), driver_cpu_seconds()
                    started = trio.current_time()
                    await push_stream(emu, stream, plan.window)
                    await ping_once(emu, target, timeout=600.0)
                    elapsed = trio.current_time() - started
                    after, driver_after = bot.sample(), driver_cpu_seconds()
                counted_after = await ask_count(emu, target)
                delivered_after = await scrape_counter(bot.metrics_url, GUILD_MESSAGES, 'kind="guild"')
                bot.check_alive()
        details: dict[str, object] = {
            "elapsed_s": elapsed,
            "driver_cpu_share": (driver_after - driver_before) / elapsed,
            "bot_cpu_share": (after.cpu_seconds - before.cpu_seconds) / elapsed,
            "helper_processes_cpu_s": after.helper_cpu_seconds - before.helper_cpu_seconds,
            "peak_rss_mb": after.peak_rss_bytes / 2**20,
        }
        if ctx.profile:
            details.update(profile.as_details())
        if counted_before is not None and counted_after is not None:
            details["events_counted_by_listeners"] = counted_after - counted_before
        if delivered_before is not None and delivered_after is not None:
            details["messages_handled_by_guild_actors"] = delivered_after - delivered_before
        return BotOutcome(
            bot=spec.name,
            status="ok",
            metrics={
                "events_per_s": plan.total / elapsed,
                "cpu_s_per_100k": (after.cpu_seconds - before.cpu_seconds) / plan.total * 100_000,
            },
            details=details,
        )

    def plots(self, outcomes: Sequence[BotOutcome], ctx: RunContext) -> list[Path]:
        return []
