"""Migrations against the real server: pending/dry-run, checksum mismatch, rollback, newer database."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio_asyncio

from storage import Database, MigrationChecksumError, MigrationError
from storage.migrate import Migration, checksum, load_migrations, migrate, status
from tests.fixtures.storage import PgServer, connect_test_database


def extra(version: int, sql: str, name: str = "extra") -> Migration:
    return Migration(version, name, sql, checksum(sql))


async def test_template_database_is_fully_migrated(db: Database) -> None:
    current = await status(db)
    assert current.pending == []
    assert [m.version for m in current.applied] == [m.version for m in load_migrations()]
    assert await migrate(db) == []


async def test_pending_migration_dry_run_then_apply(db: Database) -> None:
    migrations = [*load_migrations(), extra(9001, "CREATE TABLE test_extra (id int PRIMARY KEY);")]
    planned = await migrate(db, migrations, dry_run=True)
    assert [m.version for m in planned] == [9001]
    assert await db.fetchval("SELECT to_regclass('test_extra')") is None

    applied = await migrate(db, migrations)
    assert [m.file_name for m in applied] == ["9001_extra.sql"]
    assert await db.fetchval("SELECT to_regclass('test_extra')::text") == "test_extra"
    recorded = await db.fetchval("SELECT checksum FROM schema_migrations WHERE version = 9001")
    assert recorded == migrations[-1].checksum
    assert await migrate(db, migrations) == []


async def test_edited_migration_is_a_clear_checksum_error(db: Database) -> None:
    migrations = load_migrations()
    tampered = attrs.evolve(migrations[1], sql=migrations[1].sql + "\n-- edited", checksum="0" * 64)
    with pytest.raises(MigrationChecksumError) as info:
        await migrate(db, [migrations[0], tampered, *migrations[2:]])
    message = str(info.value)
    assert migrations[1].file_name in message
    assert "modified after it was applied" in message


async def test_failing_migration_leaves_nothing_behind(db: Database) -> None:
    bad = extra(9002, "CREATE TABLE half_done (id int); SELECT no_such_function();", "broken")
    with pytest.raises(MigrationError, match=r"9002_broken\.sql"):
        await migrate(db, [*load_migrations(), bad])
    assert await db.fetchval("SELECT to_regclass('half_done')") is None
    assert await db.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 9002") == 0


async def test_database_newer_than_code_is_an_error(db: Database) -> None:
    with pytest.raises(MigrationError, match="newer version"):
        await migrate(db, load_migrations()[:-1])


async def test_concurrent_migrators_apply_once(db: Database) -> None:
    migrations = [*load_migrations(), extra(9003, "CREATE TABLE once_only (id int);")]
    results: list[list[Migration]] = []

    async def run() -> None:
        results.append(await migrate(db, migrations))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        nursery.start_soon(run)
    assert sorted(len(r) for r in results) == [0, 1]  # the second waits on the lock, then finds it done
    assert await db.fetchval("SELECT count(*) FROM schema_migrations WHERE version = 9003") == 1


async def test_concurrent_first_migrations_of_an_empty_database(pg_server: PgServer) -> None:
    name = pg_server.create_database(template="template0")
    try:
        async with trio_asyncio.open_loop():
            dbs = [await connect_test_database(pg_server.dsn(name)) for _ in range(3)]
            results: list[int] = []

            async def run(db: Database) -> None:
                results.append(len(await migrate(db)))

            try:
                async with trio.open_nursery() as nursery:
                    for db in dbs:
                        nursery.start_soon(run, db)
                assert sum(results) == len(load_migrations())  # each migration applied exactly once
                assert (await status(dbs[0])).pending == []
            finally:
                for db in dbs:
                    await db.close()
    finally:
        pg_server.release_database(name)
