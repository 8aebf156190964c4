"""The storage writer on the real server: batching, exactly-once retries, poison records, outages, actor."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import pytest
import trio
import trio_asyncio

from actors.storage_writer import (
    Flush,
    GetStats,
    StorageWriter,
    WriterSettings,
    storage_writer_child,
)
from storage import Database, StorageUnavailable
from storage.embedded import EmbeddedPostgres
from storage.migrate import migrate
from storage.repositories.activity import (
    ActivityWriteModel,
    AttachmentRecord,
    ChannelRecord,
    DuplicateKeyError,
    MemberEventRecord,
    MessageDeleteRecord,
    MessageEditRecord,
    MessageRecord,
    ReactionRecord,
    UserRecord,
)
from storage.repositories.commands import CommandInvocation
from supervision import SupervisorSpec, open_runtime
from supervision.telemetry import Telemetry
from tests.fixtures.storage import connect_test_database, server_directory

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
FAST = WriterSettings(max_batch=500, flush_interval=0.02, retry_initial=0.02, retry_max=0.2)


def message(i: int, attachments: tuple[AttachmentRecord, ...] = ()) -> MessageRecord:
    return MessageRecord(
        message_id=10_000 + i,
        channel_id=5,
        author_id=7,
        created_at=NOW,
        guild_id=1,
        content=f"m{i}",
        attachments=attachments,
    )


async def count(db: Database, table: str) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {table}"))


async def test_writer_batches_every_kind(db: Database, telemetry: Telemetry) -> None:
    writer = StorageWriter(ActivityWriteModel(db), settings=FAST, telemetry=telemetry)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        writer.submit(UserRecord(7, "erin"))
        writer.submit(UserRecord(7, "erin_solstice"))  # last write wins within a batch
        writer.submit(ChannelRecord(5, 1, "general", 0))
        writer.submit(message(1, attachments=(AttachmentRecord(900, "a.png", 10),)))
        writer.submit(message(2))
        writer.submit(MessageEditRecord(10_001, 5, NOW.replace(minute=10), "edited", guild_id=1))
        writer.submit(MessageDeleteRecord(10_002, NOW.replace(minute=11)))
        writer.submit(ReactionRecord(10_001, 5, 8, True, NOW, guild_id=1, emoji_name="👍"))
        writer.submit(MemberEventRecord(1, 8, "join", NOW))
        writer.submit(CommandInvocation("ping", 8, NOW, "ok", guild_id=1))
        await writer.flush()
        nursery.cancel_scope.cancel()

    assert await db.fetchval("SELECT username FROM users WHERE user_id = 7") == "erin_solstice"
    assert await count(db, "messages") == 2
    assert await db.fetchval("SELECT attachment_count FROM messages WHERE message_id = 10001") == 1
    assert await count(db, "attachments") == 1
    assert await db.fetchval("SELECT content FROM messages WHERE message_id = 10001") == "edited"
    assert await db.fetchval("SELECT deleted_at IS NOT NULL FROM messages WHERE message_id = 10002")
    assert await count(db, "message_edits") == 1
    assert await count(db, "reactions") == 1
    assert await count(db, "member_events") == 1
    assert await count(db, "command_history") == 1
    stats = writer.stats()
    assert (stats.accepted, stats.written, stats.dropped, stats.buffered) == (10, 10, {}, 0)
    assert telemetry.counter("shard_storage_written_total", "").value() == 10


async def test_idempotent_path_never_duplicates(db: Database) -> None:
    model = ActivityWriteModel(db)
    batch = [message(i) for i in range(50)] + [MemberEventRecord(1, i, "join", NOW) for i in range(50)]
    await model.write(batch)
    with pytest.raises(DuplicateKeyError):
        await model.write(batch)  # the fast path refuses duplicates: nothing of the batch is stored
    await model.write([*batch, message(99)], idempotent=True)
    assert await count(db, "messages") == 51
    assert await count(db, "member_events") == 50


async def test_writer_retries_already_stored_records_exactly_once(db: Database) -> None:
    model = ActivityWriteModel(db)
    already = [message(i) for i in range(10)]
    await model.write(already)  # as if a previous attempt committed but its acknowledgement was lost
    writer = StorageWriter(model, settings=FAST)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        writer.submit_many([*already, message(10), message(11)])
        await writer.flush()
        nursery.cancel_scope.cancel()
    assert await count(db, "messages") == 12
    assert writer.stats().written == 12


async def test_poison_record_is_isolated_counted_and_logged(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    writer = StorageWriter(ActivityWriteModel(db), settings=FAST)
    good = [MemberEventRecord(1, i, "join", NOW) for i in range(20)]
    poison = MemberEventRecord(1, 999, "teleported", NOW)  # violates the kind CHECK constraint
    with caplog.at_level(logging.ERROR, logger="actors.storage_writer"):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer.run)
            writer.submit_many([*good[:7], poison, *good[7:]])
            await writer.flush()
            nursery.cancel_scope.cancel()
    assert await count(db, "member_events") == 20
    assert writer.stats().dropped == {"rejected": 1}
    assert any("rejected" in r.getMessage() for r in caplog.records)


async def test_full_buffer_drops_are_counted_logged_and_visible(
    db: Database, telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    writer = StorageWriter(
        ActivityWriteModel(db), settings=WriterSettings(max_buffered=10), telemetry=telemetry
    )
    with caplog.at_level(logging.ERROR, logger="actors.storage_writer"):
        accepted = [writer.submit(message(i)) for i in range(15)]  # flush loop not running: buffer fills
    assert accepted.count(True) == 10
    stats = writer.stats()
    assert stats.dropped == {"full": 5}
    assert stats.buffered == 10
    assert telemetry.counter("shard_storage_dropped_total", "", ("reason",)).value("full") == 5
    assert any("dropped" in r.getMessage() for r in caplog.records)
    assert writer.submit("not a record") is False  # type: ignore[arg-type]
    assert writer.stats().dropped["invalid"] == 1


async def test_close_counts_what_could_not_be_written(db: Database) -> None:
    writer = StorageWriter(ActivityWriteModel(db), settings=FAST)
    writer.submit_many([message(i) for i in range(3)])
    await writer.close(grace_seconds=0)  # no flush loop running: nothing can be written
    assert writer.stats().dropped == {"shutdown": 3}
    assert writer.submit(message(4)) is False


async def test_writer_actor_under_the_runtime(db: Database) -> None:
    writer = StorageWriter(ActivityWriteModel(db), settings=FAST)
    spec = SupervisorSpec(id="root", children=[storage_writer_child(writer)])
    async with open_runtime(spec) as runtime:
        ref = runtime.ref("root/storage")
        for i in range(100):
            ref.tell(message(i))
        stats = await ref.call(Flush(timeout=10), timeout=15)
        assert stats.written == 100
        again = await ref.call(GetStats(), timeout=5)
        assert again.buffered == 0
    assert await count(db, "messages") == 100


@pytest.fixture
def private_server() -> Iterator[EmbeddedPostgres]:
    # fsync off is safe against a *process* crash (the OS still has the data); synchronous_commit off is not
    # (acknowledged commits may still sit in WAL buffers), and this server is crashed on purpose.
    with server_directory() as data_dir:
        server = EmbeddedPostgres(data_dir, settings={"fsync": "off"}, announce=lambda message: None)
        server.start()
        try:
            server.ensure_database("shard")
            yield server
        finally:
            server.stop(mode="immediate")


@pytest.mark.slow
@pytest.mark.parametrize("stop_mode", ["fast", "immediate"])  # a clean shutdown, and a crash
async def test_outage_in_the_middle_of_a_write_stream_loses_and_duplicates_nothing(
    private_server: EmbeddedPostgres, stop_mode: str
) -> None:
    total = 6000
    async with trio_asyncio.open_loop():
        db = await connect_test_database(
            private_server.dsn("shard"), connect_timeout=2.0, command_timeout=5.0, max_size=2
        )
        try:
            await migrate(db)
            writer = StorageWriter(
                ActivityWriteModel(db),
                settings=WriterSettings(
                    max_batch=250, flush_interval=0.01, retry_initial=0.05, retry_max=0.3
                ),
            )
            saw_unavailable = False
            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer.run)
                for i in range(total):
                    assert writer.submit(MessageRecord(i + 1, 5, 7, NOW, guild_id=1, content=f"message {i}"))
                    if i % 100 == 0:
                        await trio.sleep(0.005)
                    if i == total // 3:
                        await trio.to_thread.run_sync(partial(private_server.stop, mode=stop_mode))
                        with pytest.raises(StorageUnavailable):
                            await db.fetchval("SELECT 1")  # commands see a clear error meanwhile
                        with pytest.raises(StorageUnavailable, match="unavailable"):
                            await db.fetchval("SELECT 1")  # (and at once, inside the grace period)
                        saw_unavailable = True
                    if i == 2 * total // 3:
                        assert not writer.stats().database_available
                        await trio.to_thread.run_sync(private_server.start)
                with trio.fail_after(60):
                    await writer.flush()
                nursery.cancel_scope.cancel()
            assert saw_unavailable
            rows = await db.fetchrow("SELECT count(*) AS n, count(DISTINCT message_id) AS d FROM messages")
            assert rows is not None
            assert (rows["n"], rows["d"]) == (total, total)
            stats = writer.stats()
            assert stats.written == total
            assert stats.retries >= 1
            assert stats.dropped == {}
            assert stats.database_available
        finally:
            await db.close()


async def test_gateway_dispatches_reach_the_tables_through_the_activity_listener(db: Database) -> None:
    from actors.storage_writer import activity_listener
    from protocol.gateway.frames import Frame

    writer = StorageWriter(ActivityWriteModel(db), settings=FAST)
    listen = activity_listener(writer)
    frames = [
        Frame(
            0, "GUILD_CREATE", 1, {"id": "1", "name": "Inn", "channels": [{"id": "51", "name": "general"}]}
        ),
        Frame(
            0,
            "MESSAGE_CREATE",
            2,
            {
                "id": "1300000000000000001",
                "channel_id": "51",
                "guild_id": "1",
                "author": {"id": "7", "username": "erin"},
                "content": "hello",
                "attachments": [{"id": "900", "filename": "a.png", "size": 3}],
            },
        ),
        Frame(
            0,
            "MESSAGE_REACTION_ADD",
            3,
            {
                "message_id": "1300000000000000001",
                "channel_id": "51",
                "user_id": "8",
                "guild_id": "1",
                "emoji": {"name": "x"},
            },
        ),
        Frame(0, "GUILD_MEMBER_ADD", 4, {"guild_id": "1", "user": {"id": "8", "username": "lyonette"}}),
        Frame(0, "TYPING_START", 5, {"channel_id": "51"}),
        Frame(0, "MESSAGE_CREATE", 6, {"id": "oops"}),  # malformed: skipped, never raises
    ]
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        for frame in frames:
            listen(frame)
        await writer.flush()
        nursery.cancel_scope.cancel()
    assert await db.fetchval("SELECT name FROM guilds WHERE guild_id = 1") == "Inn"
    assert await db.fetchval("SELECT content FROM messages") == "hello"
    assert await count(db, "attachments") == 1
    assert await count(db, "reactions") == 1
    assert await count(db, "member_events") == 1
    assert await db.fetchval("SELECT count(*) FROM users") == 2


async def test_storage_writer_fixture(storage_writer: StorageWriter, db: Database) -> None:
    storage_writer.submit_many([message(i) for i in range(3)])
    await storage_writer.flush()
    assert await count(db, "messages") == 3
