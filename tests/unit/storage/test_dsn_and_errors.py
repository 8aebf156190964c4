"""Pure parts of storage: DSN validation and redaction, error classification, migration files."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage import InvalidDatabaseURL, QueryTimeout, StorageUnavailable
from storage.dsn import database_name, redact, validate, with_database
from storage.embedded import read_postmaster_pid
from storage.errors import MigrationError, classify
from storage.migrate import checksum, load_migrations


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("mysql://u:p@h/db", "must start with postgresql://"),
        ("localhost:5432/db", "must start with postgresql://"),
        ("postgresql:///db", "names no host"),
        ("postgresql://u:p@h:notaport/db", "not a valid URL"),
        ("postgresql://u:p@h:70000/db", "not a valid URL"),
    ],
)
def test_bad_urls_are_explained(url: str, problem: str) -> None:
    with pytest.raises(InvalidDatabaseURL, match=problem) as info:
        validate(url)
    assert ":p@" not in str(info.value)


def test_good_urls_pass() -> None:
    assert validate(" postgresql://u:p@db:5432/shard ") == "postgresql://u:p@db:5432/shard"
    assert validate("postgres://db/shard") == "postgres://db/shard"
    assert (
        validate("postgresql://u@/shard?host=/run/postgresql") == "postgresql://u@/shard?host=/run/postgresql"
    )


def test_redaction() -> None:
    assert redact("postgresql://bot:hunter2@db:5432/shard") == "postgresql://bot:***@db:5432/shard"
    assert redact("postgresql://db/shard?password=hunter2&x=1") == "postgresql://db/shard?password=***&x=1"
    assert redact("postgresql://bot@db/shard") == "postgresql://bot@db/shard"


@given(st.text(alphabet=st.characters(blacklist_characters="@/:?#[]%", min_codepoint=33), min_size=4))
def test_redaction_never_leaks_the_password(password: str) -> None:
    assert password not in redact(f"postgresql://bot:{password}@db.example:5432/shard")


def test_database_name_helpers() -> None:
    assert database_name("postgresql://u@/shard?host=/tmp") == "shard"
    assert database_name("postgresql://u@h") == "postgres"
    assert (
        with_database("postgresql://u@/shard?host=/tmp&port=5", "other")
        == "postgresql://u@/other?host=/tmp&port=5"
    )


def test_classify_maps_driver_errors() -> None:
    assert isinstance(classify(ConnectionRefusedError()), StorageUnavailable)
    assert isinstance(classify(asyncpg.exceptions.AdminShutdownError("bye")), StorageUnavailable)
    assert isinstance(classify(asyncpg.exceptions.CannotConnectNowError("starting")), StorageUnavailable)
    assert isinstance(classify(asyncpg.exceptions.ConnectionDoesNotExistError("gone")), StorageUnavailable)
    assert isinstance(classify(asyncpg.exceptions.InterfaceError("connection is closed")), StorageUnavailable)
    assert isinstance(classify(asyncpg.exceptions.QueryCanceledError("statement timeout")), QueryTimeout)
    assert isinstance(classify(TimeoutError()), QueryTimeout)
    # real SQL errors and misuse are not ours to translate
    assert classify(asyncpg.exceptions.UniqueViolationError("dup")) is None
    assert classify(asyncpg.exceptions.InterfaceError("another operation is in progress")) is None
    assert classify(ValueError("x")) is None


def test_shipped_migrations_are_ordered_and_named() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == sorted(versions) == list(range(1, len(versions) + 1))
    assert all(m.sql.strip() and len(m.checksum) == 64 for m in migrations)


def test_migration_file_rules(tmp_path: Path) -> None:
    (tmp_path / "0001_first.sql").write_text("SELECT 1;")
    (tmp_path / "README.txt").write_text("ignored")
    assert [m.name for m in load_migrations(tmp_path)] == ["first"]
    (tmp_path / "0001_again.sql").write_text("SELECT 2;")
    with pytest.raises(MigrationError, match="share version 0001"):
        load_migrations(tmp_path)
    (tmp_path / "0001_again.sql").unlink()
    (tmp_path / "2_Bad-Name.sql").write_text("SELECT 3;")
    with pytest.raises(MigrationError, match="NNNN_lowercase_name"):
        load_migrations(tmp_path)


def test_checksum_ignores_line_ending_style() -> None:
    assert checksum("a\r\nb\r\n") == checksum("a\nb\n")
    assert checksum("a\nb\n") != checksum("a\nc\n")


def test_postmaster_pid_parsing(tmp_path: Path) -> None:
    assert read_postmaster_pid(tmp_path) is None
    import os

    lines = [str(os.getpid()), str(tmp_path), "1700000000", "5432", "/tmp/sock", "", "  1 2", "ready"]
    (tmp_path / "postmaster.pid").write_text("\n".join(lines) + "\n")
    info = read_postmaster_pid(tmp_path)
    assert info is not None
    assert (info.pid, str(info.socket_dir), info.port) == (os.getpid(), "/tmp/sock", 5432)
    assert info.dsn("shard") == "postgresql://postgres@/shard?host=/tmp/sock&port=5432"
    (tmp_path / "postmaster.pid").write_text("999999999\n")
    assert read_postmaster_pid(tmp_path) is None


def test_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    from storage import EmbeddedServerError
    from storage.embedded import EmbeddedPostgres

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EmbeddedServerError, match=r"set storage\.data_dir"):
        EmbeddedPostgres(blocker / "pg").start()
