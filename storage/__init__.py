"""PostgreSQL storage: embedded server bootstrap, asyncpg on trio (trio-asyncio), migrations, repositories.

Public entry points::

    from storage import open_storage, open_database, StorageOptions, Database, StorageUnavailable

    async with open_database(StorageOptions(database_url=None)) as db:   # embedded server, migrated
        await db.fetchval("SELECT 1")

See `storage.opening` for who owns the trio-asyncio loop and the server's lifetime.
"""

from storage.database import Database, PoolSettings, PoolStats, Transaction
from storage.errors import (
    EmbeddedServerError,
    InvalidDatabaseURL,
    MigrationChecksumError,
    MigrationError,
    QueryTimeout,
    StorageError,
    StorageUnavailable,
)
from storage.opening import Storage, StorageOptions, open_database, open_storage

__all__ = [
    "Database",
    "EmbeddedServerError",
    "InvalidDatabaseURL",
    "MigrationChecksumError",
    "MigrationError",
    "PoolSettings",
    "PoolStats",
    "QueryTimeout",
    "Storage",
    "StorageError",
    "StorageOptions",
    "StorageUnavailable",
    "Transaction",
    "open_database",
    "open_storage",
]
