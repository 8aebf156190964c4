# mypy: ignore-errors
# (runs in the peers' virtualenv; discord.py is not installed where mypy runs)
"""REST limiter burst through discord.py's own HTTP client, for the side-by-side REST scenario.

Why the bare ``HTTPClient``: the scenario measures the rate limiter, so there is no gateway and no bot
object, only what every ``channel.send`` goes through (``client.http.request`` with a ``Route``). All
messages are started at once, as a bot announcing in many channels would; the library's limiter decides
when each goes on the wire. Prints one JSON line: messages sent, failures, and CPU seconds of the burst.

Environment: ``DISCORD_TOKEN``, ``DISCORD_API_BASE``, ``BURST_CHANNELS`` (comma-separated channel ids),
``BURST_PER_CHANNEL``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

import discord
from discord.http import Route


async def main() -> None:
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE"].rstrip("/")
    channels = [int(c) for c in os.environ["BURST_CHANNELS"].split(",")]
    per_channel = int(os.environ["BURST_PER_CHANNEL"])
    client = discord.Client(intents=discord.Intents.none())
    await client.login(os.environ["DISCORD_TOKEN"])
    failures: list[str] = []

    async def send(channel_id: int, index: int) -> None:
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        try:
            await client.http.request(route, json={"content": f"burst c{channel_id} m{index}"})
        except Exception as exc:  # a failure is a result here
            failures.append(f"{type(exc).__name__}: {exc}")

    cpu_before = time.process_time()
    await asyncio.gather(*(send(c, i) for i in range(per_channel) for c in channels))
    cpu = time.process_time() - cpu_before
    await client.close()
    total = len(channels) * per_channel
    print(json.dumps({"sent": total - len(failures), "failures": failures[:5], "cpu_s": cpu}), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("PEER_LOG_LEVEL", "WARNING"))
    asyncio.run(main())
