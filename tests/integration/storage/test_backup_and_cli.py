"""Backup -> drop -> restore round trip, and the storage CLI (including a bad DATABASE_URL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from shard.cli import main
from shard.cli_storage import register
from storage.backup import BackupError, backup, restore, split_password
from tests.fixtures.storage import PgServer


def test_backup_drop_restore_round_trip(pg_server: PgServer, tmp_path: Path) -> None:
    name = pg_server.create_database()
    try:
        pg_server.psql(
            "INSERT INTO quotes (guild_id, number, content, author_id) VALUES (1, 1, 'Erin cooks', 7);"
            "INSERT INTO guild_settings (guild_id, admin_role_id) VALUES (1, 42);",
            database=name,
        )
        lines: list[str] = []
        dump = tmp_path / "shard.dump"
        result = backup(pg_server.dsn(name), dump, progress=lines.append)
        assert dump.is_file() and result.bytes == dump.stat().st_size > 0
        assert any("quotes" in line for line in lines)  # progress names what is being dumped

        pg_server.drop_database(name)
        pg_server.psql(f'CREATE DATABASE "{name}"')
        restored = restore(pg_server.dsn(name), dump, progress=lines.append)
        assert restored.objects > 0
        assert pg_server.psql("SELECT content FROM quotes WHERE number = 1", database=name) == "Erin cooks"
        assert pg_server.psql("SELECT admin_role_id FROM guild_settings", database=name) == "42"
        versions = pg_server.psql(
            "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations", database=name
        )
        assert versions == "1,2,3"
        # restoring over an existing copy replaces it (clean) instead of failing on existing objects
        pg_server.psql("DELETE FROM quotes", database=name)
        restore(pg_server.dsn(name), dump)
        assert pg_server.psql("SELECT count(*) FROM quotes", database=name) == "1"
    finally:
        pg_server.drop_database(name)


def test_restore_of_a_missing_file_is_a_clear_error(pg_server: PgServer, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="does not exist"):
        restore(pg_server.dsn("postgres"), tmp_path / "nope.dump")


def test_password_is_kept_off_the_command_line() -> None:
    bare, password = split_password("postgresql://bot:s%40cret@db.example:5432/shard?sslmode=require")
    assert password == "s@cret"
    assert "s%40cret" not in bare and "cret" not in bare
    assert bare == "postgresql://bot@db.example:5432/shard?sslmode=require"
    assert split_password("postgresql://bot@host/db") == ("postgresql://bot@host/db", None)


@pytest.fixture
def cli() -> CliRunner:
    register(main)
    return CliRunner()


def test_bad_database_url_gives_a_clear_message(cli: CliRunner) -> None:
    result = cli.invoke(main, ["db", "status"], env={"DATABASE_URL": "mysql://bot:hunter2@db/shard"})
    assert result.exit_code == 2
    assert "must start with postgresql://" in result.output
    assert "hunter2" not in result.output
    assert "Traceback" not in result.output

    unreachable = cli.invoke(
        main, ["migrate"], env={"DATABASE_URL": "postgresql://bot:hunter2@/shard?host=/nonexistent&port=5432"}
    )
    assert unreachable.exit_code == 3
    assert "cannot connect to PostgreSQL" in unreachable.output
    assert "hunter2" not in unreachable.output


def test_cli_against_an_external_database(cli: CliRunner, pg_server: PgServer, tmp_path: Path) -> None:
    name = pg_server.create_database(template="template0")
    env = {"DATABASE_URL": pg_server.dsn(name)}
    try:
        dry = cli.invoke(main, ["migrate", "--dry-run"], env=env)
        assert dry.exit_code == 0, dry.output
        assert "Would apply 0001_guild_settings_and_commands.sql" in dry.output

        applied = cli.invoke(main, ["migrate"], env=env)
        assert applied.exit_code == 0, applied.output
        assert "Applied 0003_activity.sql" in applied.output
        assert "up to date (3 migrations applied)" in cli.invoke(main, ["migrate"], env=env).output

        status = cli.invoke(main, ["db", "status"], env=env)
        assert status.exit_code == 0, status.output
        assert "server:     external" in status.output
        assert "3 applied (latest 0003_activity), 0 pending" in status.output

        cleanup = cli.invoke(main, ["db", "cleanup", "--dry-run"], env=env)
        assert cleanup.exit_code == 0, cleanup.output
        assert "total: would delete 0 rows" in cleanup.output

        dump = tmp_path / "cli.dump"
        backed_up = cli.invoke(main, ["backup", str(dump), "--quiet"], env=env)
        assert backed_up.exit_code == 0, backed_up.output
        assert dump.is_file()
        restored = cli.invoke(main, ["restore", str(dump), "--yes", "--quiet"], env=env)
        assert restored.exit_code == 0, restored.output
        assert "Restored" in restored.output
    finally:
        pg_server.drop_database(name)


def test_cli_with_the_embedded_server(cli: CliRunner) -> None:
    from tests.fixtures.storage import server_directory

    with server_directory() as root:
        env = {"SHARD_STORAGE_DATA_DIR": str(root / "data"), "DATABASE_URL": ""}
        first = cli.invoke(main, ["db", "status"], env=env)
        assert first.exit_code == 0, first.output
        assert "Created a new embedded PostgreSQL database in" in first.output  # first run says where
        assert f"server:     embedded, data in {root / 'data'}" in first.output
        assert "0 applied (latest -), 3 pending" in first.output  # status shows, never migrates
        assert cli.invoke(main, ["migrate"], env=env).exit_code == 0
        again = cli.invoke(main, ["db", "status", "--json"], env=env)
        assert again.exit_code == 0, again.output
        assert "Created a new" not in again.output
        assert '"kind": "embedded"' in again.output
        assert '"pending": []' in again.output
