"""Discord permission bits and the permission computation, as pure functions.

Why here and pure: three consumers compute effective permissions — the guild actor (the bot's own
permissions, to avoid REST calls that would fail with 50013), the command router (a member's permissions for
RBAC checks and ``default_member_permissions``), and tests. The algorithm is Discord's documented one
(topics/permissions, "Permission Overwrites"): it is easy to get subtly wrong (the @everyone overwrite must
apply before role overwrites, and role allows/denies are summed before they apply), so it exists once, takes
plain ints and mappings, and is tested by table.

Order: the guild owner has everything; base = @everyone role | member's roles; Administrator in the base
means everything and skips overwrites; then the channel's @everyone overwrite (id = guild id), then the
member's role overwrites combined (deny all, then allow all), then the member's own overwrite. Finally the
implicit rule: no VIEW_CHANNEL in a channel means no permission there at all.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any

import attrs


class Permissions(enum.IntFlag):
    """Permission bits (topics/permissions, "Bitwise Permission Flags"); unknown bits are kept by IntFlag."""

    NONE = 0
    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50
    PIN_MESSAGES = 1 << 51


#: Every permission bit, what the owner and administrators have. Unknown future bits are included too.
ALL_PERMISSIONS = (1 << 64) - 1


class OverwriteType(enum.IntEnum):
    ROLE = 0
    MEMBER = 1


@attrs.define(slots=True, frozen=True)
class Overwrite:
    """One channel permission overwrite."""

    id: int
    type: OverwriteType
    allow: int
    deny: int

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Overwrite:
        return cls(
            id=int(payload["id"]),
            type=OverwriteType(int(payload["type"])),
            allow=int(payload.get("allow", 0) or 0),
            deny=int(payload.get("deny", 0) or 0),
        )


def parse_overwrites(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Overwrite, ...]:
    """Overwrites from a channel payload's ``permission_overwrites`` (strings of digits on the wire)."""
    return tuple(Overwrite.from_payload(item) for item in raw or ())


def base_permissions(
    *,
    guild_id: int,
    owner_id: int | None,
    member_id: int,
    member_role_ids: Iterable[int],
    role_permissions: Mapping[int, int],
) -> int:
    """Guild-level permissions of a member: owner = all; @everyone | roles; Administrator = all."""
    if owner_id is not None and member_id == owner_id:
        return ALL_PERMISSIONS
    permissions = role_permissions.get(guild_id, 0)  # the @everyone role has the guild's id
    for role_id in member_role_ids:
        permissions |= role_permissions.get(role_id, 0)
    if permissions & Permissions.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return permissions


def channel_permissions(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    overwrites: Iterable[Overwrite],
) -> int:
    """Apply a channel's overwrites to ``base`` (from `base_permissions`)."""
    if base & Permissions.ADMINISTRATOR:
        return ALL_PERMISSIONS
    roles = set(member_role_ids)
    everyone: Overwrite | None = None
    member: Overwrite | None = None
    role_allow = role_deny = 0
    for overwrite in overwrites:
        if overwrite.type is OverwriteType.ROLE:
            if overwrite.id == guild_id:
                everyone = overwrite
            elif overwrite.id in roles:
                role_allow |= overwrite.allow
                role_deny |= overwrite.deny
        elif overwrite.id == member_id:
            member = overwrite
    permissions = base
    if everyone is not None:
        permissions = (permissions & ~everyone.deny) | everyone.allow
    permissions = (permissions & ~role_deny) | role_allow
    if member is not None:
        permissions = (permissions & ~member.deny) | member.allow
    if not permissions & Permissions.VIEW_CHANNEL:
        return 0
    return permissions


def compute_permissions(
    *,
    guild_id: int,
    owner_id: int | None,
    member_id: int,
    member_role_ids: Iterable[int],
    role_permissions: Mapping[int, int],
    overwrites: Iterable[Overwrite] | None = None,
) -> int:
    """Effective permissions of a member, guild-wide (``overwrites=None``) or in one channel."""
    role_ids = tuple(member_role_ids)
    base = base_permissions(
        guild_id=guild_id,
        owner_id=owner_id,
        member_id=member_id,
        member_role_ids=role_ids,
        role_permissions=role_permissions,
    )
    if overwrites is None:
        return base
    return channel_permissions(
        base, guild_id=guild_id, member_id=member_id, member_role_ids=role_ids, overwrites=overwrites
    )


def has_permissions(value: int, required: int) -> bool:
    """True when ``value`` holds every bit of ``required`` (Administrator implies all)."""
    if value & Permissions.ADMINISTRATOR:
        return True
    return value & required == required


def missing_permissions(value: int, required: int) -> list[str]:
    """Names of the bits of ``required`` that ``value`` lacks, for error messages."""
    if value & Permissions.ADMINISTRATOR:
        return []
    lacking = required & ~value
    return [flag.name.lower() for flag in Permissions if flag.name and lacking & flag.value]
