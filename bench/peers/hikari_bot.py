# mypy: ignore-errors
# (runs in the peers' virtualenv; discord.py and hikari are not installed where mypy runs)
"""A minimal hikari bot that answers ``/ping`` the way ours does, for side-by-side benchmarks.

Why this file looks the way it does: the harness must compare libraries, not bots, so this is the smallest
bot a hikari user would write — a ``GatewayBot`` listening for ``InteractionCreateEvent`` and answering
``/ping`` with "Pong!" (interaction callback type 4), plus listeners that count the events of the
event-stream scenario. Library defaults are kept (full cache) except ``auto_chunk_members``, which our bot
does not do either, the update check (no internet) and the banner.

It runs in the peers' own virtualenv (``bench/peers/setup.sh``) and is configured by environment only:

* ``DISCORD_TOKEN``, ``DISCORD_API_BASE`` — the emulator's token and REST base (hikari's ``rest_url``);
* ``PEER_COMPRESSION`` — ``zlib-stream`` (default, what the scenarios specify) or ``zstd-stream``;
* ``PEER_INTENTS`` — gateway intents as an integer (default: guilds, members, messages, reactions, typing).

``/count`` answers ``count=N`` with the number of counted events, so the harness can check delivery.
"""

from __future__ import annotations

import logging
import os

import hikari
from hikari.impl import shard as shard_impl

DEFAULT_INTENTS = (1 << 0) | (1 << 1) | (1 << 9) | (1 << 10) | (1 << 11)


def _choose_compression() -> None:
    # hikari picks zstd when backports.zstd is importable; the default is bound at definition time.
    wanted = os.environ.get("PEER_COMPRESSION", "zlib-stream")
    compression = (
        hikari.api.GatewayCompression.TRANSPORT_ZLIB_STREAM
        if wanted == "zlib-stream"
        else hikari.api.GatewayCompression.TRANSPORT_ZSTD_STREAM
    )
    defaults = shard_impl.GatewayShardImpl.__init__.__kwdefaults__
    if defaults is not None:
        defaults["compression"] = compression


def build_bot() -> hikari.GatewayBot:
    bot = hikari.GatewayBot(
        os.environ["DISCORD_TOKEN"],
        rest_url=os.environ["DISCORD_API_BASE"].rstrip("/"),
        intents=hikari.Intents(int(os.environ.get("PEER_INTENTS", DEFAULT_INTENTS))),
        auto_chunk_members=False,
        banner=None,
        logs=os.environ.get("PEER_LOG_LEVEL", "WARNING"),
    )
    counted = [0]

    async def count_event(_event: hikari.Event) -> None:
        counted[0] += 1

    for event_type in (
        hikari.GuildMessageCreateEvent,
        hikari.GuildReactionAddEvent,
        hikari.GuildTypingEvent,
        hikari.MemberUpdateEvent,
    ):
        bot.subscribe(event_type, count_event)

    async def on_interaction(event: hikari.InteractionCreateEvent) -> None:
        interaction = event.interaction
        if not isinstance(interaction, hikari.CommandInteraction):
            return
        if interaction.command_name == "ping":
            content = "Pong!"
        elif interaction.command_name == "count":
            content = f"count={counted[0]}"
        else:
            return
        await interaction.create_initial_response(hikari.ResponseType.MESSAGE_CREATE, content)

    async def on_started(_event: hikari.ShardReadyEvent) -> None:
        print("peer-ready", flush=True)

    bot.subscribe(hikari.InteractionCreateEvent, on_interaction)
    bot.subscribe(hikari.ShardReadyEvent, on_started)
    return bot


def main() -> None:
    _choose_compression()
    bot = build_bot()
    bot.run(check_for_updates=False, enable_signal_handlers=True, propagate_interrupts=False)


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("PEER_LOG_LEVEL", "WARNING"))
    main()
