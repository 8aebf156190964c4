"""REST limiter burst through our own client (``protocol.rest``), run as a separate process by the scenario.

Why a separate process and `LocalRateLimiter`: the REST scenario compares rate limiters, so each library
runs alone in its own process with no gateway, and CPU seconds belong to the client. In the bot the same
planner runs inside the rate-limiter actor (`actors.ratelimiter`); `LocalRateLimiter` drives that planner
directly, which is what scripts and benchmarks use.

Environment: ``DISCORD_TOKEN``, ``DISCORD_API_BASE``, ``BURST_CHANNELS`` (comma-separated channel ids),
``BURST_PER_CHANNEL``. Prints one JSON line: messages sent, failures, CPU seconds of the burst.
"""

from __future__ import annotations

import os
import sys
import time

import orjson
import trio

from protocol.rest.client import RestClient
from protocol.rest.limiter import LocalRateLimiter


async def burst(api_base: str, token: str, channels: list[int], per_channel: int) -> dict[str, object]:
    failures: list[str] = []
    async with RestClient(api_base, token, LocalRateLimiter()) as rest:

        async def send(channel_id: int, index: int) -> None:
            try:
                await rest.create_message(channel_id, {"content": f"burst c{channel_id} m{index}"})
            except Exception as exc:  # a failure is a result here
                failures.append(f"{type(exc).__name__}: {exc}")

        cpu_before = time.process_time()
        async with trio.open_nursery() as nursery:
            for index in range(per_channel):
                for channel_id in channels:
                    nursery.start_soon(send, channel_id, index)
        cpu = time.process_time() - cpu_before
    total = len(channels) * per_channel
    return {"sent": total - len(failures), "failures": failures[:5], "cpu_s": cpu}


def main() -> None:
    channels = [int(c) for c in os.environ["BURST_CHANNELS"].split(",")]
    result = trio.run(
        burst,
        os.environ["DISCORD_API_BASE"],
        os.environ["DISCORD_TOKEN"],
        channels,
        int(os.environ["BURST_PER_CHANNEL"]),
    )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")


if __name__ == "__main__":
    main()
