"""Storage commands of the ``shard`` CLI: ``migrate``, ``db status``, ``db cleanup``, ``backup``, ``restore``.

``register(cli)`` adds them to the main group (shard/cli.py calls it). Each command reads the storage section
of the configuration (DATABASE_URL or the embedded data directory), so it talks to the same database the bot
uses; with the embedded server it starts the server if needed and stops it again afterwards (a server the
running bot started is reused and left running).

Errors are operator messages, not tracebacks: a malformed DATABASE_URL exits 2 (configuration error), an
unreachable database exits 3, a failed migration/backup/restore exits 1. Passwords are never printed.

`storage_options()` and `writer_settings()` translate the configuration into the storage layer's own option
types; the application uses them too when it builds the supervision tree.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

if TYPE_CHECKING:
    from actors.storage_writer import WriterSettings
    from shard.config import Config, StorageConfig
    from storage import Storage, StorageOptions

T = TypeVar("T")

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3


class StorageCommandError(click.ClickException):
    """A storage command failed (exit 1)."""

    exit_code = EXIT_FAILED


class StorageConfigError(StorageCommandError):
    """The storage configuration is unusable, e.g. a malformed DATABASE_URL (exit 2)."""

    exit_code = EXIT_CONFIG


class StorageUnreachableError(StorageCommandError):
    """The database (or the embedded server) cannot be reached or started (exit 3)."""

    exit_code = EXIT_UNREACHABLE


def storage_options(config: StorageConfig, *, migrate_on_start: bool = True) -> StorageOptions:
    """The storage layer's options from the ``[storage]`` configuration section."""
    from storage import PoolSettings, StorageOptions

    url = config.database_url.reveal() if config.database_url is not None else None
    pool = PoolSettings(
        min_size=config.pool_min,
        max_size=config.pool_max,
        statement_timeout=config.statement_timeout_s,
        command_timeout=max(config.statement_timeout_s + 5.0, 10.0) if config.statement_timeout_s else 0.0,
        slow_query_seconds=config.slow_query_ms / 1000.0,
    )
    return StorageOptions(
        database_url=url, data_dir=config.data_dir, pool=pool, migrate_on_start=migrate_on_start
    )


def writer_settings(config: StorageConfig) -> WriterSettings:
    """The storage writer's settings from the ``[storage]`` configuration section."""
    from actors.storage_writer import WriterSettings

    return WriterSettings(
        max_batch=config.writer_batch_size,
        max_buffered=config.writer_capacity,
        flush_interval=config.writer_flush_interval_s,
        retry_initial=config.writer_retry_initial_s,
        retry_max=config.writer_retry_max_s,
    )


def _config(ctx: click.Context) -> Config:
    from shard.cli import CliState

    state = ctx.find_object(CliState)
    if state is None:  # registered on a group that does not carry the CLI state
        state = CliState()
    return state.config()


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def _run_with_storage(
    ctx: click.Context, body: Callable[[Storage], Awaitable[T]], *, migrate_on_start: bool
) -> T:
    """Open storage as the bot would (on a fresh trio run), run ``body``, map storage errors to exits."""
    import trio

    from storage import open_storage

    options = storage_options(_config(ctx).storage, migrate_on_start=migrate_on_start)

    async def main() -> T:
        async with open_storage(options, announce=_echo_err) as storage:
            return await body(storage)

    with _storage_errors():
        return trio.run(main)


class _storage_errors:  # noqa: N801 - used as a context manager, reads like one
    """Translate storage exceptions into `StorageCommandError` with the right exit code."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        from storage import InvalidDatabaseURL, StorageError, StorageUnavailable
        from storage.errors import EmbeddedServerError

        if exc is None or isinstance(exc, click.ClickException):
            return
        if isinstance(exc, InvalidDatabaseURL):
            raise StorageConfigError(str(exc)) from None
        if isinstance(exc, StorageUnavailable | EmbeddedServerError):
            raise StorageUnreachableError(str(exc)) from None
        if isinstance(exc, StorageError | ValueError):
            raise StorageCommandError(str(exc)) from None


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


# -- commands ----------------------------------------------------------------------------------------------


@click.command(name="migrate")
@click.option("--dry-run", is_flag=True, help="List the migrations that would be applied; change nothing.")
@click.pass_context
def migrate_command(ctx: click.Context, dry_run: bool) -> None:
    """Apply pending database migrations (the bot also does this at start)."""
    from storage.migrate import migrate, status

    async def body(storage: Storage) -> None:
        before = await status(storage.db)
        applied = await migrate(storage.db, dry_run=dry_run)
        if not applied:
            click.echo(f"Database is up to date ({len(before.applied)} migrations applied).")
            return
        verb = "Would apply" if dry_run else "Applied"
        for migration in applied:
            click.echo(f"{verb} {migration.file_name}")

    _run_with_storage(ctx, body, migrate_on_start=False)


@click.group(name="db")
def db_group() -> None:
    """Database maintenance: status and retention cleanup."""


@db_group.command(name="status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def db_status_command(ctx: click.Context, as_json: bool) -> None:
    """Server, version, size, migrations and pool of the bot's database."""
    from storage.maintenance import database_status

    async def body(storage: Storage) -> dict[str, Any]:
        facts = await database_status(storage.db)
        server = storage.server
        if server is not None and server.info is not None:
            where = {
                "kind": "embedded",
                "data_dir": str(server.data_dir),
                "pid": server.info.pid,
                "socket_dir": str(server.info.socket_dir),
                "started_by_this_command": server.started_by_us,
            }
        else:
            where = {"kind": "external", "url": storage.display_dsn}
        return {
            "server": where,
            "version": facts.server_version,
            "database": facts.database,
            "size_bytes": facts.size_bytes,
            "migrations": {
                "applied": [m.version for m in facts.migrations.applied],
                "latest": (
                    f"{facts.migrations.applied[-1].version:04d}_{facts.migrations.applied[-1].name}"
                    if facts.migrations.applied
                    else None
                ),
                "pending": [m.file_name for m in facts.migrations.pending],
            },
            "pool": {"size": facts.pool.size, "idle": facts.pool.idle, "max": facts.pool.max_size},
            "largest_tables": [
                {"table": t.table, "rows_estimate": t.rows_estimate, "bytes": t.bytes}
                for t in facts.largest_tables
            ],
        }

    report = _run_with_storage(ctx, body, migrate_on_start=False)
    if as_json:
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    server = report["server"]
    if server["kind"] == "embedded":
        click.echo(f"server:     embedded, data in {server['data_dir']} (pid {server['pid']})")
    else:
        click.echo(f"server:     external, {server['url']}")
    click.echo(f"version:    PostgreSQL {report['version']}")
    click.echo(f"database:   {report['database']}, {_human_bytes(report['size_bytes'])}")
    migrations = report["migrations"]
    click.echo(
        f"migrations: {len(migrations['applied'])} applied (latest {migrations['latest'] or '-'}),"
        f" {len(migrations['pending'])} pending"
    )
    for name in migrations["pending"]:
        click.echo(f"            pending: {name}")
    pool = report["pool"]
    click.echo(f"pool:       {pool['size']} open / {pool['max']} max, {pool['idle']} idle")
    click.echo("tables:")
    for table in report["largest_tables"]:
        click.echo(
            f"  {table['table']:<24} ~{table['rows_estimate']:>10} rows  {_human_bytes(table['bytes'])}"
        )


@db_group.command(name="cleanup")
@click.option("--dry-run", is_flag=True, help="Count the rows that would be deleted; delete nothing.")
@click.pass_context
def db_cleanup_command(ctx: click.Context, dry_run: bool) -> None:
    """Delete rows older than the retention windows (storage.retention_days)."""
    from storage.maintenance import cleanup

    retention = dict(_config(ctx).storage.retention_days)

    async def body(storage: Storage) -> None:
        results = await cleanup(storage.db, retention, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for result in results:
            click.echo(
                f"{result.group:<16} {result.table:<16} older than {result.cutoff:%Y-%m-%d}:"
                f" {verb} {result.rows} rows"
            )
        click.echo(f"total: {verb} {sum(r.rows for r in results)} rows")

    _run_with_storage(ctx, body, migrate_on_start=True)


def _with_server(ctx: click.Context, action: Callable[[str], T]) -> T:
    """Run a blocking ``action(dsn)`` against the configured database, starting the embedded one if needed."""
    from storage.opening import prepare_server

    options = storage_options(_config(ctx).storage)
    with _storage_errors():
        dsn, server = prepare_server(options, _echo_err)
        try:
            return action(dsn)
        finally:
            if server is not None:
                server.release()


def _progress(quiet: bool) -> Callable[[str], None]:
    return (lambda line: None) if quiet else _echo_err


@click.command(name="backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="Print only the summary, not each object as it is dumped.")
@click.pass_context
def backup_command(ctx: click.Context, file: Path, quiet: bool) -> None:
    """Dump the bot's database to FILE (pg_dump custom format)."""
    from storage.backup import backup

    result = _with_server(ctx, partial(backup, path=file, progress=_progress(quiet)))
    click.echo(
        f"Backup written to {result.path} ({_human_bytes(result.bytes)}, {result.objects} steps,"
        f" {result.seconds:.1f} s)."
    )


@click.command(name="restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--quiet", is_flag=True, help="Print only the summary, not each object as it is restored.")
@click.pass_context
def restore_command(ctx: click.Context, file: Path, yes: bool, quiet: bool) -> None:
    """Replace the bot's database with the backup in FILE (all or nothing; stop the bot first)."""
    from storage.backup import restore

    if not yes and sys.stdin.isatty():
        click.confirm(f"Replace the bot's database with {file}?", abort=True)
    result = _with_server(ctx, partial(restore, path=file, progress=_progress(quiet)))
    click.echo(f"Restored {result.path} ({result.objects} steps, {result.seconds:.1f} s).")


def register(cli: click.Group) -> None:
    """Add the storage commands to the ``shard`` group (idempotent)."""
    for command in (migrate_command, db_group, backup_command, restore_command):
        if command.name not in cli.commands:
            cli.add_command(command)
