"""Messages, embeds and attachments."""

from __future__ import annotations

import attrs

from protocol.models.components import Component
from protocol.models.enums import MessageFlags
from protocol.models.snowflake import Snowflake
from protocol.models.users import Member, User


@attrs.frozen
class EmbedFooter:
    text: str
    icon_url: str | None = None


@attrs.frozen
class EmbedMedia:
    """An embed image, thumbnail or video."""

    url: str
    proxy_url: str | None = None
    height: int | None = None
    width: int | None = None


@attrs.frozen
class EmbedAuthor:
    name: str
    url: str | None = None
    icon_url: str | None = None


@attrs.frozen
class EmbedField:
    name: str
    value: str
    inline: bool = False


@attrs.frozen
class Embed:
    title: str | None = None
    type: str | None = None
    description: str | None = None
    url: str | None = None
    timestamp: str | None = None
    color: int | None = None
    footer: EmbedFooter | None = None
    image: EmbedMedia | None = None
    thumbnail: EmbedMedia | None = None
    author: EmbedAuthor | None = None
    fields: tuple[EmbedField, ...] = ()


@attrs.frozen
class Attachment:
    id: Snowflake
    filename: str
    size: int = 0
    url: str = ""
    proxy_url: str | None = None
    content_type: str | None = None
    description: str | None = None
    height: int | None = None
    width: int | None = None
    ephemeral: bool = False


@attrs.frozen
class Message:
    id: Snowflake
    channel_id: Snowflake
    author: User | None = None
    content: str = ""
    timestamp: str | None = None
    edited_timestamp: str | None = None
    type: int = 0
    tts: bool = False
    mention_everyone: bool = False
    pinned: bool = False
    guild_id: Snowflake | None = None
    member: Member | None = None
    webhook_id: Snowflake | None = None
    application_id: Snowflake | None = None
    flags: MessageFlags = MessageFlags.NONE
    embeds: tuple[Embed, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    components: tuple[Component, ...] = ()
