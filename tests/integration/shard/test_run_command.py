"""`shard run` as a real process: serves the endpoints, and SIGTERM shuts it down gracefully with exit 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import trio

SHARD = Path(sys.executable).with_name("shard")


async def test_shard_run_serves_health_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHARD_PROFILE": "testing",
        "SHARD_LOGGING_FORMAT": "console",
        "SHARD_LOGGING_FILE": str(tmp_path / "bot.log"),
        "DISCORD_TOKEN": "",
    }
    env.pop("SHARD_CONFIG", None)
    process = await trio.lowlevel.open_process(
        [str(SHARD), "run"], env=env, cwd=tmp_path, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    output = b""
    try:
        with trio.fail_after(20):
            while not (match := re.search(rb"health endpoints on (http://[\d.]+:\d+)", output)):
                chunk = await process.stderr.receive_some()
                assert chunk, f"shard run ended early: {output.decode()}"
                output += chunk
            url = match.group(1).decode()
            async with httpx.AsyncClient(timeout=5) as client:
                assert (await client.get(url + "/readyz")).status_code == 200
            process.send_signal(signal.SIGTERM)
            while chunk := await process.stderr.receive_some():
                output += chunk
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert "DISCORD_TOKEN is not set" in text
    assert "graceful shutdown finished" in text and "bot stopped" in text
    assert "bot stopped" in (tmp_path / "bot.log").read_text()  # the rotating file got the JSON lines too
