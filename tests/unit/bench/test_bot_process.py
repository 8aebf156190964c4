"""`BotProcess` against real child processes: exit codes, JSON output, crash detection, resource samples."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from bench.scenarios.bots import BotCrashedError, BotProcess, BotSpec, reset_our_postgres

ONE_SHOT = "import json, sys; print('noise'); print(json.dumps({'sent': 3, 'cpu_s': 0.01})); sys.exit(0)"
CRASHER = "import sys; print('token was not accepted'); sys.exit(3)"
SLEEPER = "import time\nx = bytearray(20_000_000)\ntime.sleep(60)"


def _process(tmp_path: Path, code: str) -> BotProcess:
    return BotProcess(
        BotSpec("probe", (sys.executable, "-c", code)),
        api_base="http://127.0.0.1:9/api/v10",
        token="not-a-secret",
        log_path=tmp_path / "probe.log",
    )


async def test_one_shot_client_output_is_read_back(tmp_path: Path) -> None:
    async with _process(tmp_path, ONE_SHOT) as proc:
        assert await proc.wait(timeout=30) == 0
        assert proc.last_json_line() == {"sent": 3, "cpu_s": 0.01}


async def test_a_dead_bot_is_reported_with_its_last_words(tmp_path: Path) -> None:
    async with _process(tmp_path, CRASHER) as proc:
        assert await proc.wait(timeout=30) == 3
        with pytest.raises(BotCrashedError, match="token was not accepted"):
            proc.check_alive()


async def test_samples_a_running_bot_and_stops_it(tmp_path: Path) -> None:
    proc = _process(tmp_path, SLEEPER)
    async with proc:
        proc.check_alive()
        sample = proc.sample()
        assert sample.cpu_seconds >= 0
        assert sample.rss_bytes > 0
        assert sample.peak_rss_bytes >= sample.rss_bytes
        assert sample.helper_rss_bytes == 0
    assert not proc.alive()


def test_environment_carries_the_settings_and_not_the_callers_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "the-developers-real-token")
    monkeypatch.setenv("SHARD_DATABASE_URL", "postgres://elsewhere")
    proc = _process(tmp_path, ONE_SHOT)
    env = proc.environment
    assert env["DISCORD_TOKEN"] == "not-a-secret"
    assert env["DISCORD_API_BASE"] == "http://127.0.0.1:9/api/v10"
    assert "SHARD_DATABASE_URL" not in env


def test_each_run_of_ours_starts_from_an_empty_benchmark_database(tmp_path: Path) -> None:
    cluster = tmp_path / "ours-postgres"
    assert "(new)" in reset_our_postgres(cluster)
    (cluster / "pgdata" / "base").mkdir(parents=True)
    (cluster / "pgdata" / "base" / "16384").write_bytes(b"rows of an earlier run")
    assert "emptied" in reset_our_postgres(cluster)
    assert not cluster.exists()
    # a cluster whose server is running (this process stands in for the postmaster) is left alone
    (cluster / "pgdata").mkdir(parents=True)
    (cluster / "pgdata" / "postmaster.pid").write_text(f"{os.getpid()}\n{cluster}\n0\n5432\n{tmp_path}\n")
    assert "kept" in reset_our_postgres(cluster)
    assert (cluster / "pgdata" / "postmaster.pid").exists()
