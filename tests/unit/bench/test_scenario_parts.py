"""Scenario building blocks that run without a bot: the event mix, the burst client specs, restart latency."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from bench.scenarios.bots import bot_specs
from bench.scenarios.event_stream import MIX, GuildTemplates, StreamSizes, encode_stream
from bench.scenarios.rest_limiter import client_spec
from bench.scenarios.supervision import restart_latencies


def _templates() -> list[GuildTemplates]:
    return [
        GuildTemplates(
            guild_id=guild_id,
            by_event={
                "MESSAGE_CREATE": {"id": "1", "guild_id": str(guild_id), "content": "x"},
                "MESSAGE_REACTION_ADD": {"guild_id": str(guild_id), "emoji": {"name": "👍"}},
                "TYPING_START": {"guild_id": str(guild_id)},
                "GUILD_MEMBER_UPDATE": {"guild_id": str(guild_id), "roles": []},
            },
        )
        for guild_id in (10, 20, 30)
    ]


def test_event_stream_follows_the_mix_with_unique_message_ids() -> None:
    plan = StreamSizes(total=5000, guilds=3)
    stream = encode_stream(_templates(), plan, first_id=1000)
    assert len(stream) == 5000
    shares = Counter(event for _guild, event, _payload in stream)
    for event, share in MIX:
        assert shares[event] / 5000 == pytest.approx(share, abs=0.03)
    message_ids = [
        orjson.loads(payload)["id"] for _guild, event, payload in stream if event == "MESSAGE_CREATE"
    ]
    assert len(set(message_ids)) == len(message_ids)
    for guild_id, _event, payload in stream:
        assert orjson.loads(payload)["guild_id"] == str(guild_id)


def test_event_stream_is_reproducible() -> None:
    plan = StreamSizes(total=300, guilds=3)
    assert encode_stream(_templates(), plan, 1) == encode_stream(_templates(), plan, 1)


def test_each_library_has_a_burst_client_with_the_same_interpreter() -> None:
    for bot in bot_specs(["ours", "discordpy", "hikari"]):
        client = client_spec(bot)
        assert client.name == bot.name
        assert client.argv[0] == bot.argv[0]
        assert "-O" in client.argv
    assert client_spec(bot_specs(["ours"])[0]).argv[-1] == "bench.scenarios.rest_burst_ours"


async def test_crashed_guild_actors_come_back_and_handle_the_next_message() -> None:
    latencies = await restart_latencies(20)
    assert len(latencies) == 20
    assert all(latency > 0 for latency in latencies)
