"""The storage writer's decisions under MockClock, against an in-memory sink that keeps the database's
contract: a plain write of an existing key fails with a duplicate-key error and stores nothing; an idempotent
write skips existing keys. (The same behaviours run against the real server in tests/integration/storage.)"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.storage_writer import StorageWriter, WriterSettings, WriterStats
from storage import StorageUnavailable
from storage.repositories.activity import ActivityRecord, MemberEventRecord

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def event(i: int) -> MemberEventRecord:
    return MemberEventRecord(guild_id=1, user_id=i, kind="join", created_at=NOW)


class InMemorySink:
    def __init__(self) -> None:
        self.stored: dict[object, ActivityRecord] = {}
        self.calls: list[tuple[int, bool, float]] = []  # (records, idempotent, time)
        self.fail_next = 0
        self.commit_then_fail = 0
        self.block = False

    async def write(self, records: Iterable[ActivityRecord], *, idempotent: bool = False) -> int:
        batch = list(records)
        self.calls.append((len(batch), idempotent, trio.current_time()))
        if self.block:
            await trio.sleep_forever()
        if self.fail_next:
            self.fail_next -= 1
            raise StorageUnavailable("database unavailable: connection refused")
        keys = [getattr(r, "event_id", None) for r in batch]
        if not idempotent and any(k in self.stored for k in keys):
            raise asyncpg.exceptions.UniqueViolationError("duplicate key")
        for key, record in zip(keys, batch, strict=True):
            self.stored.setdefault(key, record)
        if self.commit_then_fail:
            self.commit_then_fail -= 1
            raise StorageUnavailable("connection lost during COMMIT")
        return len(batch)


async def test_backoff_grows_is_capped_and_everything_lands_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink = InMemorySink()
    sink.fail_next = 6
    settings = WriterSettings(max_batch=10, flush_interval=0.1, retry_initial=0.5, retry_max=4.0)
    writer = StorageWriter(sink, settings=settings)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        writer.submit_many(event(i) for i in range(25))
        await writer.flush()
        nursery.cancel_scope.cancel()
    assert len(sink.stored) == 25
    times = [t for _, _, t in sink.calls]
    gaps = [b - a for a, b in itertools.pairwise(times[:7])]
    caps = [min(4.0, 0.5 * 2**i) for i in range(6)]
    assert all(cap / 2 <= gap <= cap + 1e-9 for gap, cap in zip(gaps, caps, strict=True)), gaps
    assert all(idempotent for _, idempotent, _ in sink.calls[1:7])  # every retry takes the safe path
    stats = writer.stats()
    assert (stats.retries, stats.written, stats.dropped, stats.database_available) == (6, 25, {}, True)


async def test_ambiguous_commit_is_not_written_twice(autojump_clock: trio.testing.MockClock) -> None:
    sink = InMemorySink()
    sink.commit_then_fail = 1
    writer = StorageWriter(sink, settings=WriterSettings(max_batch=100, flush_interval=0.01))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        writer.submit_many(event(i) for i in range(10))
        await writer.flush()
        nursery.cancel_scope.cancel()
    assert len(sink.stored) == 10
    assert [idempotent for _, idempotent, _ in sink.calls] == [False, True]
    assert writer.stats().written == 10


async def test_partial_batch_waits_for_the_flush_interval(mock_clock: trio.testing.MockClock) -> None:
    sink = InMemorySink()
    writer = StorageWriter(sink, settings=WriterSettings(max_batch=100, flush_interval=0.5))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        await trio.testing.wait_all_tasks_blocked()
        writer.submit(event(1))
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(0.4)
        await trio.testing.wait_all_tasks_blocked()
        assert sink.calls == []
        mock_clock.jump(0.11)
        await trio.testing.wait_all_tasks_blocked()
        assert len(sink.calls) == 1
        # a full batch goes at once, without waiting for the interval
        writer.submit_many(event(i) for i in range(100, 200))
        await trio.testing.wait_all_tasks_blocked()
        assert len(sink.calls) == 2 and sink.calls[1][0] == 100
        nursery.cancel_scope.cancel()


async def test_cancelled_write_keeps_its_records_for_the_next_run(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink = InMemorySink()
    sink.block = True
    writer = StorageWriter(sink, settings=WriterSettings(max_batch=5, flush_interval=0.01))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        writer.submit_many(event(i) for i in range(12))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()  # e.g. the actor is restarted mid-write
    assert writer.stats().buffered == 12
    sink.block = False
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        await writer.flush()
        nursery.cancel_scope.cancel()
    assert len(sink.stored) == 12
    assert sink.calls[1][1] is True  # the interrupted batch is retried on the idempotent path


class ScriptedSink(InMemorySink):
    """Fails according to a script: 'ok', 'down' (fails before writing), 'lost' (commits, then the
    acknowledgement is lost), 'reject' (a record the database refuses: user_id 13 is 'poison')."""

    def __init__(self, script: list[str]) -> None:
        super().__init__()
        self.script = script

    async def write(self, records: Iterable[ActivityRecord], *, idempotent: bool = False) -> int:
        batch = list(records)
        if any(getattr(r, "user_id", None) == 13 for r in batch):
            raise ValueError("violates check constraint")
        step = self.script.pop(0) if self.script else "ok"
        if step == "down":
            self.calls.append((len(batch), idempotent, trio.current_time()))
            raise StorageUnavailable("down")
        if step == "lost":
            self.commit_then_fail = 1
        return await super().write(batch, idempotent=idempotent)


@settings(max_examples=60, deadline=None)
@given(
    script=st.lists(st.sampled_from(["ok", "down", "lost"]), max_size=12),
    sizes=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=6),
    max_batch=st.integers(min_value=1, max_value=16),
    with_poison=st.booleans(),
)
def test_every_record_lands_exactly_once_whatever_fails(
    script: list[str], sizes: list[int], max_batch: int, with_poison: bool
) -> None:
    sink = ScriptedSink(list(script))
    writer = StorageWriter(
        sink, settings=WriterSettings(max_batch=max_batch, flush_interval=0.05, retry_max=1.0)
    )
    submitted: list[MemberEventRecord] = []
    final: list[WriterStats] = []

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer.run)
            user = 100
            for size in sizes:
                for _ in range(size):
                    record = event(user)
                    user += 1
                    submitted.append(record)
                    writer.submit(record)
                await trio.sleep(0.01)
            if with_poison:
                writer.submit(event(13))
            await writer.flush()
            final.append(writer.stats())
            nursery.cancel_scope.cancel()

    trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))
    stored_users = sorted(r.user_id for r in sink.stored.values() if isinstance(r, MemberEventRecord))
    assert stored_users == sorted(r.user_id for r in submitted)
    assert len(sink.stored) == len(submitted)  # exactly once: keyed store, no duplicate ids possible
    [stats] = final
    assert stats.written == len(submitted)
    assert stats.dropped == ({"rejected": 1} if with_poison else {})


async def test_a_schema_or_code_error_keeps_the_records(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenOnceSink(InMemorySink):
        broken = True

        async def write(self, records: Iterable[ActivityRecord], *, idempotent: bool = False) -> int:
            if self.broken:
                self.broken = False
                raise asyncpg.exceptions.UndefinedTableError('relation "member_events" does not exist')
            return await super().write(records, idempotent=idempotent)

    sink = BrokenOnceSink()
    writer = StorageWriter(sink, settings=WriterSettings(max_batch=50, flush_interval=0.01))
    with caplog.at_level("ERROR", logger="actors.storage_writer"):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer.run)
            writer.submit_many(event(i) for i in range(30))
            await writer.flush()
            stats = writer.stats()
            nursery.cancel_scope.cancel()
    assert len(sink.stored) == 30
    assert (stats.dropped, stats.retries) == ({}, 1)
    assert stats.last_error is not None and "does not exist" in stats.last_error
    assert any("keeping the records" in r.getMessage() for r in caplog.records)


async def test_submit_many_takes_a_batch_whole_or_counts_each_drop_with_its_reason(
    autojump_clock: trio.testing.MockClock,
) -> None:
    sink = InMemorySink()
    writer = StorageWriter(sink, settings=WriterSettings(max_buffered=10, max_batch=4, flush_interval=60.0))
    assert writer.submit_many([]) == 0
    assert writer.submit_many([event(i) for i in range(3)]) == 3  # fits: taken whole
    # a known record among unknown objects: the known one is kept, the other dropped as invalid
    assert writer.submit_many([event(3), "not a record"]) == 1  # type: ignore[list-item]
    # only six of eight fit: six kept, two dropped as "full"
    assert writer.submit_many(event(i) for i in range(4, 12)) == 6
    stats = writer.stats()
    assert stats.buffered == 10 and stats.accepted == 10
    assert stats.dropped == {"invalid": 1, "full": 2}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        await writer.flush()
        nursery.cancel_scope.cancel()
    stored = [r for r in sink.stored.values() if isinstance(r, MemberEventRecord)]
    assert sorted(r.user_id for r in stored) == list(range(10)) and len(sink.stored) == 10
    await writer.close()
    assert writer.submit_many([event(99)]) == 0
    assert writer.stats().dropped["closed"] == 1


async def test_a_batch_that_crosses_max_batch_starts_a_flush_at_once(
    mock_clock: trio.testing.MockClock,
) -> None:
    sink = InMemorySink()
    writer = StorageWriter(sink, settings=WriterSettings(max_batch=4, flush_interval=60.0))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        await trio.testing.wait_all_tasks_blocked()
        writer.submit_many([event(0), event(1)])
        await trio.testing.wait_all_tasks_blocked()
        assert sink.calls == []  # under max_batch: waits for the flush interval
        writer.submit_many([event(2), event(3), event(4)])  # 2 -> 5 records: past max_batch in one step
        await trio.testing.wait_all_tasks_blocked()
        assert sink.calls and sink.calls[0][2] == 0.0  # written without waiting for the interval
        nursery.cancel_scope.cancel()
