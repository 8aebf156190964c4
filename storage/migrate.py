"""Schema migrations: ordered SQL files, each applied once, in its own transaction, recorded with a checksum.

Why plain SQL files and not a migration framework: the schema is PostgreSQL-only by design (one dialect
everywhere), a reviewer reads DDL more easily than a Python DSL, and the whole mechanism is ~100 lines:

* Files are ``storage/migrations/NNNN_short_name.sql``; the number orders them and must be unique.
* `migrate()` creates ``schema_migrations`` if needed, compares what is recorded there with the files, and
  applies the pending ones in order. Each file runs inside one transaction together with the row that records
  it, so a failing migration leaves nothing half-applied and is retried on the next start.
* A transaction-scoped advisory lock serialises concurrent migrators (two bot processes starting at once,
  or the CLI racing the bot); each one re-checks the history after taking the lock.
* The recorded SHA-256 of every applied file is compared with the file on disk. A mismatch means someone
  edited a migration that already ran somewhere — the database and the code now disagree about the schema,
  and guessing would be worse than stopping: `MigrationChecksumError` names the file and both checksums.
  A recorded version with no file means the database is newer than this code: also an error.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import attrs

from storage.database import Database
from storage.errors import MigrationChecksumError, MigrationError

logger = logging.getLogger(__name__)

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 0x54574953_4D494752  # "TWISMIGR": an arbitrary constant shared by all our migrators

_CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms double precision NOT NULL
)
"""


@attrs.frozen(slots=True)
class Migration:
    version: int
    name: str
    sql: str
    checksum: str

    @property
    def file_name(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


@attrs.frozen(slots=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str
    applied_at: datetime


@attrs.frozen(slots=True)
class MigrationStatus:
    applied: list[AppliedMigration]
    pending: list[Migration]


def checksum(sql: str) -> str:
    """SHA-256 of the file's text with line endings normalised (a CRLF checkout is not an edit)."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode()).hexdigest()


def load_migrations(directory: Path | Traversable | None = None) -> list[Migration]:
    """Read and order the migration files (default: the ``storage/migrations`` package data)."""
    root: Path | Traversable = (
        directory if directory is not None else resources.files("storage") / "migrations"
    )
    migrations: dict[int, Migration] = {}
    for entry in root.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _FILE_NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} must be named NNNN_lowercase_name.sql")
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(
                f"two migrations share version {version:04d}: "
                f"{migrations[version].file_name} and {entry.name}"
            )
        sql = entry.read_text(encoding="utf-8")
        migrations[version] = Migration(version, match.group(2), sql, checksum(sql))
    return [migrations[v] for v in sorted(migrations)]


async def _read_history(db: Database) -> list[AppliedMigration]:
    rows = await db.fetch(
        "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version"
    )
    return [AppliedMigration(r["version"], r["name"], r["checksum"], r["applied_at"]) for r in rows]


def _compare(applied: Iterable[AppliedMigration], migrations: list[Migration]) -> list[Migration]:
    """Verify the recorded history against the files; return the pending migrations."""
    by_version = {m.version: m for m in migrations}
    done: set[int] = set()
    for record in applied:
        migration = by_version.get(record.version)
        if migration is None:
            raise MigrationError(
                f"the database has migration {record.version:04d}_{record.name} applied, but no such file "
                "exists: the database was migrated by a newer version of the bot"
            )
        if migration.checksum != record.checksum:
            raise MigrationChecksumError(
                f"migration {migration.file_name} was modified after it was applied "
                f"(recorded checksum {record.checksum[:12]}, file now {migration.checksum[:12]}). "
                "Restore the original file and put the change in a new migration."
            )
        done.add(record.version)
    return [m for m in migrations if m.version not in done]


async def status(db: Database, migrations: list[Migration] | None = None) -> MigrationStatus:
    """Applied and pending migrations; raises the same errors as `migrate` on a bad history."""
    migrations = load_migrations() if migrations is None else migrations
    exists = await db.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        # Two processes creating it at once can collide even with IF NOT EXISTS (pg_type's unique index),
        # so the creation takes the migrators' lock too.
        async with db.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await tx.execute(_CREATE_HISTORY)
    applied = await _read_history(db)
    return MigrationStatus(applied=applied, pending=_compare(applied, migrations))


async def migrate(
    db: Database, migrations: list[Migration] | None = None, *, dry_run: bool = False
) -> list[Migration]:
    """Apply pending migrations in order; return those applied (or, with ``dry_run``, those that would be)."""
    migrations = load_migrations() if migrations is None else migrations
    pending = (await status(db, migrations)).pending
    if dry_run or not pending:
        return pending
    applied: list[Migration] = []
    for migration in pending:
        async with db.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            already = await tx.fetchval(
                "SELECT checksum FROM schema_migrations WHERE version = $1", migration.version
            )
            if already is not None:
                continue  # another process applied it while we waited for the lock
            started = time.perf_counter()
            try:
                await tx.execute(migration.sql)
            except Exception as exc:
                raise MigrationError(f"migration {migration.file_name} failed: {exc}") from exc
            duration_ms = (time.perf_counter() - started) * 1000
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum, duration_ms)"
                " VALUES ($1, $2, $3, $4)",
                migration.version,
                migration.name,
                migration.checksum,
                duration_ms,
            )
        logger.info("applied migration %s in %.1f ms", migration.file_name, duration_ms)
        applied.append(migration)
    return applied
