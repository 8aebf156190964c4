"""Gateway intents: which event groups this connection subscribes to.

Why flags with names: configuration lists intents by name (``intents = ["guilds", "guild_messages"]``), the
IDENTIFY payload wants one integer, and a typo in a name must fail at load time with the list of valid names
rather than at connect time with close code 4013. Privileged intents (members, presences, message content)
are flagged so the configuration layer can warn that they need enabling in the Developer Portal (else 4014).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class Intents(enum.IntFlag):
    """Gateway intent bits (events--gateway.mdx, "List of Intents")."""

    GUILDS = 1 << 0
    GUILD_MEMBERS = 1 << 1
    GUILD_MODERATION = 1 << 2
    GUILD_EXPRESSIONS = 1 << 3
    GUILD_INTEGRATIONS = 1 << 4
    GUILD_WEBHOOKS = 1 << 5
    GUILD_INVITES = 1 << 6
    GUILD_VOICE_STATES = 1 << 7
    GUILD_PRESENCES = 1 << 8
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    GUILD_MESSAGE_TYPING = 1 << 11
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13
    DIRECT_MESSAGE_TYPING = 1 << 14
    MESSAGE_CONTENT = 1 << 15
    GUILD_SCHEDULED_EVENTS = 1 << 16
    AUTO_MODERATION_CONFIGURATION = 1 << 20
    AUTO_MODERATION_EXECUTION = 1 << 21
    GUILD_MESSAGE_POLLS = 1 << 24
    DIRECT_MESSAGE_POLLS = 1 << 25


PRIVILEGED_INTENTS = Intents.GUILD_MEMBERS | Intents.GUILD_PRESENCES | Intents.MESSAGE_CONTENT

#: What the bot needs by default: guild state, messages (stats), reactions, and members for join tracking is
#: privileged so it is not in the default.
DEFAULT_INTENTS = (
    Intents.GUILDS
    | Intents.GUILD_MESSAGES
    | Intents.GUILD_MESSAGE_REACTIONS
    | Intents.DIRECT_MESSAGES
    | Intents.GUILD_MODERATION
)


class UnknownIntentError(ValueError):
    """A configured intent name does not exist."""


def intents_from_names(names: Iterable[str]) -> Intents:
    """Combine intent names (case-insensitive: ``guild_messages`` or ``GUILD_MESSAGES``) into one value."""
    value = Intents(0)
    for raw in names:
        name = raw.strip().upper().replace("-", "_")
        try:
            value |= Intents[name]
        except KeyError:
            valid = ", ".join(member.name.lower() for member in Intents if member.name)
            raise UnknownIntentError(f"unknown gateway intent {raw!r}; valid names: {valid}") from None
    return value


def intent_names(value: int) -> list[str]:
    """The lower-case names of the bits set in ``value`` (unknown bits are ignored)."""
    return [member.name.lower() for member in Intents if member.name and value & member.value]


def privileged_in(value: int) -> list[str]:
    """Names of the privileged intents requested in ``value`` (they must be enabled in the portal)."""
    return intent_names(value & PRIVILEGED_INTENTS)
