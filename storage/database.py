"""`Database`: the one small query interface the bot uses, asyncpg underneath, callable from trio.

Why this shape:

* **asyncpg on trio.** asyncpg is the fastest PostgreSQL driver for Python, but it is written for asyncio.
  trio-asyncio runs an asyncio event loop *inside* the trio run; every call here hands its coroutine to that
  loop (``loop.run_aio_coroutine``) and awaits the result as a trio task, with trio cancellation carried
  across. The loop is passed in explicitly (not looked up from a context variable) so any trio task — an
  actor spawned by a supervisor far from where the loop was opened — can use the same `Database`. The loop
  must outlive the `Database`; `storage.open_database()` arranges that.
* **A deliberately small surface** (fetch, fetchrow, fetchval, execute, executemany, copy, transaction):
  repositories are written against it, and nothing above `storage/` ever sees an asyncpg connection.
* **Errors that mean something.** Every call goes through one guard that translates driver failures with
  `storage.errors.classify`: `StorageUnavailable` when the server is gone (commands show "storage
  unavailable"; the storage writer retries), `QueryTimeout` when a statement exceeds its timeout.
* **Observable.** Each call is counted (``shard_db_queries_total{op,outcome}``) and timed
  (``shard_db_query_seconds{op}``); pool size and idle connections are gauges; statements slower than
  ``slow_query_seconds`` are logged with their duration and (truncated) SQL text — never their arguments,
  which may hold user content.

Timeouts: ``command_timeout`` is asyncpg's client-side limit per call; ``statement_timeout`` is also sent to
the server so a runaway query is cancelled there too, even if the client has gone away.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence, Sized
from contextlib import asynccontextmanager
from typing import Any, Literal, TypeVar

import asyncpg
import attrs
import orjson
import trio

from storage.dsn import redact
from storage.errors import QueryTimeout, StorageUnavailable, classify
from supervision.telemetry import Telemetry

logger = logging.getLogger(__name__)

T = TypeVar("T")
Record = asyncpg.Record
IsolationLevel = Literal["read_committed", "read_uncommitted", "serializable", "repeatable_read"]

_SQL_PREVIEW = 200


@attrs.frozen(slots=True)
class PoolSettings:
    """Connection pool sizing and timeouts (seconds); the configuration layer fills these."""

    min_size: int = 1
    max_size: int = 10
    command_timeout: float = 30.0
    statement_timeout: float = 30.0
    connect_timeout: float = 10.0
    acquire_timeout: float = 10.0
    slow_query_seconds: float = 0.5
    #: After a call finds the database unavailable, fail further calls at once for this long (0: never).
    #: Keeps commands fast during an outage (no connect timeout per command); the writer's backoff is longer.
    unavailable_grace: float = 1.0
    application_name: str = "twi-bot-shard"


@attrs.frozen(slots=True)
class PoolStats:
    size: int
    idle: int
    min_size: int
    max_size: int


class _Instruments:
    __slots__ = ("idle", "queries", "seconds", "size")

    def __init__(self, telemetry: Telemetry) -> None:
        self.queries = telemetry.counter(
            "shard_db_queries_total", "Database calls by operation and outcome.", ("op", "outcome")
        )
        self.seconds = telemetry.histogram("shard_db_query_seconds", "Database call latency.", ("op",))
        self.size = telemetry.gauge("shard_db_pool_size", "Open connections in the pool.")
        self.idle = telemetry.gauge("shard_db_pool_idle", "Idle connections in the pool.")


def _outcome(exc: BaseException) -> str:
    if isinstance(exc, StorageUnavailable):
        return "unavailable"
    if isinstance(exc, QueryTimeout):
        return "timeout"
    if isinstance(exc, trio.Cancelled):
        return "cancelled"
    return "error"


async def _init_connection(connection: asyncpg.Connection) -> None:
    """Per-connection setup: json/jsonb as Python objects through orjson, in binary format (binary COPY,
    which the storage writer uses, needs a binary encoder; jsonb's binary form is a version byte + text)."""
    await connection.set_type_codec(
        "jsonb",
        encoder=_encode_jsonb,
        decoder=_decode_jsonb,
        schema="pg_catalog",
        format="binary",
    )
    await connection.set_type_codec(
        "json", encoder=orjson.dumps, decoder=orjson.loads, schema="pg_catalog", format="binary"
    )


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Pool release hook: keep the session as it is.

    asyncpg's default resets every connection on release with an extra round trip (``RESET ALL``, ``UNLISTEN
    *``, advisory unlock, ...), which doubled the latency of every single-statement call. We never change
    session state (no SET, LISTEN or session advisory locks; timeouts are startup parameters), and the
    storage writer *wants* its temporary staging tables to survive between batches. asyncpg still rolls back a
    transaction left open before calling this, so a connection never returns to the pool mid-transaction.
    """


def _encode_jsonb(value: object) -> bytes:
    return b"\x01" + orjson.dumps(value)


def _decode_jsonb(data: bytes) -> object:
    return orjson.loads(data[1:])


class _Queries:
    """The query methods shared by `Database` (pool) and `Transaction` (one connection)."""

    __slots__ = ("_db", "_target")

    def __init__(self, db: Database, target: asyncpg.Pool | asyncpg.Connection) -> None:
        self._db = db
        self._target = target

    async def fetch(self, query: str, *args: object, query_timeout: float | None = None) -> list[Record]:
        return await self._db._guard("fetch", query, self._target.fetch(query, *args, timeout=query_timeout))

    async def fetchrow(self, query: str, *args: object, query_timeout: float | None = None) -> Record | None:
        return await self._db._guard(
            "fetchrow", query, self._target.fetchrow(query, *args, timeout=query_timeout)
        )

    async def fetchval(self, query: str, *args: object, query_timeout: float | None = None) -> Any:
        return await self._db._guard(
            "fetchval", query, self._target.fetchval(query, *args, timeout=query_timeout)
        )

    async def execute(self, query: str, *args: object, query_timeout: float | None = None) -> str:
        """Run a statement; returns the status tag (``INSERT 0 1``, ``UPDATE 3``...). No args: may hold
        several statements (simple query protocol), which is how migrations run."""
        return await self._db._guard(
            "execute", query, self._target.execute(query, *args, timeout=query_timeout)
        )

    async def executemany(
        self, query: str, args: Iterable[Sequence[object]], *, query_timeout: float | None = None
    ) -> None:
        await self._db._guard(
            "executemany", query, self._target.executemany(query, args, timeout=query_timeout)
        )

    async def copy(
        self,
        table: str,
        records: Iterable[Sequence[object]],
        *,
        columns: Sequence[str],
        schema_name: str | None = None,
        query_timeout: float | None = None,
    ) -> int:
        """Binary COPY of ``records`` into ``table``; returns the number of rows copied.

        More than `COPY_ROWS_PER_STEP` rows are fed to asyncpg from an async generator that yields to the
        event loop between slices: asyncpg encodes a plain list in one go, and a 2,000-row batch of the
        storage writer was a 3.5 to 6 ms step in which nothing else ran (no interaction either). Still one
        COPY, so still all or nothing.
        """
        rows: Iterable[Sequence[object]] | AsyncIterator[Sequence[object]] = records
        if not isinstance(records, Sized) or len(records) > COPY_ROWS_PER_STEP:
            rows = _in_slices(records)
        status = await self._db._guard(
            "copy",
            f"COPY {table}",
            self._target.copy_records_to_table(
                table, records=rows, columns=list(columns), schema_name=schema_name, timeout=query_timeout
            ),
        )
        return int(status.rsplit(" ", 1)[-1]) if status else 0


#: Rows asyncpg encodes between two yields to the event loop during one COPY.
COPY_ROWS_PER_STEP = 250


async def _in_slices(records: Iterable[Sequence[object]]) -> AsyncIterator[Sequence[object]]:
    """``records`` as an async iterator that lets the event loop run every `COPY_ROWS_PER_STEP` rows (it is
    consumed inside asyncpg, on the asyncio loop that trio-asyncio hosts)."""
    for index, row in enumerate(records, 1):
        yield row
        if index % COPY_ROWS_PER_STEP == 0:
            await asyncio.sleep(0)


class Transaction(_Queries):
    """Queries on one connection inside ``BEGIN ... COMMIT``; obtained from `Database.transaction()`."""

    __slots__ = ()


class Database(_Queries):
    """A pool of asyncpg connections on a trio-asyncio loop; see the module docstring."""

    __slots__ = (
        "_call_limit",
        "_instruments",
        "_last_unavailable",
        "_loop",
        "_pool",
        "_unavailable_until",
        "display_dsn",
        "settings",
    )

    def __init__(
        self,
        pool: asyncpg.Pool,
        loop: Any,
        *,
        settings: PoolSettings,
        telemetry: Telemetry,
        display_dsn: str,
    ) -> None:
        super().__init__(self, pool)
        self._pool = pool
        self._loop = loop
        self.settings = settings
        self.display_dsn = display_dsn
        self._instruments = _Instruments(telemetry)
        # A hard deadline per call on the trio side: asyncpg's pool waits for a free connection without a
        # limit, and a server that stops answering must not hang a command or the writer forever.
        self._call_limit = settings.acquire_timeout + (
            settings.command_timeout or settings.statement_timeout or 60.0
        )
        self._unavailable_until = -math.inf
        self._last_unavailable = ""

    @classmethod
    async def connect(
        cls,
        dsn: str,
        *,
        loop: Any,
        settings: PoolSettings | None = None,
        telemetry: Telemetry | None = None,
    ) -> Database:
        """Open a pool to ``dsn`` on the trio-asyncio ``loop``; `StorageUnavailable` (password redacted)
        if the server cannot be reached or refuses us."""
        settings = settings or PoolSettings()
        server_settings = {"application_name": settings.application_name}
        if settings.statement_timeout > 0:
            server_settings["statement_timeout"] = str(int(settings.statement_timeout * 1000))

        async def create() -> asyncpg.Pool:
            pool: asyncpg.Pool = await asyncpg.create_pool(
                dsn,
                min_size=settings.min_size,
                max_size=settings.max_size,
                command_timeout=settings.command_timeout or None,
                timeout=settings.connect_timeout,
                server_settings=server_settings,
                init=_init_connection,
                reset=_keep_session,
            )
            return pool

        try:
            pool = await loop.run_aio_coroutine(create())
        except Exception as exc:
            reason = str(exc) or type(exc).__name__
            raise StorageUnavailable(f"cannot connect to PostgreSQL at {redact(dsn)}: {reason}") from None
        db = cls(pool, loop, settings=settings, telemetry=telemetry or Telemetry(), display_dsn=redact(dsn))
        db._update_pool_gauges()
        return db

    async def close(self) -> None:
        """Close the pool gracefully (up to 10 s, shielded from cancellation), else terminate it."""
        closed = False
        with trio.CancelScope(shield=True), trio.move_on_after(10):
            try:
                await self._loop.run_aio_coroutine(self._pool.close())
                closed = True
            except Exception:  # pragma: no cover - closing a pool whose server vanished
                logger.debug("pool close failed; terminating", exc_info=True)
        if not closed:
            self._pool.terminate()

    def pool_stats(self) -> PoolStats:
        return PoolStats(
            size=self._pool.get_size(),
            idle=self._pool.get_idle_size(),
            min_size=self._pool.get_min_size(),
            max_size=self._pool.get_max_size(),
        )

    async def ping(self) -> bool:
        """True when a trivial query succeeds right now."""
        try:
            return bool(await self.fetchval("SELECT 1", query_timeout=5.0) == 1)
        except StorageUnavailable:
            return False
        except QueryTimeout:
            return False

    async def server_version(self) -> str:
        return str(await self.fetchval("SHOW server_version"))

    @asynccontextmanager
    async def transaction(
        self, *, isolation: IsolationLevel | None = None, readonly: bool = False
    ) -> AsyncIterator[Transaction]:
        """``async with db.transaction() as tx:`` — commit on success, roll back on any exception."""
        connection: Any = await self._guard(
            "acquire", "", _acquire(self._pool, self.settings.acquire_timeout)
        )
        try:
            tx = connection.transaction(isolation=isolation, readonly=readonly)
            await self._guard("begin", "BEGIN", tx.start())
            try:
                yield Transaction(self, connection)
            except BaseException:
                with trio.CancelScope(shield=True), trio.move_on_after(10):
                    try:
                        await self._loop.run_aio_coroutine(tx.rollback())
                    except Exception:
                        logger.debug("rollback failed (connection lost?)", exc_info=True)
                raise
            await self._guard("commit", "COMMIT", tx.commit())
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(10):
                try:
                    await self._loop.run_aio_coroutine(self._pool.release(connection))
                except Exception:
                    logger.debug("release failed (connection lost?)", exc_info=True)
                self._update_pool_gauges()

    # -- internals --------------------------------------------------------------------------------------

    async def _guard(self, op: str, query: str, coroutine: Awaitable[T]) -> T:
        if trio.current_time() < self._unavailable_until:
            if inspect.iscoroutine(coroutine):
                coroutine.close()
            self._instruments.queries.inc(op, "unavailable")
            raise StorageUnavailable(self._last_unavailable)
        started = time.perf_counter()
        outcome = "ok"
        try:
            with trio.fail_after(self._call_limit):
                return await self._loop.run_aio_coroutine(coroutine)  # type: ignore[no-any-return]
        except trio.TooSlowError:
            outcome = "timeout"
            raise QueryTimeout(
                f"{op} did not finish within {self._call_limit:g} s (pool exhausted or server not answering)"
            ) from None
        except Exception as exc:
            mapped = classify(exc)
            outcome = _outcome(mapped if mapped is not None else exc)
            if isinstance(mapped, StorageUnavailable) and self.settings.unavailable_grace > 0:
                self._unavailable_until = trio.current_time() + self.settings.unavailable_grace
                self._last_unavailable = str(mapped)
            if mapped is not None and mapped is not exc:
                raise mapped from exc
            raise
        except BaseException as exc:
            outcome = _outcome(exc)
            raise
        finally:
            elapsed = time.perf_counter() - started
            self._instruments.queries.inc(op, outcome)
            self._instruments.seconds.observe(elapsed, op)
            self._update_pool_gauges()
            if elapsed >= self.settings.slow_query_seconds:
                logger.warning("slow query: %s took %.3f s (%s): %s", op, elapsed, outcome, _preview(query))

    def _update_pool_gauges(self) -> None:
        self._instruments.size.set(self._pool.get_size())
        self._instruments.idle.set(self._pool.get_idle_size())


def _preview(query: str) -> str:
    flat = " ".join(query.split())
    return flat if len(flat) <= _SQL_PREVIEW else flat[: _SQL_PREVIEW - 1] + "…"


async def _acquire(pool: asyncpg.Pool, wait_seconds: float) -> Any:
    """``pool.acquire()`` returns an awaitable context, not a coroutine; run_aio_coroutine needs one."""
    return await pool.acquire(timeout=wait_seconds)
