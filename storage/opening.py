"""`open_storage()` / `open_database()`: the one way the application gets a `Database`.

How the trio-asyncio loop is owned: asyncpg needs an asyncio loop, trio has none. Rather than asking every
caller to remember ``trio_asyncio.open_loop()``, these context managers open the loop themselves, then (in
order) resolve where the server is — ``DATABASE_URL`` if set, otherwise the embedded server in its data
directory, started if necessary — connect the pool, apply pending migrations, and yield. On exit they close
the pool, leave the loop, and stop the embedded server if (and only if) they started it. Everything that
uses the `Database` must run inside the ``async with`` block (e.g. the supervision tree is opened inside it);
the `Database` itself may be used from any trio task, because it carries its loop with it.

Startup is deliberately strict: if the database cannot be reached at start, this raises `StorageUnavailable`
with a redacted DSN and a reason (a clear message for the operator, no driver traceback); an outage *after*
start is handled per call (commands answer "storage unavailable", the storage writer retries).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import trio
import trio_asyncio

from storage import dsn as dsn_tools
from storage.database import Database, PoolSettings
from storage.embedded import EmbeddedPostgres, default_data_dir
from storage.migrate import migrate
from supervision.telemetry import Telemetry

logger = logging.getLogger(__name__)

#: The database the bot uses inside its private cluster (``postgres`` stays the admin database).
EMBEDDED_DATABASE = "shard"


def _print_to_stderr(message: str) -> None:
    print(message, file=sys.stderr)


@attrs.frozen(slots=True)
class StorageOptions:
    """What the configuration layer tells storage. ``database_url`` None/empty means "embedded"."""

    database_url: str | None = None
    data_dir: Path | None = None
    pool: PoolSettings = attrs.field(factory=PoolSettings)
    migrate_on_start: bool = True
    server_settings: Mapping[str, str] = attrs.field(factory=dict)


@attrs.define(slots=True)
class Storage:
    """An open storage: the `Database`, where it lives, and the embedded server when there is one."""

    db: Database
    dsn: str  # may contain a password: never log it; use display_dsn
    server: EmbeddedPostgres | None

    @property
    def display_dsn(self) -> str:
        return dsn_tools.redact(self.dsn)

    @property
    def embedded(self) -> bool:
        return self.server is not None


def prepare_server(
    options: StorageOptions, announce: Callable[[str], None] = _print_to_stderr
) -> tuple[str, EmbeddedPostgres | None]:
    """Blocking: the DSN to connect to, starting the embedded server when no URL is configured.

    The caller owns the returned server: call ``server.release()`` when done (the CLI's backup and
    restore use this directly; async code uses `open_storage`)."""
    if options.database_url:
        return dsn_tools.validate(options.database_url), None
    server = EmbeddedPostgres(
        options.data_dir or default_data_dir(), settings=options.server_settings, announce=announce
    )
    server.start()
    try:
        server.ensure_database(EMBEDDED_DATABASE)
    except BaseException:
        server.release()
        raise
    return server.dsn(EMBEDDED_DATABASE), server


def _single_leaf(group: BaseExceptionGroup[BaseException]) -> Exception | None:
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        item = stack.pop()
        if isinstance(item, BaseExceptionGroup):
            stack.extend(item.exceptions)
        else:
            leaves.append(item)
    if len(leaves) == 1 and isinstance(leaves[0], Exception):
        return leaves[0]
    return None


@asynccontextmanager
async def _unwrapped_errors() -> AsyncIterator[None]:
    """trio-asyncio's loop is a nursery, so an error inside it arrives wrapped in exception groups; callers
    (and the CLI's error messages) want the one `StorageError` (or their own exception) that happened."""
    try:
        yield
    except BaseExceptionGroup as group:
        leaf = _single_leaf(group)
        if leaf is None:
            raise
        raise leaf from leaf.__cause__


@asynccontextmanager
async def open_storage(
    options: StorageOptions | None = None,
    *,
    telemetry: Telemetry | None = None,
    announce: Callable[[str], None] = _print_to_stderr,
) -> AsyncIterator[Storage]:
    """Open the trio-asyncio loop, the server (embedded or not), the pool; migrate; yield a `Storage`."""
    options = options or StorageOptions()
    dsn, server = await trio.to_thread.run_sync(prepare_server, options, announce)
    try:
        async with _unwrapped_errors(), trio_asyncio.open_loop() as loop:
            db = await Database.connect(dsn, loop=loop, settings=options.pool, telemetry=telemetry)
            try:
                if options.migrate_on_start:
                    applied = await migrate(db)
                    if applied:
                        logger.info("applied %d migration(s)", len(applied))
                yield Storage(db=db, dsn=dsn, server=server)
            finally:
                await db.close()
    finally:
        if server is not None:
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(server.release)


@asynccontextmanager
async def open_database(
    options: StorageOptions | None = None,
    *,
    telemetry: Telemetry | None = None,
    announce: Callable[[str], None] = _print_to_stderr,
) -> AsyncIterator[Database]:
    """Like `open_storage`, yielding only the `Database`."""
    async with open_storage(options, telemetry=telemetry, announce=announce) as storage:
        yield storage.db
