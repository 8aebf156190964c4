"""Interactions (INTERACTION_CREATE) with their per-type data, options tree and resolved entities.

``data`` is a union decided by the shape the interaction type implies: application command data (also used
by autocomplete), message component data, or modal submit data. The converter picks the class from the
interaction's ``type`` (see `protocol.models.converter`), so a component interaction can never be mistaken
for a command.
"""

from __future__ import annotations

import attrs

from protocol.models.components import Component
from protocol.models.enums import (
    ApplicationCommandType,
    ComponentType,
    InteractionContextType,
    InteractionType,
    OptionType,
)
from protocol.models.guilds import Channel, Role
from protocol.models.messages import Attachment, Message
from protocol.models.snowflake import Snowflake
from protocol.models.users import Member, User
from protocol.permissions import Permissions

OptionValue = str | int | float | bool


@attrs.frozen
class Resolved:
    users: dict[Snowflake, User] = attrs.field(factory=dict)
    members: dict[Snowflake, Member] = attrs.field(factory=dict)
    roles: dict[Snowflake, Role] = attrs.field(factory=dict)
    channels: dict[Snowflake, Channel] = attrs.field(factory=dict)
    messages: dict[Snowflake, Message] = attrs.field(factory=dict)
    attachments: dict[Snowflake, Attachment] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class InteractionOption:
    """One node of the options tree: a subcommand/group (``options``) or a parameter (``value``)."""

    name: str
    type: OptionType
    value: OptionValue | None = None
    options: tuple[InteractionOption, ...] = ()
    focused: bool = False


@attrs.frozen(kw_only=True)
class ApplicationCommandData:
    id: Snowflake
    name: str
    type: ApplicationCommandType = ApplicationCommandType.CHAT_INPUT
    resolved: Resolved | None = None
    options: tuple[InteractionOption, ...] = ()
    guild_id: Snowflake | None = None
    target_id: Snowflake | None = None


@attrs.frozen(kw_only=True)
class ComponentData:
    custom_id: str
    component_type: ComponentType
    values: tuple[str, ...] = ()
    resolved: Resolved | None = None


@attrs.frozen(kw_only=True)
class ModalSubmitData:
    custom_id: str
    components: tuple[Component, ...] = ()
    resolved: Resolved | None = None


InteractionData = ApplicationCommandData | ComponentData | ModalSubmitData

#: Which data class each interaction type carries.
DATA_CLASSES: dict[InteractionType, type[InteractionData]] = {
    InteractionType.APPLICATION_COMMAND: ApplicationCommandData,
    InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: ApplicationCommandData,
    InteractionType.MESSAGE_COMPONENT: ComponentData,
    InteractionType.MODAL_SUBMIT: ModalSubmitData,
}


@attrs.frozen(kw_only=True)
class Interaction:
    id: Snowflake
    application_id: Snowflake
    type: InteractionType
    token: str = attrs.field(repr=False)
    version: int = 1
    data: InteractionData | None = None
    guild_id: Snowflake | None = None
    channel_id: Snowflake | None = None
    channel: Channel | None = None
    member: Member | None = None
    user: User | None = None
    message: Message | None = None
    app_permissions: Permissions | None = None
    locale: str | None = None
    guild_locale: str | None = None
    context: InteractionContextType | None = None

    @property
    def invoker(self) -> User | None:
        """The user who triggered the interaction (``member.user`` in guilds, ``user`` in DMs)."""
        if self.member is not None and self.member.user is not None:
            return self.member.user
        return self.user

    @property
    def invoker_id(self) -> Snowflake | None:
        user = self.invoker
        return None if user is None else user.id
