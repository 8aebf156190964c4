"""The whole bot through a database outage (issue 4): its own embedded PostgreSQL stops and starts again.

While the database is down: a command that needs it (``/link get``) answers an ephemeral "storage unavailable"
error with an error id, a command that does not (``/ping``) answers normally, and messages members post
(MESSAGE_CREATE → guild actor → activity listener → storage writer) wait in the writer, which reports
``db=DOWN`` in the health tree. Once the server is back, the writer flushes and every message row arrives
exactly once, and ``/link get`` works again.

The bot gets a private server (not the session's ``pg_server``, which other tests share) in a temporary
directory; stopping it is what an operator restarting PostgreSQL would do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import partial

import pytest
import trio

from actors.storage_writer import Flush, GetStats, WriterStats
from protocol.emulator import Emulator
from protocol.emulator.interaction_records import Interaction, InteractionReply
from shard.bot import RunningBot, serve
from shard.config import Config
from storage.database import Database
from storage.embedded import EmbeddedPostgres
from supervision import render_text
from tests.e2e.test_bot import bot_config
from tests.e2e.test_links import uncooled
from tests.fixtures.storage import server_directory

WIKI = "https://wiki.wanderinginn.com/"
MESSAGES_BEFORE = 5
MESSAGES_DURING = 40


@pytest.fixture
def private_server() -> Iterator[EmbeddedPostgres]:
    with server_directory() as data_dir:
        server = EmbeddedPostgres(data_dir, settings={"fsync": "off"}, announce=lambda message: None)
        server.start()
        try:
            server.ensure_database("shard")
            yield server
        finally:
            server.stop(mode="immediate")


@pytest.fixture
async def bot(
    emulator: Emulator, private_server: EmbeddedPostgres, nursery: trio.Nursery
) -> AsyncIterator[RunningBot]:
    config: Config = uncooled(bot_config(emulator, private_server.dsn("shard")))
    start = partial(serve, config, handle_signals=False, announce=lambda m: None)
    running: RunningBot = await nursery.start(start)
    yield running
    await running.runtime.shutdown()


async def answer(interaction: Interaction) -> InteractionReply:
    """The user-visible answer (after the automatic defer, if the handler took long)."""
    reply = await interaction.response(timeout=15)
    if reply.deferred:
        reply = await interaction.final(timeout=15)
    return reply


async def writer_stats(running: RunningBot) -> WriterStats:
    stats = await running.runtime.ref("root/storage").call(GetStats(), timeout=5)
    assert isinstance(stats, WriterStats)
    return stats


async def count_messages(db: Database, channel_id: int) -> tuple[int, int]:
    row = await db.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM messages"
        " WHERE channel_id = $1 AND content LIKE 'outage test %'",
        channel_id,
    )
    assert row is not None
    return int(row["n"]), int(row["d"])


async def rows_after_flush(running: RunningBot, channel_id: int, expected: int) -> tuple[int, int]:
    """Flush the writer until ``expected`` rows are in (messages travel gateway → guild actor → writer
    asynchronously, so the last ones may reach the writer just after a flush); returns (rows, distinct
    ids)."""
    with trio.fail_after(45):
        while True:
            await running.runtime.ref("root/storage").call(Flush(timeout=40), timeout=45)
            counted = await count_messages(running.assembly.db, channel_id)
            if counted[0] >= expected:
                return counted
            await trio.sleep(0.05)


@pytest.mark.slow
async def test_commands_and_the_writer_through_a_database_outage(
    emulator: Emulator, private_server: EmbeddedPostgres, bot: RunningBot
) -> None:
    guild = emulator.sandbox_guild
    member = guild.members[0].id
    channel = guild.general.id

    added = await answer(
        await emulator.invoke_slash(
            guild.id, guild.moderator.id, "link add", {"title": "wiki", "content": WIKI}
        )
    )
    assert added.content == "Saved **wiki**."
    for i in range(MESSAGES_BEFORE):
        await emulator.send_user_message(channel, member, f"outage test {i}")
    assert await rows_after_flush(bot, channel, MESSAGES_BEFORE) == (MESSAGES_BEFORE, MESSAGES_BEFORE)

    await trio.to_thread.run_sync(partial(private_server.stop, mode="fast"))

    down = await answer(await emulator.invoke_slash(guild.id, member, "link get", {"title": "wiki"}))
    assert down.ephemeral
    assert down.content is not None
    assert "Storage is unavailable" in down.content and "error id `" in down.content
    ping = await answer(await emulator.invoke_slash(guild.id, member, "ping"))
    assert ping.content is not None and ping.content.startswith("Pong!") and not ping.ephemeral

    total = MESSAGES_BEFORE + MESSAGES_DURING
    for i in range(MESSAGES_BEFORE, total):
        await emulator.send_user_message(channel, member, f"outage test {i}")
    with trio.fail_after(20):  # every message reached the writer, which holds them for the database
        while True:
            stats = await writer_stats(bot)
            pending = stats.accepted - stats.written  # buffered, or in the batch being retried
            if not stats.database_available and pending >= MESSAGES_DURING:
                break
            await trio.sleep(0.05)
    assert stats.dropped == {}
    tree = render_text(bot.runtime.health())
    assert "db=DOWN" in tree, tree
    again = await answer(await emulator.invoke_slash(guild.id, member, "ping"))
    assert again.content is not None and again.content.startswith("Pong!")

    await trio.to_thread.run_sync(private_server.start)

    assert await rows_after_flush(bot, channel, total) == (total, total)  # every row exactly once
    stats = await writer_stats(bot)
    assert stats.database_available and stats.retries >= 1 and stats.dropped == {}
    assert "db=up" in render_text(bot.runtime.health())

    with trio.fail_after(15):  # the pool may need a moment to reconnect
        while True:
            back = await answer(await emulator.invoke_slash(guild.id, member, "link get", {"title": "wiki"}))
            if not back.ephemeral:
                break
            assert back.content is not None and "Storage is unavailable" in back.content
            await trio.sleep(0.2)
    assert back.content == f"[wiki]({WIKI})"
