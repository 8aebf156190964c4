"""The whole bot — storage writer, REST rate-limiter actor, executor, guild actors, gateway fleet —
against the emulator and a real embedded PostgreSQL, as `shard run` and `shard sandbox` assemble it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import attrs
import httpx
import pytest
import trio

from actors.storage_writer import Flush
from protocol.emulator import Emulator
from shard.bot import RunningBot, serve
from shard.config import Config, Secret
from shard.health_http import BoundAddress
from shard.sandbox.session import run_sandbox, sandbox_config
from storage.repositories.commands import CommandHistoryRepository


def bot_config(emulator: Emulator, dsn: str) -> Config:
    config = sandbox_config(
        Config.defaults("testing"), emulator.api_base, emulator.token, emulator.application_id
    )
    return attrs.evolve(config, storage=attrs.evolve(config.storage, database_url=Secret(dsn)))


@attrs.define
class Bot:
    running: RunningBot
    health: BoundAddress


@pytest.fixture
async def bot(emulator: Emulator, pg_dsn: str, nursery: trio.Nursery) -> AsyncIterator[Bot]:
    health = BoundAddress()
    config = bot_config(emulator, pg_dsn)
    start = partial(serve, config, handle_signals=False, health_bound=health, announce=lambda m: None)
    running: RunningBot = await nursery.start(start)
    yield Bot(running, health)
    await running.runtime.shutdown()


def command_writes(emulator: Emulator) -> list[str]:
    return [f"PUT {r.path}" for r in emulator.requests if r.method == "PUT" and r.path.endswith("/commands")]


async def test_a_slash_command_goes_through_gateway_executor_and_rest(emulator: Emulator, bot: Bot) -> None:
    guild = emulator.sandbox_guild
    channel = guild.bot_channel.id
    interaction = await emulator.invoke_slash(guild.id, guild.owner.id, "ping", channel_id=channel)
    reply = await interaction.response(timeout=10)
    assert interaction.delivered_to == 1
    assert reply.content is not None and reply.content.startswith("Pong!")
    assert not reply.ephemeral


async def test_command_history_reaches_postgres_through_the_storage_writer(
    emulator: Emulator, bot: Bot
) -> None:
    guild = emulator.sandbox_guild
    user = guild.members[0]
    interaction = await emulator.invoke_slash(guild.id, user.id, "help", channel_id=guild.general.id)
    await interaction.response(timeout=10)
    runtime = bot.running.runtime
    rows: list[object] = []
    with trio.fail_after(10):
        while not rows:
            await runtime.ref("root/storage").call(Flush())
            rows = list(await CommandHistoryRepository(bot.running.assembly.db).recent_for_user(user.id))
            if not rows:
                await trio.sleep(0.05)
    assert [getattr(row, "command", None) for row in rows] == ["help"]


async def test_commands_are_synced_once_and_never_on_reconnect(emulator: Emulator, bot: Bot) -> None:
    writes = command_writes(emulator)
    assert len(writes) == 1, writes
    names = {c["name"] for c in emulator.state.global_commands.values()}
    assert {"ping", "help"} <= names

    shard = bot.running.assembly.fleet.shards[0]
    reconnects_before = shard.reconnect_count
    assert emulator.faults.reconnect() == 1  # op 7: the shard closes and resumes
    with trio.fail_after(10):
        while shard.reconnect_count == reconnects_before or not shard.status().connected:
            await trio.sleep(0.02)
    guild = emulator.sandbox_guild
    interaction = await emulator.invoke_slash(guild.id, guild.owner.id, "ping")
    assert (await interaction.response(timeout=10)).content
    assert command_writes(emulator) == writes


async def test_operators_see_the_whole_tree_and_readiness(emulator: Emulator, bot: Bot) -> None:
    async with httpx.AsyncClient(base_url=bot.health.url) as client:
        ready = await client.get("/readyz")
        tree = await client.get("/health.txt")
        metrics = await client.get("/metrics")
    assert ready.status_code == 200, ready.text
    for child in ("storage", "ratelimiter", "executor", "guilds", "gateway", "metrics", "health-http"):
        assert child in tree.text
    assert "db=up" in tree.text and "dropped=0" in tree.text  # the storage writer's status probe
    assert "shards=0:connected" in tree.text  # the gateway fleet's status probe
    assert "shard_gateway_events_total" in metrics.text
    assert emulator.token not in tree.text


async def test_readiness_drops_while_the_gateway_has_no_session(emulator: Emulator, bot: Bot) -> None:
    ready, reason = bot.running.assembly.fleet.readiness()
    assert ready, reason
    emulator.faults.latency(0.5)  # slow REST too; the gateway reconnect below must still come back
    emulator.faults.drop_tcp()
    saw_not_ready = False
    with trio.fail_after(15):
        while True:
            ready, reason = bot.running.assembly.fleet.readiness()
            if not ready:
                saw_not_ready = True
                assert "not connected" in reason
            elif saw_not_ready:
                break
            await trio.sleep(0.005)
    emulator.faults.latency(0)


async def test_sandbox_script_runs_commands_against_the_real_bot(emulator: Emulator, pg_dsn: str) -> None:
    out: list[str] = []
    config = bot_config(emulator, pg_dsn)
    status = await run_sandbox(
        config, script=["/ping", "/help", ":select 1 Core", ":health"], write=out.append, emulator=emulator
    )
    text = "\n".join(out)
    assert status == 0, text
    assert "Pong!" in text
    assert "Pick a category" in text
    assert "/ping" in text.split(":select 1 Core", 1)[1]  # the Core category page lists its commands
    assert "gateway" in text and "ready=yes" in text


async def test_sandbox_script_fails_on_an_error_reply(emulator: Emulator, pg_dsn: str) -> None:
    out: list[str] = []
    status = await run_sandbox(
        bot_config(emulator, pg_dsn), script=["/help command:nope"], write=out.append, emulator=emulator
    )
    text = "\n".join(out)
    assert status == 1, text
    assert "error id" in text and "(ephemeral)" in text
