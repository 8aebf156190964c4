"""The storage writer: listener writes (message stats, reactions, joins, command history) batched into
PostgreSQL, bounded, surviving database outages, exactly once.

Why a separate writer instead of each listener awaiting its INSERT: a listener runs inside a guild actor on
the gateway's hot path; it must never wait for the database, and thousands of single-row INSERTs cost far
more than one COPY of thousands of rows. So listeners hand records over (``ref.tell(record)`` or
``writer.submit(record)``, both non-blocking) and this writer owns everything after that:

* **Batching.** A flush loop writes up to ``max_batch`` records per transaction, as soon as a full batch is
  buffered or ``flush_interval`` after the oldest buffered record — throughput under load, bounded delay
  when quiet. The write itself is `storage.repositories.activity.ActivityWriteModel` (binary COPY).
* **Bounded.** The buffer holds at most ``max_buffered`` records. When it is full, new records are dropped —
  never silently: every drop is counted (``shard_storage_dropped_total{reason}``, `stats()` for the health
  report) and logged (the first of an episode at once, then a summary at most every ``drop_log_interval``).
* **Outages.** A batch that fails because the database is unavailable (or timed out) stays at the head of
  the queue and is retried with exponential backoff and full jitter; meanwhile new records keep buffering
  up to the bound. When the database is back, everything buffered is flushed in order.
* **Exactly once.** A failure can be ambiguous (the connection dropped while COMMIT was in flight: did it
  commit?). Every record carries a key that exists before the write (a snowflake or a uuid made by the bot),
  and every retry uses the model's *idempotent* path (COPY into a staging table, then
  ``INSERT ... ON CONFLICT DO NOTHING``), so a retried batch cannot store a row twice. The first attempt uses
  the plain COPY, which is the fast path in the common case.
* **Poison records.** If the database *rejects* a batch's data (a constraint or value error), the batch is
  split in halves until the offending record is isolated; that one record is dropped with reason
  ``rejected`` (counted and logged with its type), the rest are written. Any other failure (a missing table,
  a bug) is not the data's fault: the records are kept and retried like an outage, never dropped for it.
  Drop log lines are rate-limited per reason (``drop_log_interval``); the counters are exact.
* **Restarts and shutdown.** The buffer lives in `StorageWriter`, created once by the application and given
  to the actor's factory, so a crash of the actor loses nothing buffered; a batch cancelled mid-write goes
  back to the head of the buffer (marked for the idempotent path). On a graceful stop the actor flushes for
  up to ``shutdown_flush_timeout``; whatever still cannot be written is counted as dropped (``shutdown``).

Time comes from `trio.current_time`/`trio.sleep`, so backoff and flush intervals run under MockClock.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol, get_args

import asyncpg
import attrs
import trio

from protocol.gateway.frames import Frame
from storage.capture import ActivityCapture
from storage.errors import QueryTimeout, StorageUnavailable
from storage.repositories.activity import ActivityRecord, DuplicateKeyError
from supervision import ActorContext, ChildSpec, MailboxSpec, Overflow, Restart
from supervision.telemetry import Telemetry

logger = logging.getLogger(__name__)

#: The record types `ActivityRecord` names (one list to keep in sync: the union in the repository).
ACCEPTED_RECORDS: frozenset[type] = frozenset(get_args(ActivityRecord))

#: Outages, timeouts, and conflicts with concurrent transactions (SQLSTATE class 40: deadlock, serialization).
_RETRYABLE = (StorageUnavailable, QueryTimeout, OSError, asyncpg.exceptions.TransactionRollbackError)
#: The data itself is refused (constraint or value errors, or a value the driver cannot encode): isolate it.
_POISON = (
    asyncpg.exceptions.IntegrityConstraintViolationError,
    asyncpg.exceptions.DataError,
    ValueError,
    TypeError,
    OverflowError,
)
_jitter = random.Random()  # noqa: S311 - backoff jitter, not cryptography


class BatchSink(Protocol):
    """Where batches go: `ActivityWriteModel` in production (and in the tests; it needs a real database)."""

    async def write(self, records: Iterable[ActivityRecord], *, idempotent: bool = False) -> int: ...


@attrs.frozen(slots=True)
class WriterSettings:
    max_batch: int = 2000
    max_buffered: int = 200_000
    flush_interval: float = 0.5
    retry_initial: float = 0.25
    retry_max: float = 15.0
    shutdown_flush_timeout: float = 10.0
    drop_log_interval: float = 10.0


@attrs.frozen(slots=True)
class WriterStats:
    """The writer's state for the health report and ``shard db status``."""

    buffered: int
    capacity: int
    accepted: int
    written: int
    dropped: dict[str, int]
    batches: int
    retries: int
    database_available: bool
    failing_for: float | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


class StorageWriter:
    """Buffer + flush loop (see the module docstring). ``submit`` is sync and never blocks."""

    def __init__(
        self, sink: BatchSink, *, settings: WriterSettings | None = None, telemetry: Telemetry | None = None
    ) -> None:
        self._sink = sink
        self.settings = settings or WriterSettings()
        telemetry = telemetry or Telemetry()
        self._dropped_metric = telemetry.counter(
            "shard_storage_dropped_total", "Records the storage writer could not store.", ("reason",)
        )
        self._written_metric = telemetry.counter("shard_storage_written_total", "Records stored.")
        self._batches_metric = telemetry.counter(
            "shard_storage_batches_total", "Batch write attempts by outcome.", ("outcome",)
        )
        self._buffered_metric = telemetry.gauge("shard_storage_buffered", "Records waiting to be written.")
        self._available_metric = telemetry.gauge(
            "shard_storage_available", "1 while the storage writer can reach the database."
        )
        self._batch_seconds = telemetry.histogram("shard_storage_batch_seconds", "Batch write latency.")
        self._buffer: deque[ActivityRecord] = deque()
        self._wake = trio.Event()
        self._oldest_at = 0.0
        self._accepted = 0
        self._done = 0  # records written or dropped after acceptance (flush waits on this)
        self._written = 0
        self._batches = 0
        self._retries = 0
        self._dropped: dict[str, int] = {}
        self._flush_waiters: list[tuple[int, trio.Event]] = []
        self._resume_idempotent = False
        self._closed = False
        self._failing_since: float | None = None
        self._last_error: str | None = None
        self._drops_unlogged: dict[str, int] = {}
        self._last_drop_log: dict[str, float] = {}
        self._available_metric.set(1)

    # -- intake ---------------------------------------------------------------------------------------

    def submit(self, record: ActivityRecord) -> bool:
        """Queue ``record``; False (counted and logged) if the buffer is full or the record unknown."""
        if self._closed:
            self._drop("closed", 1, "submitted after shutdown")
            return False
        if type(record) not in ACCEPTED_RECORDS:
            self._drop("invalid", 1, f"not an activity record: {type(record).__name__}")
            return False
        buffer = self._buffer
        if len(buffer) >= self.settings.max_buffered:
            self._drop("full", 1, "buffer full")
            return False
        if not buffer:
            self._oldest_at = trio.current_time()
            self._wake.set()
        buffer.append(record)
        self._accepted += 1
        if len(buffer) == self.settings.max_batch:
            self._wake.set()
        return True

    def submit_many(self, records: Iterable[ActivityRecord]) -> int:
        """Queue several records (one event's: a message and its author, a guild's channels and roles);
        returns how many were accepted.

        When every record is of a known type and all of them fit, the batch goes in with one check and one
        ``extend`` (a 2,500-guild start-up submits ~80,000 mirror records, the interaction path two per
        echoed message); otherwise record by record, so each drop is counted with its own reason.
        """
        batch = records if isinstance(records, list) else list(records)
        buffer = self._buffer
        before = len(buffer)
        if (
            not self._closed
            and before + len(batch) <= self.settings.max_buffered
            and ACCEPTED_RECORDS.issuperset(map(type, batch))
        ):
            if not batch:
                return 0
            if not before:
                self._oldest_at = trio.current_time()
                self._wake.set()
            buffer.extend(batch)
            self._accepted += len(batch)
            if before < self.settings.max_batch <= len(buffer):
                self._wake.set()
            return len(batch)
        return sum(1 for record in batch if self.submit(record))

    async def flush(self) -> None:
        """Wait until every record accepted before this call is written (or dropped)."""
        target = self._accepted
        if self._done >= target:
            return
        event = trio.Event()
        self._flush_waiters.append((target, event))
        self._wake.set()
        await event.wait()

    async def close(self, grace_seconds: float | None = None) -> None:
        """Flush for up to ``grace_seconds`` (default: the settings'); count whatever is left as dropped
        (reason ``shutdown``). Records submitted afterwards are dropped (reason ``closed``)."""
        grace = self.settings.shutdown_flush_timeout if grace_seconds is None else grace_seconds
        with trio.move_on_after(grace):
            await self.flush()
        self._closed = True
        left = self._accepted - self._done  # buffered plus any batch still in flight
        self._buffer.clear()
        if left > 0:
            self._drop("shutdown", left, "not written before shutdown")
            self._mark_done(left)

    def stats(self) -> WriterStats:
        now = trio.current_time()
        return WriterStats(
            buffered=len(self._buffer),
            capacity=self.settings.max_buffered,
            accepted=self._accepted,
            written=self._written,
            dropped=dict(self._dropped),
            batches=self._batches,
            retries=self._retries,
            database_available=self._failing_since is None,
            failing_for=None if self._failing_since is None else now - self._failing_since,
            last_error=self._last_error,
        )

    # -- the flush loop -------------------------------------------------------------------------------

    async def run(self) -> None:
        """Write batches forever (run it as a task; cancel it to stop)."""
        settings = self.settings
        buffer = self._buffer
        while True:
            self._buffered_metric.set(len(buffer))
            while not buffer:
                await self._wait_wake()
            deadline = self._oldest_at + settings.flush_interval
            while (
                len(buffer) < settings.max_batch
                and not self._flush_waiters
                and trio.current_time() < deadline
            ):
                with trio.move_on_at(deadline):
                    await self._wait_wake()
            batch = [buffer.popleft() for _ in range(min(settings.max_batch, len(buffer)))]
            if buffer:
                self._oldest_at = trio.current_time() - settings.flush_interval  # the rest is overdue too
            await self._write(batch)

    async def _wait_wake(self) -> None:
        await self._wake.wait()
        self._wake = trio.Event()

    async def _write(self, batch: list[ActivityRecord]) -> None:
        pending: deque[list[ActivityRecord]] = deque([batch])
        idempotent = self._resume_idempotent
        attempt = 0
        try:
            while pending:
                part = pending[0]
                started = trio.current_time()
                try:
                    await self._sink.write(part, idempotent=idempotent)
                except DuplicateKeyError:
                    self._batches_metric.inc("duplicate")
                    idempotent = True  # a retried record was already stored: merge instead of COPY
                    continue
                except _RETRYABLE as exc:
                    self._batches_metric.inc("unavailable")
                    idempotent = True  # the failed attempt may have committed
                    attempt += 1
                    self._retries += 1
                    self._note_failure(exc)
                    await trio.sleep(self._backoff(attempt))
                    continue
                except _POISON as exc:
                    idempotent = True
                    self._isolate_poison(pending, exc)
                    continue
                except Exception as exc:
                    # Not the data and not an outage: a schema or programming error (e.g. the table is
                    # missing). Dropping would lose every record for a bug, so keep them and retry slowly;
                    # the state is visible in stats().last_error and the log.
                    self._batches_metric.inc("error")
                    idempotent = True
                    attempt += 1
                    self._retries += 1
                    self._note_failure(exc, unexpected=True)
                    await trio.sleep(self._backoff(attempt))
                    continue
                pending.popleft()
                attempt = 0
                self._note_written(len(part), trio.current_time() - started)
            self._resume_idempotent = False
        except BaseException:
            # Cancelled (shutdown or restart) mid-write: keep the records; the next attempt may find them
            # already committed, so it must take the idempotent path.
            if not self._closed:
                leftover = [record for part in pending for record in part]
                self._buffer.extendleft(reversed(leftover))
                self._resume_idempotent = True
            raise

    def _isolate_poison(self, pending: deque[list[ActivityRecord]], exc: Exception) -> None:
        """The head batch was refused for its data: split it, or drop it if it is the one bad record."""
        self._batches_metric.inc("rejected")
        part = pending.popleft()
        if len(part) > 1:
            half = len(part) // 2
            pending.appendleft(part[half:])
            pending.appendleft(part[:half])
        else:
            self._drop("rejected", 1, f"{type(part[0]).__name__} rejected: {exc}")
            self._mark_done(1)

    def _note_written(self, n: int, seconds: float) -> None:
        self._batch_seconds.observe(seconds)
        self._batches_metric.inc("ok")
        self._batches += 1
        self._written += n
        self._written_metric.inc(amount=n)
        self._note_success()
        self._mark_done(n)

    def _backoff(self, attempt: int) -> float:
        cap = min(self.settings.retry_max, self.settings.retry_initial * 2 ** min(attempt - 1, 30))
        return _jitter.uniform(cap / 2, cap)

    # -- bookkeeping ----------------------------------------------------------------------------------

    def _mark_done(self, n: int) -> None:
        self._done += n
        self._buffered_metric.set(len(self._buffer))
        if self._flush_waiters:
            still: list[tuple[int, trio.Event]] = []
            for target, event in self._flush_waiters:
                if self._done >= target:
                    event.set()
                else:
                    still.append((target, event))
            self._flush_waiters = still

    def _note_failure(self, exc: BaseException, *, unexpected: bool = False) -> None:
        self._last_error = f"{type(exc).__name__}: {exc}"
        if unexpected and self._failing_since is None:
            logger.error(
                "storage writer: batch failed (%s); keeping the records and retrying", self._last_error
            )
        if self._failing_since is None:
            self._failing_since = trio.current_time()
            self._available_metric.set(0)
            logger.warning(
                "storage writer: database unavailable (%s); buffering up to %d records and retrying",
                self._last_error,
                self.settings.max_buffered,
            )

    def _note_success(self) -> None:
        if self._failing_since is not None:
            down_for = trio.current_time() - self._failing_since
            self._failing_since = None
            self._available_metric.set(1)
            logger.warning(
                "storage writer: database back after %.1f s; flushing %d buffered records",
                down_for,
                len(self._buffer),
            )

    def _drop(self, reason: str, n: int, detail: str) -> None:
        self._dropped[reason] = self._dropped.get(reason, 0) + n
        self._dropped_metric.inc(reason, amount=n)
        self._drops_unlogged[reason] = self._drops_unlogged.get(reason, 0) + n
        now = trio.current_time()
        if now - self._last_drop_log.get(reason, -math.inf) >= self.settings.drop_log_interval:
            logger.error(
                "storage writer dropped %d record(s) (%s: %s); %d dropped in total",
                self._drops_unlogged.pop(reason),
                reason,
                detail,
                sum(self._dropped.values()),
            )
            self._last_drop_log[reason] = now


# -- the actor ---------------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class Flush:
    """``await ref.call(Flush())``: wait (up to ``timeout``) until everything sent before is written."""

    timeout: float = 5.0


@attrs.frozen(slots=True)
class GetStats:
    """``await ref.call(GetStats())`` -> `WriterStats`."""


class StorageWriterActor:
    """The supervised face of a `StorageWriter`: records by ``tell``, `Flush`/`GetStats` by ``call``."""

    def __init__(self, writer: StorageWriter) -> None:
        self._writer = writer

    async def on_start(self, ctx: ActorContext) -> None:
        ctx.start_soon(self._writer.run, name=f"{ctx.path}:flush-loop")

    async def handle(self, msg: Any, ctx: ActorContext) -> Any:
        if isinstance(msg, Flush):
            with trio.move_on_after(msg.timeout):
                await self._writer.flush()
            return self._writer.stats()
        if isinstance(msg, GetStats):
            return self._writer.stats()
        self._writer.submit(msg)
        return None

    async def on_stop(self, ctx: ActorContext) -> None:
        await self._writer.close()


def activity_listener(
    writer: StorageWriter, capture: ActivityCapture | None = None
) -> Callable[[Frame], None]:
    """A guild-actor listener (``GuildActor(..., listeners=[activity_listener(writer)])``): every dispatch the
    stats tables care about becomes records submitted to ``writer`` (never blocking the guild actor)."""
    capture = capture or ActivityCapture()
    events = capture.events
    submit_many = writer.submit_many

    def listen(frame: Frame) -> None:
        if frame.t in events:
            submit_many(capture.records(frame.t, frame.d))

    return listen


def storage_writer_child(
    writer: StorageWriter, *, child_id: str = "storage", mailbox_capacity: int = 65_536
) -> ChildSpec:
    """The child spec for the supervision tree. The mailbox drops the newest on overflow (the runtime counts
    those as dead letters); in practice it stays short because ``handle`` only appends to the buffer."""
    return ChildSpec(
        id=child_id,
        factory=lambda: StorageWriterActor(writer),
        restart=Restart.PERMANENT,
        shutdown_timeout=writer.settings.shutdown_flush_timeout + 2.0,
        mailbox=MailboxSpec(capacity=mailbox_capacity, overflow=Overflow.DROP_NEWEST),
        kind="storage_writer",
        status=lambda: writer_status(writer.stats()),
    )


def writer_status(stats: WriterStats) -> dict[str, object]:
    """The facts an operator needs in the health tree: buffer fill, drops (never silent), database state."""
    status: dict[str, object] = {
        "buffered": f"{stats.buffered}/{stats.capacity}",
        "written": stats.written,
        "dropped": sum(stats.dropped.values()),
        "db": "up" if stats.database_available else "DOWN",
    }
    if stats.dropped:
        status["dropped_by"] = dict(stats.dropped)
    if stats.failing_for is not None:
        status["failing_for_s"] = round(stats.failing_for, 1)
    return status
