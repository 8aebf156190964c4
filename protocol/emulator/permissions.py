"""Permission bits and the computation Discord documents (base permissions, then channel overwrites).

Why the emulator computes permissions at all: interactions carry ``member.permissions`` and
``app_permissions``, and the bot's permission checks (DESIGN §7) read them. A sandbox member with the
Moderator role must arrive with Ban Members set, an admin with everything; computing them from roles the way
Discord does keeps the scripted members honest when tests change their roles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

CREATE_INSTANT_INVITE = 1 << 0
KICK_MEMBERS = 1 << 1
BAN_MEMBERS = 1 << 2
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_AUDIT_LOG = 1 << 7
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
MANAGE_WEBHOOKS = 1 << 29
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
MODERATE_MEMBERS = 1 << 40

ALL_PERMISSIONS = (1 << 51) - 1

DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
)


def base_permissions(*, is_owner: bool, everyone_permissions: int, role_permissions: Iterable[int]) -> int:
    """Guild-level permissions: owner and Administrator get everything, otherwise the union of roles."""
    if is_owner:
        return ALL_PERMISSIONS
    permissions = everyone_permissions
    for role_bits in role_permissions:
        permissions |= role_bits
    if permissions & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return permissions


def apply_overwrites(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    overwrites: Iterable[Mapping[str, object]],
) -> int:
    """Channel permissions from guild permissions and a channel's overwrites, in Discord's documented order:
    @everyone overwrite, then the union of role overwrites, then the member overwrite."""
    if base & ADMINISTRATOR or base == ALL_PERMISSIONS:
        return ALL_PERMISSIONS
    by_id = {int(str(o["id"])): o for o in overwrites}
    permissions = base

    def bits(overwrite: Mapping[str, object], key: str) -> int:
        return int(str(overwrite.get(key, "0")))

    everyone = by_id.get(guild_id)
    if everyone is not None:
        permissions &= ~bits(everyone, "deny")
        permissions |= bits(everyone, "allow")
    allow = deny = 0
    for role_id in member_role_ids:
        role_overwrite = by_id.get(role_id)
        if role_overwrite is not None:
            allow |= bits(role_overwrite, "allow")
            deny |= bits(role_overwrite, "deny")
    permissions = (permissions & ~deny) | allow
    member = by_id.get(member_id)
    if member is not None:
        permissions = (permissions & ~bits(member, "deny")) | bits(member, "allow")
    return permissions
