"""Guilds, roles and channels: the slim subset the bot's caches and commands read."""

from __future__ import annotations

import attrs

from protocol.models.enums import ChannelType
from protocol.models.snowflake import Snowflake
from protocol.permissions import Permissions


@attrs.frozen
class Role:
    id: Snowflake
    name: str
    color: int = 0
    hoist: bool = False
    position: int = 0
    permissions: Permissions = Permissions.NONE
    managed: bool = False
    mentionable: bool = False
    icon: str | None = None
    unicode_emoji: str | None = None
    flags: int = 0

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"


@attrs.frozen
class Channel:
    """A channel; partial in interactions and resolved data (only id, type and a few fields are sent)."""

    id: Snowflake
    type: ChannelType = ChannelType.GUILD_TEXT
    guild_id: Snowflake | None = None
    name: str | None = None
    topic: str | None = None
    nsfw: bool = False
    position: int | None = None
    parent_id: Snowflake | None = None
    last_message_id: Snowflake | None = None
    rate_limit_per_user: int | None = None
    permissions: Permissions | None = None

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"


@attrs.frozen
class Guild:
    """A guild; ``roles``/``channels`` are only present in GUILD_CREATE and full REST fetches."""

    id: Snowflake
    name: str | None = None
    icon: str | None = None
    owner_id: Snowflake | None = None
    unavailable: bool = False
    member_count: int | None = None
    preferred_locale: str | None = None
    features: tuple[str, ...] = ()
    roles: tuple[Role, ...] = ()
    channels: tuple[Channel, ...] = ()
