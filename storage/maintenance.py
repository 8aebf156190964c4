"""Operator maintenance: retention cleanup and the facts behind ``shard db status``.

Retention windows come from configuration as ``{name: days}`` where a name is a *group* of tables that
share a purpose (``message_stats`` covers messages and the other activity events; ``command_history``,
``error_log``, ``audit_log`` one table each). Old rows are deleted in bounded chunks (``chunk_rows`` per
statement, each its own transaction) so a first cleanup of a large database never holds long locks or one
giant transaction; attachments go with their messages (ON DELETE CASCADE). ``dry_run`` only counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import attrs

from storage.database import Database, PoolStats
from storage.migrate import MigrationStatus, status

#: Retention group -> (table, timestamp column). Constant identifiers only.
RETENTION_GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    "message_stats": (
        ("messages", "created_at"),
        ("message_edits", "edited_at"),
        ("reactions", "created_at"),
        ("member_events", "created_at"),
        ("role_changes", "created_at"),
        ("voice_events", "created_at"),
    ),
    "command_history": (("command_history", "started_at"),),
    "error_log": (("command_errors", "created_at"),),
    "audit_log": (("audit_log", "created_at"),),
}


@attrs.frozen(slots=True)
class CleanupResult:
    group: str
    table: str
    cutoff: datetime
    rows: int


async def cleanup(
    db: Database,
    retention_days: Mapping[str, int],
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    chunk_rows: int = 10_000,
) -> list[CleanupResult]:
    """Delete (or with ``dry_run`` count) rows older than each group's window."""
    unknown = sorted(set(retention_days) - set(RETENTION_GROUPS))
    if unknown:
        known = ", ".join(sorted(RETENTION_GROUPS))
        raise ValueError(f"unknown retention group(s) {', '.join(unknown)} (known: {known})")
    now = now or datetime.now(UTC)
    results: list[CleanupResult] = []
    for group, days in sorted(retention_days.items()):
        if days < 1:
            raise ValueError(f"retention for {group} must be at least 1 day, got {days}")
        cutoff = now - timedelta(days=days)
        for table, column in RETENTION_GROUPS[group]:
            if dry_run:
                rows = int(await db.fetchval(f"SELECT count(*) FROM {table} WHERE {column} < $1", cutoff))  # noqa: S608
            else:
                rows = 0
                while True:
                    status_tag = await db.execute(
                        f"DELETE FROM {table} WHERE ctid IN"  # noqa: S608
                        f" (SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2)",
                        cutoff,
                        chunk_rows,
                    )
                    deleted = int(status_tag.rsplit(" ", 1)[-1])
                    rows += deleted
                    if deleted < chunk_rows:
                        break
            results.append(CleanupResult(group, table, cutoff, rows))
    return results


@attrs.frozen(slots=True)
class TableSize:
    table: str
    rows_estimate: int
    bytes: int


@attrs.frozen(slots=True)
class DatabaseStatus:
    server_version: str
    database: str
    size_bytes: int
    migrations: MigrationStatus
    pool: PoolStats
    largest_tables: list[TableSize]


async def database_status(db: Database, *, top_tables: int = 8) -> DatabaseStatus:
    row = await db.fetchrow(
        "SELECT current_setting('server_version') AS version, current_database() AS name,"
        " pg_database_size(current_database()) AS size"
    )
    assert row is not None
    tables = await db.fetch(
        "SELECT c.relname AS table, greatest(c.reltuples, 0)::bigint AS rows_estimate,"
        " pg_total_relation_size(c.oid) AS bytes FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY bytes DESC, c.relname LIMIT $1",
        top_tables,
    )
    return DatabaseStatus(
        server_version=row["version"],
        database=row["name"],
        size_bytes=row["size"],
        migrations=await status(db),
        pool=db.pool_stats(),
        largest_tables=[TableSize(t["table"], t["rows_estimate"], t["bytes"]) for t in tables],
    )
