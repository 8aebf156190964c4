"""Users and guild members as interactions and the gateway carry them."""

from __future__ import annotations

import attrs

from protocol.models.snowflake import Snowflake
from protocol.permissions import Permissions


@attrs.frozen
class User:
    id: Snowflake
    username: str
    discriminator: str | None = None
    global_name: str | None = None
    avatar: str | None = None
    bot: bool = False
    system: bool = False

    @property
    def display_name(self) -> str:
        return self.global_name or self.username

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@attrs.frozen
class Member:
    """A guild member. ``user`` is absent in resolved data; ``permissions`` is present in interactions
    (the member's permissions in the interaction's channel, overwrites included)."""

    user: User | None = None
    nick: str | None = None
    avatar: str | None = None
    roles: tuple[Snowflake, ...] = ()
    joined_at: str | None = None
    premium_since: str | None = None
    deaf: bool = False
    mute: bool = False
    pending: bool = False
    permissions: Permissions | None = None
    communication_disabled_until: str | None = None
