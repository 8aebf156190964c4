"""The storage benchmark scenarios, each measured against a plain asyncio/asyncpg baseline in the same run.

1. **Write throughput.** Rows/s of message records through `StorageWriter` (trio, trio-asyncio bridge,
   batching, one transaction per batch, COPY) vs a plain asyncpg ``copy_records_to_table`` loop on asyncio
   with the same batch size, into the same table on the same server. The target is the writer within 1.5x.
   Both sides get pre-built inputs (record objects for the writer, tuples for the baseline): turning records
   into rows is the writer's work and is counted against it.
2. **Bridged query latency.** Sequential ``SELECT 1`` through `Database.fetchval` (trio -> trio-asyncio ->
   asyncpg pool) vs asyncpg's pool ``fetchval`` on a native asyncio loop with the same pool settings; the
   difference is the bridge's cost. asyncpg's default pool (which resets each connection on release, one more
   round trip) is measured too, as the figure a plain asyncpg user would see.

The two sides run one after the other in the same process, alternating across repeats, so background noise
hits both alike; medians are reported. Besides wall-clock figures, each side's client CPU time per row/query
is reported: on a loaded machine wall time is dominated by scheduling waits, CPU time is not.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import attrs
import trio
import trio_asyncio

from actors.storage_writer import StorageWriter, WriterSettings
from storage.database import Database, PoolSettings
from storage.repositories.activity import ActivityWriteModel, MessageRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@attrs.frozen(slots=True)
class Measurement:
    """A wall-clock figure and the benchmark process's own CPU time per unit (row or query), in µs.

    The CPU figure is what the client side costs, independent of how long the server or the machine's
    scheduler made us wait: on a shared, loaded machine it is the steadier number for comparing clients."""

    value: float
    client_cpu_us: float


COLUMNS = (
    "message_id",
    "guild_id",
    "channel_id",
    "author_id",
    "created_at",
    "content",
    "is_bot",
    "reference_id",
    "attachment_count",
    "embed_count",
    "mention_count",
)


def make_records(rows: int, first_id: int) -> list[MessageRecord]:
    return [
        MessageRecord(
            message_id=first_id + i,
            channel_id=1000 + i % 50,
            author_id=5000 + i % 700,
            created_at=NOW,
            guild_id=1,
            content=f"message number {i} with some ordinary chat text in it",
        )
        for i in range(rows)
    ]


def make_tuples(rows: int, first_id: int) -> list[tuple[Any, ...]]:
    return [
        (
            first_id + i,
            1,
            1000 + i % 50,
            5000 + i % 700,
            NOW,
            f"message number {i} with some ordinary chat text in it",
            False,
            None,
            0,
            0,
            0,
        )
        for i in range(rows)
    ]


async def _truncate_asyncio(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("TRUNCATE messages CASCADE")
    finally:
        await connection.close()


def baseline_copy_rows_per_s(dsn: str, rows: Sequence[tuple[Any, ...]], batch: int) -> Measurement:
    """Plain asyncio + asyncpg: one connection, ``copy_records_to_table`` per batch."""

    async def main() -> Measurement:
        await _truncate_asyncio(dsn)
        connection = await asyncpg.connect(dsn)
        try:
            started, cpu = time.perf_counter(), time.process_time()
            for start in range(0, len(rows), batch):
                await connection.copy_records_to_table(
                    "messages", records=rows[start : start + batch], columns=COLUMNS
                )
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            stored = await connection.fetchval("SELECT count(*) FROM messages")
            assert stored == len(rows), stored
            return Measurement(len(rows) / elapsed, cpu / len(rows) * 1e6)
        finally:
            await connection.close()

    return asyncio.run(main())


def writer_rows_per_s(dsn: str, records: Sequence[MessageRecord], batch: int) -> Measurement:
    """Records submitted to `StorageWriter` until `flush()` returns, on trio with the bridged pool."""

    async def main() -> Measurement:
        async with trio_asyncio.open_loop() as loop:
            db = await Database.connect(dsn, loop=loop, settings=PoolSettings(min_size=1, max_size=2))
            try:
                await db.execute("TRUNCATE messages CASCADE")
                writer = StorageWriter(
                    ActivityWriteModel(db),
                    settings=WriterSettings(
                        max_batch=batch, max_buffered=len(records) + 1, flush_interval=0.005
                    ),
                )
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(writer.run)
                    started, cpu = time.perf_counter(), time.process_time()
                    for start in range(0, len(records), batch):
                        for record in records[start : start + batch]:
                            writer.submit(record)
                        await trio.lowlevel.checkpoint()
                    await writer.flush()
                    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                    nursery.cancel_scope.cancel()
                stored = await db.fetchval("SELECT count(*) FROM messages")
                assert stored == len(records), stored
                assert writer.stats().dropped == {}
                return Measurement(len(records) / elapsed, cpu / len(records) * 1e6)
            finally:
                await db.close()

    return trio.run(main)


def native_fetchval_us(dsn: str, calls: int, *, same_pool_settings: bool = True) -> Measurement:
    """asyncpg's pool on plain asyncio. With ``same_pool_settings`` it uses the release hook `Database`
    uses (no per-release session reset), so the difference to `bridged_fetchval_us` is the bridge alone;
    without, asyncpg's defaults (one extra round trip per call for the reset)."""

    async def keep_session(connection: asyncpg.Connection) -> None:
        return None

    async def main() -> Measurement:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=2, reset=keep_session if same_pool_settings else None
        )
        try:
            for _ in range(50):
                await pool.fetchval("SELECT 1")
            started, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                await pool.fetchval("SELECT 1")
            return Measurement(
                (time.perf_counter() - started) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6
            )
        finally:
            await pool.close()

    return asyncio.run(main())


def bridged_fetchval_us(dsn: str, calls: int) -> Measurement:
    async def main() -> Measurement:
        async with trio_asyncio.open_loop() as loop:
            db = await Database.connect(dsn, loop=loop, settings=PoolSettings(min_size=1, max_size=2))
            try:
                for _ in range(50):
                    await db.fetchval("SELECT 1")
                started, cpu = time.perf_counter(), time.process_time()
                for _ in range(calls):
                    await db.fetchval("SELECT 1")
                return Measurement(
                    (time.perf_counter() - started) / calls * 1e6, (time.process_time() - cpu) / calls * 1e6
                )
            finally:
                await db.close()

    return trio.run(main)
