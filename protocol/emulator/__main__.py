"""``python -m protocol.emulator``: run the local Discord until Ctrl-C.

Why a CLI at all: developers point a bot (ours, or a peer library in the benchmarks) at the emulator from
another process. It prints the three things such a bot needs — API base, gateway URL, token — and serves
until interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys

import trio

from protocol.emulator.config import EmulatorConfig
from protocol.emulator.emulator import Emulator


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m protocol.emulator",
        description="Run the local Discord (REST v10 + gateway on one port) until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free port)")
    parser.add_argument("--shards", type=int, default=1, help="shard count returned by /gateway/bot")
    parser.add_argument(
        "--token", default=None, help="bot token to accept (default: one shaped like Discord's)"
    )
    parser.add_argument("--no-sandbox", action="store_true", help="do not seed the sandbox guild")
    parser.add_argument("--verbose", "-v", action="store_true", help="log every connection")
    return parser.parse_args(argv)


async def serve(config: EmulatorConfig) -> None:
    emulator = Emulator(config)
    async with trio.open_nursery() as nursery:
        await emulator.start(nursery)
        print(f"DISCORD_API_BASE={emulator.api_base}", flush=True)
        print(f"gateway: {emulator.gateway_url}", flush=True)
        print(f"DISCORD_TOKEN={emulator.token}", flush=True)
        if emulator.sandbox is not None:
            print(f"sandbox guild: {emulator.sandbox.guild.name} ({emulator.sandbox.id})", flush=True)
        print("serving; press Ctrl-C to stop", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        shard_count=args.shards,
        seed_sandbox=not args.no_sandbox,
        token=args.token,
    )
    try:
        trio.run(serve, config)
    except* KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
