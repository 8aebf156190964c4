# mypy: ignore-errors
# (runs in the peers' virtualenv; hikari is not installed where mypy runs)
"""REST limiter burst through hikari's ``RESTApp``, for the side-by-side REST scenario.

Why ``RESTApp``: it is hikari's REST client without a gateway, with the same bucket manager a
``GatewayBot`` uses. All messages are started at once; the library's limiter decides when each goes on the
wire. Prints one JSON line: messages sent, failures, and CPU seconds of the burst.

Environment: ``DISCORD_TOKEN``, ``DISCORD_API_BASE``, ``BURST_CHANNELS`` (comma-separated channel ids),
``BURST_PER_CHANNEL``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time

import hikari


async def main() -> None:
    channels = [int(c) for c in os.environ["BURST_CHANNELS"].split(",")]
    per_channel = int(os.environ["BURST_PER_CHANNEL"])
    app = hikari.RESTApp(url=os.environ["DISCORD_API_BASE"].rstrip("/"))
    await app.start()
    failures: list[str] = []
    async with app.acquire(os.environ["DISCORD_TOKEN"], hikari.TokenType.BOT) as rest:

        async def send(channel_id: int, index: int) -> None:
            try:
                await rest.create_message(channel_id, f"burst c{channel_id} m{index}")
            except Exception as exc:  # a failure is a result here
                failures.append(f"{type(exc).__name__}: {exc}")

        cpu_before = time.process_time()
        await asyncio.gather(*(send(c, i) for i in range(per_channel) for c in channels))
        cpu = time.process_time() - cpu_before
    await app.close()
    total = len(channels) * per_channel
    print(json.dumps({"sent": total - len(failures), "failures": failures[:5], "cpu_s": cpu}), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("PEER_LOG_LEVEL", "WARNING"))
    asyncio.run(main())
