"""What REST route handlers share: the state, the interaction store, the config and an event emitter.

Why one small explicit object: handlers are plain functions grouped in modules by Discord resource; they
need the same four things, passed in when the routes are registered (no module globals, no service locator).
``emit`` is how a handler says "Discord would now dispatch this event" without knowing about shards.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from protocol.emulator import errors
from protocol.emulator import permissions as perms
from protocol.emulator.config import EmulatorConfig
from protocol.emulator.interaction_records import InteractionStore
from protocol.emulator.state import Channel, EmulatorState, Guild, JSONObject

Emit = Callable[[int | None, str, JSONObject], None]


@attrs.frozen(slots=True)
class RouteDeps:
    state: EmulatorState
    interactions: InteractionStore
    config: EmulatorConfig
    emit: Emit

    def channel(self, channel_id: int) -> Channel:
        channel = self.state.channels.get(channel_id)
        if channel is None:
            raise errors.unknown_channel()
        return channel

    def guild(self, guild_id: int) -> Guild:
        guild = self.state.guilds.get(guild_id)
        if guild is None:
            raise errors.unknown_guild()
        return guild

    def require_bot_permissions(self, channel: Channel, needed: int) -> None:
        """50001 when the bot cannot see the channel, 50013 when it lacks ``needed``."""
        if channel.guild_id is None:
            return
        have = self.state.channel_permissions(channel.id, self.state.bot_user.id)
        if not have & perms.VIEW_CHANNEL:
            raise errors.missing_access()
        if have & needed != needed:
            raise errors.missing_permissions()

    def require_outranks(self, guild: Guild, target_id: int, permission: int) -> None:
        """50013 unless the bot has ``permission`` and outranks ``target_id`` (never the owner or itself)."""
        bot_id = self.state.bot_user.id
        if not self.state.guild_permissions(guild.id, bot_id) & permission:
            raise errors.missing_permissions()
        if target_id in (guild.owner_id, bot_id):
            raise errors.missing_permissions()
        if target_id in guild.members and self.state.highest_role_position(
            guild.id, target_id
        ) >= self.state.highest_role_position(guild.id, bot_id):
            raise errors.missing_permissions()

    def message(self, channel_id: int, message_id: int) -> JSONObject:
        message = self.state.channel_messages(channel_id).get(message_id)
        if message is None:
            raise errors.unknown_message()
        return message
