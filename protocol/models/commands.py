"""Application commands as Discord stores them (what GET/PUT .../commands exchange)."""

from __future__ import annotations

import attrs

from protocol.models.enums import ApplicationCommandType, ChannelType, OptionType
from protocol.models.snowflake import Snowflake

ChoiceValue = str | int | float


@attrs.frozen(kw_only=True)
class CommandChoice:
    name: str
    value: ChoiceValue
    name_localizations: dict[str, str] | None = attrs.field(default=None, eq=False)


@attrs.frozen(kw_only=True)
class CommandOption:
    type: OptionType
    name: str
    description: str = ""
    required: bool = False
    choices: tuple[CommandChoice, ...] | None = None
    options: tuple[CommandOption, ...] | None = None
    channel_types: tuple[ChannelType, ...] | None = None
    min_value: int | float | None = None
    max_value: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    autocomplete: bool | None = None


@attrs.frozen(kw_only=True)
class ApplicationCommand:
    name: str
    type: ApplicationCommandType = ApplicationCommandType.CHAT_INPUT
    description: str = ""
    options: tuple[CommandOption, ...] | None = None
    default_member_permissions: str | None = None
    nsfw: bool = False
    contexts: tuple[int, ...] | None = None
    integration_types: tuple[int, ...] | None = None
    id: Snowflake | None = None
    application_id: Snowflake | None = None
    guild_id: Snowflake | None = None
    version: Snowflake | None = None
