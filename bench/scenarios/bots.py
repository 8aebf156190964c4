"""The bots under test, each started as its own OS process and measured from the outside.

Why a separate process per bot: CPU seconds and peak RSS are only comparable when they belong to the bot
alone. The scenario driver and the emulator share the harness process (the emulator's scripting API is
in-process: it hands out interaction handles and sees every REST call), while the bot — ours, discord.py or
hikari — runs in a child process whose ``cpu_times()`` (user + system) and peak resident
set (``VmHWM`` from ``/proc``, which no sampling interval can miss) are read by psutil. Helper processes
the bot starts (an embedded database) are measured apart from it (see `BotProcess.sample`). On a 2-core
machine that puts the bot on one core and the driver plus emulator on the other.

Every bot is configured the same way, by environment only (``DISCORD_TOKEN``, ``DISCORD_API_BASE``), and all
run with ``python -O`` (hikari's own advice for production; applied to everyone so nobody gets a head start).
The bot's stdout and stderr go to a log file under ``bench/results/logs`` so a failed bot can be diagnosed
after the run, and its last lines are quoted in the failure reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Final

import attrs
import orjson
import psutil
import trio

from bench.common import PEERS_PYTHON, REPO_ROOT, RESULTS_DIR
from storage.embedded import read_postmaster_pid

BOT_NAMES: tuple[str, ...] = ("ours", "discordpy", "hikari")
ALL_BOT_NAMES: tuple[str, ...] = ("ours", "ours-parts", "discordpy", "hikari")
PEERS_DIR = REPO_ROOT / "bench" / "peers"

#: guilds | guild members | guild messages | reactions | typing — what the scenarios dispatch.
BENCH_INTENTS = (1 << 0) | (1 << 1) | (1 << 9) | (1 << 10) | (1 << 11)
OUR_INTENT_NAMES = "guilds,guild_members,guild_messages,guild_message_reactions,guild_message_typing"


@attrs.frozen(slots=True)
class BotSpec:
    """How to start one bot: its command line and the environment it needs beyond the shared settings."""

    name: str
    argv: tuple[str, ...]
    extra_env: Mapping[str, str] = attrs.field(factory=dict)
    #: The environment variable that sets the bot's operator HTTP port (ours: /metrics), if it has one.
    health_port_env: str | None = None
    #: The cluster directory of an embedded PostgreSQL the bot starts (ours). pg_ctl daemonises the server,
    #: so it is not the bot's child: its postmaster (from ``postmaster.pid``) and backends are found here.
    postgres_pgdata: Path | None = None

    def unavailable_reason(self) -> str | None:
        """Why this bot cannot run here (missing interpreter or script), or None."""
        interpreter = Path(self.argv[0])
        if not interpreter.exists():
            return f"{interpreter} is missing (run `bash bench/peers/setup.sh` for the peers)"
        return None


OUR_POSTGRES_DIR: Final = REPO_ROOT / "bench" / "results" / "ours-postgres"


def reset_our_postgres(directory: Path = OUR_POSTGRES_DIR) -> str:
    """Start a run of ours from an empty database: remove the benchmark's cluster (the bot makes a new one).

    Why: every round stores what it measured (command history, the echoed messages, 200,000 messages per
    event-stream round), so a cluster kept across runs only grows — it had reached 3.3 GB — and a run's
    figures would depend on how many runs came before it. Returns what it did, for the run's output; a
    cluster whose server is still running (another run, or a crashed bot's) is left alone.
    """
    if not directory.exists():
        return f"benchmark database: {directory} (new)"
    if read_postmaster_pid(directory / "pgdata") is not None:
        return f"benchmark database: {directory} kept (its server is running)"
    shutil.rmtree(directory)
    return f"benchmark database: {directory} emptied (each run starts from an empty database)"


def our_bot() -> BotSpec:
    launcher = "import sys; from shard.cli import main; sys.argv[0] = 'shard'; main()"
    return BotSpec(
        name="ours",
        argv=(sys.executable, "-O", "-c", launcher, "run"),
        health_port_env="SHARD_HEALTH_PORT",
        extra_env={
            "SHARD_DISCORD_INTENTS": OUR_INTENT_NAMES,
            "SHARD_LOGGING_LEVEL": "WARNING",
            "SHARD_DISCORD_COMPRESSION": "zlib-stream",
            # a cluster of the benchmark's own, apart from a developer's sandbox data
            "SHARD_STORAGE_DATA_DIR": str(OUR_POSTGRES_DIR),
        },
        postgres_pgdata=OUR_POSTGRES_DIR / "pgdata",
    )


def our_parts_bot() -> BotSpec:
    """Our components assembled without the application (`bench.scenarios.ours_parts_bot`)."""
    return BotSpec(name="ours-parts", argv=(sys.executable, "-O", "-m", "bench.scenarios.ours_parts_bot"))


def peer_bot(name: str, script: str, peers_python: Path = PEERS_PYTHON) -> BotSpec:
    return BotSpec(
        name=name,
        argv=(str(peers_python), "-O", str(PEERS_DIR / script)),
        extra_env={"PEER_COMPRESSION": "zlib-stream", "PEER_INTENTS": str(BENCH_INTENTS)},
    )


def bot_specs(names: list[str]) -> list[BotSpec]:
    """Specs for the requested bot names, in the order asked; unknown names raise ValueError."""
    known: dict[str, Callable[[], BotSpec]] = {
        "ours": our_bot,
        "ours-parts": our_parts_bot,
        "discordpy": lambda: peer_bot("discordpy", "dpy_bot.py"),
        "hikari": lambda: peer_bot("hikari", "hikari_bot.py"),
    }
    specs = []
    for name in names:
        if name not in known:
            raise ValueError(f"unknown bot {name!r}; choose from {', '.join(ALL_BOT_NAMES)}")
        specs.append(known[name]())
    return specs


@attrs.frozen(slots=True)
class ResourceSample:
    cpu_seconds: float
    rss_bytes: int
    peak_rss_bytes: int
    helper_cpu_seconds: float = 0.0
    helper_rss_bytes: int = 0


def _postgres_processes(pgdata: Path | None) -> list[psutil.Process]:
    """The postmaster named in ``pgdata/postmaster.pid`` and its backends (none if it is not running)."""
    info = read_postmaster_pid(pgdata) if pgdata is not None else None
    if info is None:
        return []
    try:
        postmaster = psutil.Process(info.pid)
        return [postmaster, *postmaster.children(recursive=True)]
    except psutil.Error:
        return []


class BotCrashedError(RuntimeError):
    """The bot process ended while a scenario still needed it."""


class BotProcess:
    """A running bot: start with ``async with BotProcess(spec, api_base, token, log_path)``.

    The process is terminated (SIGTERM, then SIGKILL after a grace period) when the block ends, whatever
    happened inside it.
    """

    def __init__(
        self,
        spec: BotSpec,
        *,
        api_base: str,
        token: str,
        log_path: Path,
        env_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.spec = spec
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SHARD_", "DISCORD_", "PEER_"))}
        env.update(spec.extra_env)
        env.update(env_overrides or {})
        env.update({"DISCORD_TOKEN": token, "DISCORD_API_BASE": api_base, "PYTHONUNBUFFERED": "1"})
        env["PYTHONPATH"] = str(REPO_ROOT)
        self.metrics_url: str | None = None
        if spec.health_port_env is not None:
            port = _free_loopback_port()
            env[spec.health_port_env] = str(port)
            self.metrics_url = f"http://127.0.0.1:{port}/metrics"
        self._env = env
        self._process: trio.Process | None = None
        self._ps: psutil.Process | None = None
        self._log_file: BinaryIO | None = None

    async def __aenter__(self) -> BotProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = self.log_path.open("wb")
        self._log_file = log_file
        self._process = await trio.lowlevel.open_process(
            list(self.spec.argv),
            env=self._env,
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        self._ps = psutil.Process(self._process.pid)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with trio.CancelScope(shield=True):
            await self.stop()

    @property
    def environment(self) -> Mapping[str, str]:
        """The environment the bot is started with (the caller's, less its SHARD_/DISCORD_/PEER_ settings)."""
        return self._env

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("bot process not started")
        return self._process.pid

    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None and self._process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            code = self._process.returncode if self._process else None
            raise BotCrashedError(f"{self.spec.name} exited with code {code}: {self.log_tail()}")

    def sample(self) -> ResourceSample:
        """CPU seconds so far (user + system) and resident memory of the bot process, and of its helpers.

        The metrics use the bot process alone; helper processes it starts (an embedded PostgreSQL, say) are
        summed separately, because the peers have no such helpers and a library comparison must not charge
        a database to one side only. Scenarios report the helpers' figures in their details.
        """
        if self._ps is None:
            raise RuntimeError("bot process not started")
        try:
            times = self._ps.cpu_times()
            cpu = times.user + times.system
            rss = self._ps.memory_info().rss
        except psutil.Error:
            cpu, rss = 0.0, 0
        peak = _peak_rss(self._ps.pid)
        helper_cpu = 0.0
        helper_rss = 0
        helpers: dict[int, psutil.Process] = {}
        with contextlib.suppress(psutil.Error):
            helpers.update((p.pid, p) for p in self._ps.children(recursive=True))
        helpers.update((p.pid, p) for p in _postgres_processes(self.spec.postgres_pgdata))
        for helper in helpers.values():
            try:
                helper_times = helper.cpu_times()
                helper_cpu += helper_times.user + helper_times.system
                helper_rss += helper.memory_info().rss
            except psutil.Error:
                continue
        return ResourceSample(
            cpu_seconds=cpu,
            rss_bytes=rss,
            peak_rss_bytes=max(peak, rss),
            helper_cpu_seconds=helper_cpu,
            helper_rss_bytes=helper_rss,
        )

    async def wait(self, timeout: float) -> int:  # noqa: ASYNC109 - a bound on a child process
        """Wait for the process to exit by itself (a one-shot client); returns its exit code."""
        if self._process is None:
            raise RuntimeError("bot process not started")
        with trio.fail_after(timeout):
            return await self._process.wait()

    def last_json_line(self) -> dict[str, Any] | None:
        """The last line of the output that parses as a JSON object (what one-shot clients print)."""
        try:
            lines = self.log_path.read_bytes().splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            if line.startswith(b"{"):
                try:
                    parsed = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(parsed, dict):
                    return parsed
        return None

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    async def stop(self, grace: float = 5.0) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            with trio.move_on_after(grace):
                await process.wait()
            if process.poll() is None:
                process.kill()
                await process.wait()
        log_file = self._log_file
        if log_file is not None:
            log_file.close()
            self._log_file = None


def _free_loopback_port() -> int:
    """A port free on loopback right now (the bot binds it a moment later; a clash fails loudly)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def driver_cpu_seconds() -> float:
    """CPU seconds (user + system) of this harness process: the driver and the in-process emulator."""
    times = psutil.Process().cpu_times()
    return float(times.user + times.system)


def _peak_rss(pid: int) -> int:
    """``VmHWM`` (the kernel's high-water mark of resident memory) in bytes, or 0 where unavailable."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def log_path_for(scenario: str, bot: str, stamp: str) -> Path:
    return RESULTS_DIR / "logs" / f"{scenario}-{bot}-{stamp}.log"
