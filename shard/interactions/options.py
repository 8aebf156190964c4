"""Command options from a handler's signature, and the conversion of what a user sent back into them.

A handler declares its options as keyword parameters:

    async def roll(
        ctx: InteractionContext,
        dice: Annotated[int, Option("Sides of each die", min_value=2, max_value=1000)] = 20,
        mode: Annotated[Literal["sum", "each"], Option("How to show the result")] = "sum",
    ) -> None: ...

The Python type gives Discord's option type (str, int, float, bool, User, Member, Role, Channel, Attachment,
``User | Role`` or `Mentionable` for mentionables); ``Literal[...]`` or an `enum.Enum` gives choices;
`Option` gives the description (required: it feeds /help), ranges, lengths, explicit choices, channel types
and an autocomplete callback; a default (or ``| None``) makes it optional. Limits Discord would refuse
(a range on a string, a float limit on an integer, more than 25 choices) are refused when the command is
defined, not when it is synced.

Why validate again what Discord already validates: Discord enforces ranges and choices only in its own
client, and an interaction's values are plain JSON that any client can forge. So `convert_options` re-checks
every constraint and raises `ValidationError` with a message naming the option — the same spec drives both
the payload sent to Discord and the check here, so they cannot drift apart.
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from protocol.models import (
    Attachment,
    Channel,
    ChannelType,
    ChoiceValue,
    InteractionOption,
    Member,
    OptionType,
    Resolved,
    Role,
    User,
    parse_snowflake,
)
from shard.interactions.errors import ValidationError

#: An autocomplete callback: (context, what the user typed so far) -> suggestions (<= 25 are sent).
AutocompleteCallback = Callable[[Any, str], Awaitable[Sequence["Choice | str | int | float"]]]


@attrs.frozen
class Choice:
    name: str
    value: ChoiceValue


@attrs.frozen
class Option:
    """Metadata for one option, used inside ``Annotated[type, Option(...)]``."""

    description: str
    name: str | None = None
    min_value: int | float | None = None
    max_value: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    choices: Sequence[Choice] | None = None
    autocomplete: AutocompleteCallback | None = None
    channel_types: Sequence[ChannelType] | None = None


@attrs.frozen
class Mentionable:
    """The value of a mentionable option: exactly one of ``user`` / ``role`` is set."""

    id: int
    user: User | None = None
    role: Role | None = None


_SIMPLE_TYPES: dict[object, OptionType] = {
    str: OptionType.STRING,
    int: OptionType.INTEGER,
    float: OptionType.NUMBER,
    bool: OptionType.BOOLEAN,
    User: OptionType.USER,
    Member: OptionType.USER,
    Role: OptionType.ROLE,
    Channel: OptionType.CHANNEL,
    Attachment: OptionType.ATTACHMENT,
    Mentionable: OptionType.MENTIONABLE,
}


@attrs.frozen
class OptionSpec:
    """One option as the registry knows it: its Discord shape plus how to convert the value."""

    param: str
    name: str
    type: OptionType
    description: str
    required: bool
    default: Any
    python_type: Any
    choices: tuple[Choice, ...] = ()
    min_value: int | float | None = None
    max_value: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    channel_types: tuple[ChannelType, ...] = ()
    autocomplete: AutocompleteCallback | None = None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": int(self.type),
            "name": self.name,
            "description": self.description,
        }
        if self.required:
            body["required"] = True
        if self.choices:
            body["choices"] = [{"name": c.name, "value": c.value} for c in self.choices]
        for key in ("min_value", "max_value", "min_length", "max_length"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        if self.channel_types:
            body["channel_types"] = [int(t) for t in self.channel_types]
        if self.autocomplete is not None:
            body["autocomplete"] = True
        return body


class DefinitionError(TypeError):
    """A command definition that Discord would refuse or that /help could not describe."""


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) < len(typing.get_args(tp)):
            inner = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
            return inner, True
    return tp, False


def _option_type(tp: Any, where: str) -> tuple[OptionType, tuple[Choice, ...]]:
    if typing.get_origin(tp) is typing.Literal:
        values = typing.get_args(tp)
        kinds = {type(v) for v in values}
        if kinds == {str}:
            kind = OptionType.STRING
        elif kinds == {int}:
            kind = OptionType.INTEGER
        elif kinds <= {int, float}:
            kind = OptionType.NUMBER
        else:
            raise DefinitionError(f"{where}: Literal choices must all be str, int or float")
        return kind, tuple(Choice(str(v), v) for v in values)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        members = [member.value for member in tp]
        if all(isinstance(v, str) for v in members):
            kind = OptionType.STRING
        elif all(isinstance(v, int) and not isinstance(v, bool) for v in members):
            kind = OptionType.INTEGER
        else:
            raise DefinitionError(f"{where}: enum choices must all be str or all int")
        return kind, tuple(Choice(member.name.replace("_", " ").lower(), member.value) for member in tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and set(typing.get_args(tp)) == {User, Role}:
        return OptionType.MENTIONABLE, ()
    if tp in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[tp], ()
    raise DefinitionError(f"{where}: unsupported option type {tp!r}")


def _check_limits(where: str, kind: OptionType, meta: Option, choices: tuple[Choice, ...]) -> None:
    """Refuse at definition what Discord would refuse at sync (or silently ignore)."""
    if len(meta.description) > 100:
        raise DefinitionError(f"{where}: description longer than 100 characters")
    numeric = kind in (OptionType.INTEGER, OptionType.NUMBER)
    if (meta.min_value is not None or meta.max_value is not None) and not numeric:
        raise DefinitionError(f"{where}: min_value/max_value only apply to numbers")
    if kind is OptionType.INTEGER and any(
        isinstance(v, float) for v in (meta.min_value, meta.max_value) if v is not None
    ):
        raise DefinitionError(f"{where}: an integer option needs integer limits")
    if (meta.min_length is not None or meta.max_length is not None) and kind is not OptionType.STRING:
        raise DefinitionError(f"{where}: min_length/max_length only apply to strings")
    if meta.channel_types and kind is not OptionType.CHANNEL:
        raise DefinitionError(f"{where}: channel_types only apply to channel options")
    if len(choices) > 25 or any(not 1 <= len(c.name) <= 100 for c in choices):
        raise DefinitionError(f"{where}: at most 25 choices, each named with 1-100 characters")


def options_from_signature(
    handler: Callable[..., Any], where: str, localns: Mapping[str, Any] | None = None
) -> tuple[OptionSpec, ...]:
    """Read a handler's keyword parameters (after the context) into option specs.

    ``localns`` is the namespace the handler was defined in: with postponed annotations, an autocomplete
    callback defined next to the handler inside ``register()`` is only visible there.
    """
    signature = inspect.signature(handler)
    try:
        hints = typing.get_type_hints(handler, localns=dict(localns or {}), include_extras=True)
    except NameError as exc:
        raise DefinitionError(f"{where}: cannot resolve an annotation ({exc})") from exc
    params = list(signature.parameters.values())[1:]
    specs: list[OptionSpec] = []
    for param in params:
        hint = hints.get(param.name)
        if hint is None:
            raise DefinitionError(f"{where}: option {param.name!r} needs a type annotation")
        meta = None
        if typing.get_origin(hint) is typing.Annotated:
            base, *extras = typing.get_args(hint)
            meta = next((e for e in extras if isinstance(e, Option)), None)
        else:
            base = hint
        if meta is None or not meta.description.strip():
            raise DefinitionError(f"{where}: option {param.name!r} needs Option(description=...)")
        inner, optional = _unwrap_optional(base)
        kind, literal_choices = _option_type(inner, f"{where} option {param.name!r}")
        has_default = param.default is not inspect.Parameter.empty
        choices = tuple(meta.choices) if meta.choices else literal_choices
        if choices and meta.autocomplete is not None:
            raise DefinitionError(f"{where}: option {param.name!r} cannot have both choices and autocomplete")
        _check_limits(f"{where} option {param.name!r}", kind, meta, choices)
        specs.append(
            OptionSpec(
                param=param.name,
                name=meta.name or param.name,
                type=kind,
                description=meta.description,
                required=not (has_default or optional),
                default=param.default if has_default else None,
                python_type=inner,
                choices=choices,
                min_value=meta.min_value,
                max_value=meta.max_value,
                min_length=meta.min_length,
                max_length=meta.max_length,
                channel_types=tuple(meta.channel_types or ()),
                autocomplete=meta.autocomplete,
            )
        )
    seen_optional = False
    for spec in specs:
        if spec.required and seen_optional:
            raise DefinitionError(f"{where}: required option {spec.name!r} follows an optional one")
        seen_optional = seen_optional or not spec.required
    if len(specs) > 25:
        raise DefinitionError(f"{where}: at most 25 options")
    return tuple(specs)


def _check_scalar(spec: OptionSpec, value: object) -> object:
    kind = spec.type
    if kind is OptionType.STRING:
        if not isinstance(value, str):
            raise ValidationError(f"`{spec.name}` must be text.")
        if spec.min_length is not None and len(value) < spec.min_length:
            raise ValidationError(f"`{spec.name}` must be at least {spec.min_length} characters.")
        if spec.max_length is not None and len(value) > spec.max_length:
            raise ValidationError(f"`{spec.name}` must be at most {spec.max_length} characters.")
        return value
    if kind is OptionType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValidationError(f"`{spec.name}` must be true or false.")
        return value
    if kind is OptionType.INTEGER and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValidationError(f"`{spec.name}` must be a whole number.")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"`{spec.name}` must be a number.")
    if spec.min_value is not None and value < spec.min_value:
        raise ValidationError(f"`{spec.name}` must be at least {spec.min_value}.")
    if spec.max_value is not None and value > spec.max_value:
        raise ValidationError(f"`{spec.name}` must be at most {spec.max_value}.")
    return float(value) if kind is OptionType.NUMBER else value


def _resolve_entity(spec: OptionSpec, value: object, resolved: Resolved) -> object:
    try:
        ident = parse_snowflake(value)
    except ValueError:
        raise ValidationError(f"`{spec.name}` is not a valid id.") from None
    kind = spec.type
    found: object = None
    if kind is OptionType.USER:
        if spec.python_type is Member:
            member = resolved.members.get(ident)
            user = resolved.users.get(ident)
            found = None if member is None else attrs.evolve(member, user=member.user or user)
        else:
            found = resolved.users.get(ident)
    elif kind is OptionType.ROLE:
        found = resolved.roles.get(ident)
    elif kind is OptionType.CHANNEL:
        channel = resolved.channels.get(ident)
        if channel is not None and spec.channel_types and channel.type not in spec.channel_types:
            raise ValidationError(f"`{spec.name}` must be a channel of another kind.")
        found = channel
    elif kind is OptionType.ATTACHMENT:
        found = resolved.attachments.get(ident)
    elif kind is OptionType.MENTIONABLE:
        user = resolved.users.get(ident)
        role = resolved.roles.get(ident)
        if spec.python_type is Mentionable:
            found = Mentionable(ident, user, role) if (user or role) else None
        else:  # declared as ``User | Role``: the handler gets whichever it is
            found = user or role
    if found is None:
        raise ValidationError(f"`{spec.name}` refers to something I cannot see.")
    return found


def convert_options(
    specs: Sequence[OptionSpec], given: Sequence[InteractionOption], resolved: Resolved | None
) -> dict[str, Any]:
    """Validate and convert the user's option values into handler keyword arguments."""
    by_name = {spec.name: spec for spec in specs}
    values: dict[str, Any] = {}
    for option in given:
        spec = by_name.get(option.name)
        if spec is None:
            raise ValidationError(f"Unknown option `{option.name}`.")
        if option.type != spec.type:
            raise ValidationError(f"`{spec.name}` has the wrong type.")
        if spec.type in (
            OptionType.USER,
            OptionType.ROLE,
            OptionType.CHANNEL,
            OptionType.ATTACHMENT,
            OptionType.MENTIONABLE,
        ):
            converted = _resolve_entity(spec, option.value, resolved or Resolved())
        else:
            converted = _check_scalar(spec, option.value)
            if spec.choices and converted not in {c.value for c in spec.choices}:
                raise ValidationError(f"`{spec.name}` must be one of the offered choices.")
            if isinstance(spec.python_type, type) and issubclass(spec.python_type, enum.Enum):
                converted = spec.python_type(converted)
        values[spec.param] = converted
    for spec in specs:
        if spec.param not in values:
            if spec.required:
                raise ValidationError(f"`{spec.name}` is required.")
            values[spec.param] = spec.default
    return values


def as_choices(suggestions: Sequence[Choice | str | int | float]) -> list[dict[str, Any]]:
    """Autocomplete suggestions as Discord choices (max 25, names max 100 chars)."""
    out: list[dict[str, Any]] = []
    for item in suggestions[:25]:
        choice = item if isinstance(item, Choice) else Choice(str(item), item)
        out.append({"name": choice.name[:100], "value": choice.value})
    return out


def focused_option(given: Sequence[InteractionOption]) -> InteractionOption | None:
    return next((o for o in given if o.focused), None)
