"""The storage layer's error types, and the one place that decides what a driver error *means*.

Callers above `storage/` must never catch asyncpg's exception zoo: a command handler only needs to know
"the database is down, say so politely" (`StorageUnavailable`), "the query took too long" (`QueryTimeout`)
or "this is a bug / a constraint the caller broke" (`StorageError` and the driver error chained to it).
`classify()` is the single translation table, so the mapping is reviewed in one place and unit-tested
without a server. Messages never contain connection passwords (`storage.dsn.redact` is applied wherever a
DSN is mentioned).
"""

from __future__ import annotations

import asyncpg


class StorageError(Exception):
    """Base class of every error the storage layer raises on purpose."""


class StorageUnavailable(StorageError):  # noqa: N818 - the name the other packages use
    """The database cannot be reached right now (down, restarting, refusing connections, pool exhausted).

    Commands map it to an ephemeral "storage unavailable, try again shortly" reply; the storage writer
    treats it as retryable.
    """


class QueryTimeout(StorageError):  # noqa: N818 - the name the other packages use
    """A statement ran longer than the configured statement/command timeout."""


class InvalidDatabaseURL(StorageError):  # noqa: N818 - the name the other packages use
    """DATABASE_URL (or a DSN given on the command line) is not a usable PostgreSQL URL."""


class EmbeddedServerError(StorageError):
    """The embedded PostgreSQL server could not be initialised, started or stopped."""


class MigrationError(StorageError):
    """A migration could not be applied, or the applied history disagrees with the files on disk."""


class MigrationChecksumError(MigrationError):
    """An already-applied migration file was edited afterwards (its checksum no longer matches)."""


#: Driver errors meaning "the server is not there (now)": connection-level SQLSTATE class 08, operator
#: intervention (shutdown/crash/starting up) and too many connections.
_UNAVAILABLE_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, FileNotFoundError for a missing unix socket, ...
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)

_CLOSED_INTERFACE_HINTS = (
    "connection is closed",
    "pool is closed",
    "pool is closing",
    "connection was closed",
)


def classify(exc: BaseException) -> StorageError | None:
    """Translate a driver exception into our error type, or None when it is not ours to translate.

    None means "a real SQL error" (syntax, constraint, type): the caller lets the original propagate.
    """
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        return QueryTimeout(f"query cancelled by the server: {exc}")
    if isinstance(exc, TimeoutError):
        return QueryTimeout("query timed out")
    if isinstance(exc, _UNAVAILABLE_TYPES):
        return StorageUnavailable(f"database unavailable: {type(exc).__name__}: {exc}")
    if isinstance(exc, asyncpg.exceptions.InterfaceError) and any(
        hint in str(exc) for hint in _CLOSED_INTERFACE_HINTS
    ):
        return StorageUnavailable(f"database connection lost: {exc}")
    return None


class AlreadyExists(StorageError):  # noqa: N818 - reads as a sentence at call sites
    """An insert hit a uniqueness rule the user can act on (a link title taken in this guild, ...)."""


class NotFound(StorageError):  # noqa: N818 - reads as a sentence at call sites
    """The row an update or delete addressed does not exist."""
