"""Realistic guild payloads (Discord's shapes: ids and permissions as strings) for guild actor tests."""

from __future__ import annotations

from typing import Any

from protocol.gateway.frames import Frame
from protocol.permissions import Permissions

GUILD_ID = 1000
OWNER_ID = 1
BOT_ID = 42
BOT_ROLE = 1001
MOD_ROLE = 1002
GENERAL = 2001
MOD_LOG = 2002

EVERYONE = Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES | Permissions.READ_MESSAGE_HISTORY
BOT_PERMS = Permissions.EMBED_LINKS | Permissions.MANAGE_MESSAGES


def role(role_id: int, name: str, permissions: int, position: int = 1) -> dict[str, Any]:
    return {"id": str(role_id), "name": name, "permissions": str(int(permissions)), "position": position}


def guild_create(seq: int = 1) -> Frame:
    return Frame(
        0,
        "GUILD_CREATE",
        seq,
        {
            "id": str(GUILD_ID),
            "name": "The Wandering Inn (sandbox)",
            "owner_id": str(OWNER_ID),
            "member_count": 5,
            "roles": [
                role(GUILD_ID, "@everyone", EVERYONE, 0),
                role(BOT_ROLE, "Bot", BOT_PERMS, 1),
                role(MOD_ROLE, "Moderator", Permissions.BAN_MEMBERS, 2),
            ],
            "channels": [
                {
                    "id": str(GENERAL),
                    "name": "general",
                    "type": 0,
                    "position": 0,
                    "permission_overwrites": [],
                },
                {
                    "id": str(MOD_LOG),
                    "name": "mod-log",
                    "type": 0,
                    "position": 1,
                    "permission_overwrites": [
                        {
                            "id": str(GUILD_ID),
                            "type": 0,
                            "allow": "0",
                            "deny": str(int(Permissions.VIEW_CHANNEL)),
                        },
                        {
                            "id": str(MOD_ROLE),
                            "type": 0,
                            "allow": str(int(Permissions.VIEW_CHANNEL)),
                            "deny": "0",
                        },
                    ],
                },
            ],
            "members": [
                {"user": {"id": str(OWNER_ID), "username": "owner"}, "roles": []},
                {"user": {"id": str(BOT_ID), "username": "Twi Bot Shard"}, "roles": [str(BOT_ROLE)]},
            ],
        },
    )


def dispatch(t: str, d: dict[str, Any], seq: int = 2) -> Frame:
    return Frame(0, t, seq, d)
