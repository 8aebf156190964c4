"""Who may run what: one table of permission levels, resolved from the interaction itself.

Why levels (owner > guild admin > moderator > everyone) and not Discord's own checks: Discord's
``default_member_permissions`` only hides a command by default, guild admins can re-grant it in the server
settings, and it applies to top-level commands only — the old bot's subcommands (``/mod state``) ended up
open to everyone because of exactly that (inventory §0). So the *router* decides, before any handler runs,
from one table:

=========  ===============================================================================
owner      user id in the configured owner list
admin      owner, or Administrator permission, or the guild's configured admin role
moderator  admin, or Ban Members permission, or the guild's configured moderator role
everyone   anybody
=========  ===============================================================================

Discord's ``default_member_permissions`` is still set to match (`default_member_permissions_for`), so members
do not see commands they cannot run. The member's ``permissions`` field in an interaction is already computed
by Discord for the channel (roles and overwrites included), so no cache is needed to resolve a level; the
guild's configured roles come from `GuildRoleSettings` (the guild settings repository in production).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Protocol

import attrs

from protocol.models import Interaction, Permissions


class PermissionLevel(enum.IntEnum):
    EVERYONE = 0
    MODERATOR = 1
    ADMIN = 2
    OWNER = 3

    @property
    def label(self) -> str:
        return {0: "everyone", 1: "moderator", 2: "admin", 3: "bot owner"}[int(self)]


def default_member_permissions_for(level: PermissionLevel) -> int | None:
    """Discord's ``default_member_permissions`` matching a level (None = visible to everyone).

    An integer, as the OpenAPI request schema for command writes has it (Discord answers with a string;
    sync compares both sides as strings)."""
    if level is PermissionLevel.EVERYONE:
        return None
    if level is PermissionLevel.MODERATOR:
        return int(Permissions.BAN_MEMBERS)
    if level is PermissionLevel.ADMIN:
        return int(Permissions.ADMINISTRATOR)
    return 0  # owner: hidden from everyone but server admins; the router refuses all but owners


@attrs.frozen
class GuildRoles:
    admin_role_id: int | None = None
    mod_role_id: int | None = None


class GuildRoleSettings(Protocol):
    """The guild's configured admin and moderator roles."""

    async def guild_roles(self, guild_id: int) -> GuildRoles: ...


class NoGuildRoles:
    """Role settings for a bot without storage: no configured roles, permissions alone decide."""

    async def guild_roles(self, guild_id: int) -> GuildRoles:
        return GuildRoles()


class PermissionResolver:
    """Computes the invoker's `PermissionLevel` for an interaction."""

    def __init__(self, owner_ids: Iterable[int], settings: GuildRoleSettings | None = None) -> None:
        self._owner_ids = frozenset(owner_ids)
        self._settings = settings or NoGuildRoles()

    async def level_of(self, interaction: Interaction) -> PermissionLevel:
        user_id = interaction.invoker_id
        if user_id is not None and user_id in self._owner_ids:
            return PermissionLevel.OWNER
        member = interaction.member
        if interaction.guild_id is None or member is None:
            return PermissionLevel.EVERYONE
        permissions = member.permissions or Permissions.NONE
        roles = await self._settings.guild_roles(interaction.guild_id)
        if Permissions.ADMINISTRATOR in permissions or roles.admin_role_id in member.roles:
            return PermissionLevel.ADMIN
        if Permissions.BAN_MEMBERS in permissions or roles.mod_role_id in member.roles:
            return PermissionLevel.MODERATOR
        return PermissionLevel.EVERYONE
