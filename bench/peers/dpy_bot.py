# mypy: ignore-errors
# (runs in the peers' virtualenv; discord.py and hikari are not installed where mypy runs)
"""A minimal discord.py bot that answers ``/ping`` the way ours does, for side-by-side benchmarks.

Why this file looks the way it does: the harness must compare libraries, not bots, so this is the smallest
bot a discord.py user would write — a ``CommandTree`` with ``/ping`` answering "Pong!" (interaction callback
type 4) and plain listeners that count the events of the event-stream scenario. Library defaults are kept
(message cache, member cache from intents) except member chunking at start-up, which our bot does not do
either and which would turn the guild-flood scenario into a chunking benchmark.

It runs in the peers' own virtualenv (``bench/peers/setup.sh``), never in the project's, and is configured by
environment only, exactly like ``shard run``:

* ``DISCORD_TOKEN``, ``DISCORD_API_BASE`` — the emulator's token and REST base (``discord.http.Route.BASE``;
  the gateway URL is then read from ``GET /gateway/bot`` in ``setup_hook``);
* ``PEER_COMPRESSION`` — ``zlib-stream`` (default, what the scenarios specify) or ``zstd-stream``;
* ``PEER_INTENTS`` — gateway intents as an integer (default: guilds, members, messages, reactions, typing).

``/count`` answers ``count=N`` with the number of counted events, so the harness can check delivery.
"""

from __future__ import annotations

import asyncio
import logging
import os
import zlib

import discord
import yarl
from discord import app_commands

DEFAULT_INTENTS = (1 << 0) | (1 << 1) | (1 << 9) | (1 << 10) | (1 << 11)


class _ZlibStreamContext:
    """zlib-stream inflater in discord.py's decompression-context shape (it prefers zstd when installed)."""

    __slots__ = ("buffer", "context")

    COMPRESSION_TYPE: str = "zlib-stream"

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.context = zlib.decompressobj()

    def decompress(self, data: bytes, /) -> str | None:
        self.buffer.extend(data)
        if len(data) < 4 or data[-4:] != b"\x00\x00\xff\xff":
            return None
        message = self.context.decompress(self.buffer)
        self.buffer = bytearray()
        return message.decode("utf-8")


def _configure_library() -> None:
    discord.http.Route.BASE = os.environ["DISCORD_API_BASE"].rstrip("/")
    if os.environ.get("PEER_COMPRESSION", "zlib-stream") == "zlib-stream":
        discord.utils._ActiveDecompressionContext = _ZlibStreamContext  # type: ignore[attr-defined]


class CountingClient(discord.Client):
    """A client whose listeners only count, so the library's own parsing and dispatch is what we measure."""

    def __init__(self, intents: discord.Intents) -> None:
        super().__init__(intents=intents, chunk_guilds_at_startup=False)
        self.tree = app_commands.CommandTree(self)
        self.counted_events = 0

    async def setup_hook(self) -> None:
        # An unsharded discord.py client connects to its hard-coded DEFAULT_GATEWAY; ask the configured
        # REST base for the gateway URL instead, as the bot under test and hikari do.
        _shards, url, _limits = await self.http.get_bot_gateway()
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    async def on_message(self, message: discord.Message) -> None:
        self.counted_events += 1

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.counted_events += 1

    async def on_raw_typing(self, payload: discord.RawTypingEvent) -> None:
        self.counted_events += 1

    async def on_member_update(self, before: discord.Member, after: discord.Member) -> None:
        self.counted_events += 1

    async def on_ready(self) -> None:
        print("peer-ready", flush=True)


def build_client() -> CountingClient:
    intents = discord.Intents._from_value(int(os.environ.get("PEER_INTENTS", DEFAULT_INTENTS)))
    client = CountingClient(intents)

    @client.tree.command(name="ping", description="Check that the bot answers")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Pong!")

    @client.tree.command(name="count", description="How many events the listeners counted")
    async def count(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"count={client.counted_events}")

    return client


async def main() -> None:
    _configure_library()
    client = build_client()
    async with client:
        await client.start(os.environ["DISCORD_TOKEN"])


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("PEER_LOG_LEVEL", "WARNING"))
    asyncio.run(main())
