"""Message and modal components (buttons, selects, text inputs, layout), as a tagged union on ``type``.

Why a hand-written dispatch on ``type`` instead of trying each class: the same JSON shape means different
things by type (a user select and a role select carry identical fields), and Discord adds new component types
regularly. The converter reads ``type`` first, builds the matching class, and keeps anything it does not know
as `UnknownComponent` with the raw dict, so a message carrying tomorrow's component still parses and can be
echoed back unchanged.

The same classes serve both directions: building a reply (``custom_id``, ``options``, ``style``) and reading
what a user submitted (``values`` of a select, ``value`` of a text input in a modal submit), so fields that
only exist in one direction are optional.
"""

from __future__ import annotations

from typing import Any

import attrs

from protocol.models.enums import ButtonStyle, ChannelType, ComponentType, TextInputStyle
from protocol.models.snowflake import Snowflake


@attrs.frozen
class PartialEmoji:
    name: str | None = None
    id: Snowflake | None = None
    animated: bool = False


@attrs.frozen(kw_only=True)
class Button:
    type: ComponentType = ComponentType.BUTTON
    style: ButtonStyle = ButtonStyle.SECONDARY
    label: str | None = None
    emoji: PartialEmoji | None = None
    custom_id: str | None = None
    url: str | None = None
    sku_id: Snowflake | None = None
    disabled: bool = False
    id: int | None = None


@attrs.frozen(kw_only=True)
class SelectOption:
    label: str
    value: str
    description: str | None = None
    emoji: PartialEmoji | None = None
    default: bool = False


@attrs.frozen(kw_only=True)
class StringSelect:
    type: ComponentType = ComponentType.STRING_SELECT
    custom_id: str
    options: tuple[SelectOption, ...] = ()
    placeholder: str | None = None
    min_values: int | None = None
    max_values: int | None = None
    disabled: bool = False
    required: bool | None = None
    values: tuple[str, ...] | None = None
    id: int | None = None


@attrs.frozen(kw_only=True)
class SelectDefaultValue:
    id: Snowflake
    type: str


@attrs.frozen(kw_only=True)
class EntitySelect:
    """User, role, mentionable or channel select (``type`` tells which)."""

    type: ComponentType
    custom_id: str
    placeholder: str | None = None
    min_values: int | None = None
    max_values: int | None = None
    disabled: bool = False
    required: bool | None = None
    channel_types: tuple[ChannelType, ...] | None = None
    default_values: tuple[SelectDefaultValue, ...] | None = None
    values: tuple[str, ...] | None = None
    id: int | None = None


@attrs.frozen(kw_only=True)
class TextInput:
    type: ComponentType = ComponentType.TEXT_INPUT
    custom_id: str
    style: TextInputStyle = TextInputStyle.SHORT
    label: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    required: bool | None = None
    value: str | None = None
    placeholder: str | None = None
    id: int | None = None


@attrs.frozen(kw_only=True)
class TextDisplay:
    type: ComponentType = ComponentType.TEXT_DISPLAY
    content: str = ""
    id: int | None = None


@attrs.frozen(kw_only=True)
class Label:
    """Modal layout: a label (and description) around one input component."""

    type: ComponentType = ComponentType.LABEL
    label: str | None = None
    description: str | None = None
    component: Component
    id: int | None = None


@attrs.frozen(kw_only=True)
class ActionRow:
    type: ComponentType = ComponentType.ACTION_ROW
    components: tuple[Component, ...] = ()
    id: int | None = None


@attrs.frozen(kw_only=True)
class UnknownComponent:
    """A component type this code base does not model; ``raw`` is kept so it can be echoed back."""

    type: ComponentType
    raw: dict[str, Any] = attrs.field(factory=dict, eq=False)


Component = (
    ActionRow | Button | StringSelect | EntitySelect | TextInput | TextDisplay | Label | UnknownComponent
)

#: Which class each known component type is built as.
COMPONENT_CLASSES: dict[ComponentType, type[Any]] = {
    ComponentType.ACTION_ROW: ActionRow,
    ComponentType.BUTTON: Button,
    ComponentType.STRING_SELECT: StringSelect,
    ComponentType.TEXT_INPUT: TextInput,
    ComponentType.USER_SELECT: EntitySelect,
    ComponentType.ROLE_SELECT: EntitySelect,
    ComponentType.MENTIONABLE_SELECT: EntitySelect,
    ComponentType.CHANNEL_SELECT: EntitySelect,
    ComponentType.TEXT_DISPLAY: TextDisplay,
    ComponentType.LABEL: Label,
}


@attrs.frozen(kw_only=True)
class Modal:
    """The data of a MODAL interaction callback (custom_id 1-100 chars, title <= 45, 1-5 components)."""

    custom_id: str
    title: str
    components: tuple[Component, ...] = ()


def iter_components(components: tuple[Component, ...]) -> list[Component]:
    """All components, depth first, with layout containers (rows, labels) opened."""
    found: list[Component] = []
    stack = list(reversed(components))
    while stack:
        component = stack.pop()
        found.append(component)
        if isinstance(component, ActionRow):
            stack.extend(reversed(component.components))
        elif isinstance(component, Label):
            stack.append(component.component)
    return found
