"""The Database interface against the real embedded server: queries, transactions, COPY, metrics, errors."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
import trio
import trio_asyncio

from storage import Database, QueryTimeout, StorageUnavailable
from storage.database import COPY_ROWS_PER_STEP, _in_slices
from supervision.telemetry import Telemetry
from tests.fixtures.storage import connect_test_database


async def test_query_methods_round_trip(db: Database) -> None:
    assert await db.fetchval("SELECT 1 + 1") == 2
    status = await db.execute(
        "INSERT INTO audit_log (guild_id, actor_id, action, details) VALUES ($1, $2, $3, $4)",
        10,
        20,
        "settings.update",
        {"field": "admin_role_id", "nested": [1, 2]},
    )
    assert status == "INSERT 0 1"
    row = await db.fetchrow("SELECT actor_id, details FROM audit_log WHERE guild_id = $1", 10)
    assert row is not None
    assert row["actor_id"] == 20
    assert row["details"] == {"field": "admin_role_id", "nested": [1, 2]}
    await db.executemany(
        "INSERT INTO guild_counters (guild_id, name, value) VALUES ($1, $2, $3)",
        [(1, "a", 1), (1, "b", 2)],
    )
    rows = await db.fetch("SELECT name, value FROM guild_counters ORDER BY name")
    assert [(r["name"], r["value"]) for r in rows] == [("a", 1), ("b", 2)]


async def test_copy_returns_row_count(db: Database) -> None:
    copied = await db.copy(
        "guild_counters", [(7, f"n{i}", i) for i in range(500)], columns=["guild_id", "name", "value"]
    )
    assert copied == 500
    assert await db.fetchval("SELECT sum(value) FROM guild_counters WHERE guild_id = 7") == sum(range(500))


async def test_a_large_copy_is_still_all_or_nothing(db: Database) -> None:
    rows = [(9, f"n{i}", i) for i in range(3 * COPY_ROWS_PER_STEP)]
    rows.append((9, "bad", "not a number"))  # fails to encode in the last slice
    with pytest.raises(Exception, match="int"):
        await db.copy("guild_counters", iter(rows), columns=["guild_id", "name", "value"])
    assert await db.fetchval("SELECT count(*) FROM guild_counters WHERE guild_id = 9") == 0


def test_copy_slices_yield_to_the_event_loop_between_slices() -> None:
    async def scenario() -> tuple[int, list[int]]:
        seen: list[int] = []
        consumed = 0
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                seen.append(consumed)
                await asyncio.sleep(0)

        ticking = asyncio.ensure_future(ticker())
        await asyncio.sleep(0)
        async for _row in _in_slices((i,) for i in range(4 * COPY_ROWS_PER_STEP)):
            consumed += 1
        ticking.cancel()
        return ticks, seen

    ticks, seen = asyncio.run(scenario())
    # The ticker ran after every slice, and never saw a slice half consumed.
    assert ticks >= 4
    assert {n for n in seen if n} <= {k * COPY_ROWS_PER_STEP for k in range(1, 5)}
    assert len({n for n in seen if n}) >= 3


async def test_transaction_commits_and_rolls_back(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO guild_counters VALUES (1, 'kept', 1)")
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO guild_counters VALUES (1, 'dropped', 1)")
            raise RuntimeError("boom")
    names = [r["name"] for r in await db.fetch("SELECT name FROM guild_counters")]
    assert names == ["kept"]


async def test_sql_errors_propagate_unchanged(db: Database, telemetry: Telemetry) -> None:
    with pytest.raises(asyncpg.exceptions.UndefinedTableError):
        await db.fetch("SELECT * FROM no_such_table")
    queries = telemetry.counter("shard_db_queries_total", "", ("op", "outcome"))
    assert queries.value("fetch", "error") == 1


async def test_concurrent_queries_from_many_trio_tasks(db: Database) -> None:
    results: list[int] = []

    async def one(i: int) -> None:
        results.append(await db.fetchval("SELECT $1::int * 2", i))

    async with trio.open_nursery() as nursery:
        for i in range(50):
            nursery.start_soon(one, i)
    assert sorted(results) == [i * 2 for i in range(50)]
    assert db.pool_stats().size <= db.pool_stats().max_size


async def test_metrics_and_pool_gauges(db: Database, telemetry: Telemetry) -> None:
    await db.fetchval("SELECT 1")
    queries = telemetry.counter("shard_db_queries_total", "", ("op", "outcome"))
    assert queries.value("fetchval", "ok") >= 1
    histogram = telemetry.histogram("shard_db_query_seconds", "", ("op",))
    assert histogram.labels("fetchval").n >= 1
    assert telemetry.gauge("shard_db_pool_size", "").value() >= 1


async def test_slow_query_is_logged(pg_dsn: str, caplog: pytest.LogCaptureFixture) -> None:
    async with trio_asyncio.open_loop():
        db = await connect_test_database(pg_dsn, slow_query_seconds=0.0)
        try:
            with caplog.at_level("WARNING", logger="storage.database"):
                await db.fetchval("SELECT 42 AS answer")
        finally:
            await db.close()
    messages = [r.getMessage() for r in caplog.records]
    assert any("slow query: fetchval took" in m and "SELECT 42 AS answer" in m for m in messages)


async def test_exhausted_pool_is_a_timeout_not_a_hang(pg_dsn: str) -> None:
    async with trio_asyncio.open_loop():
        db = await connect_test_database(pg_dsn, max_size=1, acquire_timeout=0.2, command_timeout=0.3)
        try:
            async with db.transaction() as tx:  # holds the only connection
                await tx.execute("SELECT 1")
                with pytest.raises(QueryTimeout):
                    await db.fetchval("SELECT 2")
            assert await db.fetchval("SELECT 3") == 3  # and the pool recovers
        finally:
            await db.close()


async def test_statement_timeout_maps_to_query_timeout(pg_dsn: str) -> None:
    async with trio_asyncio.open_loop():
        db = await connect_test_database(pg_dsn, statement_timeout=0.2)
        try:
            with pytest.raises(QueryTimeout):
                await db.fetchval("SELECT pg_sleep(5)")
        finally:
            await db.close()


async def test_unreachable_server_is_storage_unavailable() -> None:
    async with trio_asyncio.open_loop() as loop:
        with pytest.raises(StorageUnavailable) as info:
            await Database.connect(
                "postgresql://bot:hunter2@/shard?host=/nonexistent-socket-dir&port=5432", loop=loop
            )
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)
