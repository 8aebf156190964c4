"""``python -m protocol.emulator`` serves until interrupted and prints what a bot needs to connect."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import trio


async def test_cli_prints_api_base_and_token_and_serves() -> None:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "protocol.emulator", "--shards", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        output = b""
        with trio.fail_after(20):
            while b"serving" not in output:
                chunk = await process.stdout.receive_some(4096)
                assert chunk, output
                output += chunk
        lines = dict(line.split("=", 1) for line in output.decode().splitlines() if "=" in line)
        api_base, token = lines["DISCORD_API_BASE"], lines["DISCORD_TOKEN"]
        async with httpx.AsyncClient(base_url=api_base, headers={"Authorization": f"Bot {token}"}) as http:
            gateway = (await http.get("/gateway/bot")).json()
        assert gateway["shards"] == 2
        assert gateway["url"].startswith("ws://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGINT)
        with trio.fail_after(10):
            code = await process.wait()
    assert code == 0
