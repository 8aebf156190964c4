"""Gateway opcodes and close codes, and the one decision that matters about a close code: may we reconnect?

Why a fixed fatal set: Discord's table (topics/opcodes-and-status-codes) marks exactly 4004 (bad token),
4010 (invalid shard), 4011 (sharding required), 4012 (invalid API version), 4013 (invalid intents) and 4014
(disallowed intents) as "do not reconnect". Each of those is a configuration error that no retry can fix, so
retrying only burns identify quota (and, for a bad token, risks a token reset). Every other code — including
4001/4003/4005, which some libraries wrongly treat as fatal — is a transient or session-level problem that a
reconnect (or a fresh identify) recovers from.
"""

from __future__ import annotations

import enum


class Opcode(enum.IntEnum):
    """Gateway opcodes (API v10)."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11
    REQUEST_SOUNDBOARD_SOUNDS = 31


class CloseCode(enum.IntEnum):
    """Gateway close event codes, plus the websocket codes we send ourselves."""

    NORMAL = 1000
    GOING_AWAY = 1001
    ABNORMAL = 1006  # never sent on the wire: the TCP connection dropped without a close frame
    UNKNOWN_ERROR = 4000
    UNKNOWN_OPCODE = 4001
    DECODE_ERROR = 4002
    NOT_AUTHENTICATED = 4003
    AUTHENTICATION_FAILED = 4004
    ALREADY_AUTHENTICATED = 4005
    INVALID_SEQ = 4007
    RATE_LIMITED = 4008
    SESSION_TIMED_OUT = 4009
    INVALID_SHARD = 4010
    SHARDING_REQUIRED = 4011
    INVALID_API_VERSION = 4012
    INVALID_INTENTS = 4013
    DISALLOWED_INTENTS = 4014
    #: Our own code for "we are closing to resume" (zombie, op 7, op 9 d=true). Any code other than 1000/1001
    #: keeps the session alive on Discord's side, so the RESUME that follows can succeed.
    RESUMABLE_CLOSE = 4900


#: Codes after which reconnecting cannot help (docs table, "Reconnect: false").
FATAL_CLOSE_CODES: frozenset[int] = frozenset({4004, 4010, 4011, 4012, 4013, 4014})

#: Human explanations for the fatal codes, used in the error the shard stops with.
FATAL_CLOSE_REASONS: dict[int, str] = {
    4004: "authentication failed: the bot token is invalid (check DISCORD_TOKEN)",
    4010: "invalid shard: the shard id/count sent in IDENTIFY is not valid",
    4011: "sharding required: this session would handle too many guilds; use more shards",
    4012: "invalid API version for the gateway",
    4013: "invalid intents: the intents bitfield is not valid",
    4014: "disallowed intents: a privileged intent is not enabled for this application in the "
    "Developer Portal",
}


def is_fatal(code: int | None) -> bool:
    """True when the close code means "stop, fix the configuration" rather than "reconnect"."""
    return code in FATAL_CLOSE_CODES


def describe_close(code: int | None) -> str:
    """A short readable name for a close code, for logs and errors."""
    if code is None:
        return "connection lost"
    if code in FATAL_CLOSE_REASONS:
        return f"{code} ({FATAL_CLOSE_REASONS[code]})"
    try:
        return f"{code} ({CloseCode(code).name.lower()})"
    except ValueError:
        return str(code)
