"""Mirror upserts (users, channels, ...) through both write paths: a few rows pipelined in one round trip,
many through the staging table. Either way the last write per key wins, ``updated_at`` moves, and retrying a
batch changes nothing."""

from __future__ import annotations

import asyncpg
import pytest

from storage.database import Database
from storage.repositories.activity import PIPELINED_UPSERT_ROWS, ActivityWriteModel, ChannelRecord, UserRecord

SIZES = {"pipelined": 3, "staged": PIPELINED_UPSERT_ROWS + 5}


async def _users(db: Database) -> dict[int, tuple[str, str | None, bool]]:
    rows = await db.fetch("SELECT user_id, username, global_name, is_bot FROM users ORDER BY user_id")
    return {r["user_id"]: (r["username"], r["global_name"], r["is_bot"]) for r in rows}


@pytest.mark.parametrize("path", sorted(SIZES))
async def test_last_write_wins_per_key_and_updated_at_moves(db: Database, path: str) -> None:
    count = SIZES[path]
    writer = ActivityWriteModel(db)
    await writer.write([UserRecord(n, f"user{n}") for n in range(1, count + 1)])
    first = {r["user_id"]: r["updated_at"] for r in await db.fetch("SELECT user_id, updated_at FROM users")}
    assert len(first) == count

    # a later batch renames everyone; inside the batch, the last record per key is the one that counts
    batch = [UserRecord(n, f"old{n}") for n in range(1, count + 1)]
    batch += [UserRecord(n, f"new{n}", global_name="G", is_bot=n == 1) for n in range(1, count + 1)]
    await writer.write(batch)
    users = await _users(db)
    assert users == {n: (f"new{n}", "G", n == 1) for n in range(1, count + 1)}
    later = {r["user_id"]: r["updated_at"] for r in await db.fetch("SELECT user_id, updated_at FROM users")}
    assert all(later[n] >= first[n] for n in first)

    # a retry of the same batch (the idempotent path after an ambiguous failure) changes nothing
    await writer.write(batch, idempotent=True)
    assert await _users(db) == users


@pytest.mark.parametrize("path", sorted(SIZES))
async def test_a_bad_row_fails_the_whole_batch(db: Database, path: str) -> None:
    count = SIZES[path]
    writer = ActivityWriteModel(db)
    good = [ChannelRecord(100 + n, 1, f"channel-{n}", 0) for n in range(count - 1)]
    bad = ChannelRecord(999, 1, "x" * 10, 0, position=2**40)  # position is an int4 column
    with pytest.raises((asyncpg.DataError, OverflowError), match=r"value out of int32 range"):
        await writer.write([*good, bad])
    assert await db.fetchval("SELECT count(*) FROM channels") == 0  # one transaction: nothing of it stored
