"""The one cattrs converter for Discord payloads, plus `parse`/`dump` that every caller uses.

Why one configured converter: the rules that make payloads safe to accept live here once — snowflakes are
decimal strings on the wire and ints in memory, permission bit sets are strings too, enums are open (unknown
values kept), primitives are checked strictly (cattrs' defaults would happily turn ``{"a": 1}`` into the
string ``"{'a': 1}"`` or ``True`` into ``1``), unknown fields are ignored, and component / interaction-data
unions are dispatched on their ``type`` field. `parse` turns every failure into
`protocol.models.errors.ModelError` with the path of each bad field, so a malformed payload is a log line at
the caller's boundary, never a crash deeper in.

`dump` goes the other way for payloads we send: ids and permissions back to strings, and fields left at
their default omitted (except ``type`` and ``style``, which Discord requires on components), which keeps
request bodies small and round-trips exactly.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from protocol.models.components import COMPONENT_CLASSES, Component, UnknownComponent
from protocol.models.enums import ComponentType, InteractionType, MessageFlags, OpenIntEnum
from protocol.models.errors import ModelError, ModelProblem
from protocol.models.interactions import DATA_CLASSES, Interaction, InteractionData
from protocol.models.snowflake import Snowflake, parse_snowflake
from protocol.permissions import Permissions

T = TypeVar("T")

_PRIMITIVES: tuple[type, ...] = (str, int, float, bool, type(None))


def _strict_str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__}")
    return value


def _strict_int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {type(value).__name__}")
    return value


def _strict_float(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _strict_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected a boolean, got {type(value).__name__}")
    return value


def _bitset(cls: type[enum.IntFlag]) -> Callable[[object, object], enum.IntFlag]:
    def structure(value: object, _: object) -> enum.IntFlag:
        if isinstance(value, bool):
            raise ValueError("expected a bit set, got bool")
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return cls(int(value))
        if isinstance(value, int) and value >= 0:
            return cls(value)
        raise ValueError(f"expected a bit set (decimal string), got {value!r:.40}")

    return structure


def _is_primitive_union(tp: object) -> bool:
    origin = typing.get_origin(tp)
    if origin not in (typing.Union, types.UnionType):
        return False
    args = typing.get_args(tp)
    return all(arg in _PRIMITIVES for arg in args) and len([a for a in args if a is not type(None)]) > 1


def _structure_primitive_union(value: object, tp: object, args: tuple[Any, ...]) -> object:
    if value is None and type(None) in args:
        return None
    if isinstance(value, bool):
        if bool in args:
            return value
    elif isinstance(value, int) and int in args:
        return value
    elif isinstance(value, int | float) and float in args:
        return float(value)
    elif isinstance(value, str) and str in args:
        return value
    names = " | ".join("null" if a is type(None) else a.__name__ for a in args)
    raise ValueError(f"expected {names}, got {type(value).__name__}")


def _same_union(union: object) -> Callable[[object], bool]:
    """Predicate: ``tp`` is ``union`` or ``union | None``."""
    members = set(typing.get_args(union))

    def matches(tp: object) -> bool:
        if typing.get_origin(tp) not in (typing.Union, types.UnionType):
            return False
        return set(typing.get_args(tp)) - {type(None)} == members

    return matches


def _is_homogeneous_tuple(tp: object) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


@attrs.frozen
class _TaggedData:
    """Interaction ``data`` carried together with the interaction's type so its hook can pick a class."""

    interaction_type: InteractionType | None
    raw: object


def _structure_open_enum(value: object, cls: type[OpenIntEnum]) -> OpenIntEnum:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer {cls.__name__}, got {type(value).__name__}")
    return cls(value)


def _is_open_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, OpenIntEnum)


def _is_strict(primitive: type) -> Callable[[object], bool]:
    return lambda tp: tp is primitive


def _register_scalars(conv: cattrs.Converter) -> None:
    # Predicates, not classes: a class hook would also catch subclasses (every IntEnum is an int).
    conv.register_structure_hook_func(_is_strict(str), _strict_str)
    conv.register_structure_hook_func(_is_strict(int), _strict_int)
    conv.register_structure_hook_func(_is_strict(float), _strict_float)
    conv.register_structure_hook_func(_is_strict(bool), _strict_bool)
    conv.register_structure_hook(Snowflake, lambda v, _: parse_snowflake(v))
    conv.register_unstructure_hook(Snowflake, str)
    for flag in (Permissions, MessageFlags):
        conv.register_structure_hook(flag, _bitset(flag))
    conv.register_unstructure_hook(Permissions, lambda v: str(int(v)))
    conv.register_unstructure_hook(MessageFlags, int)
    conv.register_structure_hook_func(_is_open_enum, _structure_open_enum)
    conv.register_unstructure_hook_func(_is_open_enum, int)
    conv.register_structure_hook_factory(
        _is_primitive_union,
        lambda tp: functools.partial(_structure_primitive_union, args=typing.get_args(tp)),
    )


def _register_tuples(conv: cattrs.Converter) -> None:
    def make_tuple_hook(tp: Any) -> Callable[[object, object], tuple[Any, ...]]:
        item_type = typing.get_args(tp)[0]
        item_hook = conv.get_structure_hook(item_type)  # resolved once per type, not per item

        def structure_tuple(value: object, _: object) -> tuple[Any, ...]:
            if not isinstance(value, list | tuple):
                raise ValueError(f"expected an array, got {type(value).__name__}")
            with contextlib.suppress(Exception):  # the common case; on failure, name every bad item below
                return tuple([item_hook(item, item_type) for item in value])
            errors: list[Exception] = []
            for index, item in enumerate(value):
                try:
                    item_hook(item, item_type)
                except Exception as exc:
                    exc.__notes__ = [
                        *getattr(exc, "__notes__", []),
                        cattrs.IterableValidationNote(f"Structuring {tp} @ index {index}", index, item_type),
                    ]
                    errors.append(exc)
            raise cattrs.IterableValidationError(f"While structuring {tp!r}", errors, tp)

        return structure_tuple

    conv.register_structure_hook_factory(_is_homogeneous_tuple, make_tuple_hook)


def _register_components(conv: cattrs.Converter) -> None:
    def structure_component(value: object, _: object) -> object:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a component object, got {type(value).__name__}")
        kind = ComponentType(_structure_open_enum(value.get("type"), ComponentType))
        cls = COMPONENT_CLASSES.get(kind)
        if cls is None:
            return UnknownComponent(type=kind, raw=dict(value))
        return conv.structure(value, cls)

    conv.register_structure_hook_func(_same_union(Component), structure_component)
    conv.register_unstructure_hook(UnknownComponent, lambda c: dict(c.raw))


def _register_interactions(conv: cattrs.Converter) -> None:
    def structure_data(value: object, _: object) -> object:
        if value is None:
            return None
        if not isinstance(value, _TaggedData):  # data structured on its own, without an interaction
            value = _TaggedData(None, value)
        raw = value.raw
        if not isinstance(raw, Mapping):
            raise ValueError(f"expected an object, got {type(raw).__name__}")
        cls = DATA_CLASSES.get(value.interaction_type) if value.interaction_type is not None else None
        if cls is None:  # unknown interaction type: decide by shape
            cls = DATA_CLASSES[InteractionType.APPLICATION_COMMAND]
            if "component_type" in raw:
                cls = DATA_CLASSES[InteractionType.MESSAGE_COMPONENT]
            elif "components" in raw:
                cls = DATA_CLASSES[InteractionType.MODAL_SUBMIT]
        return conv.structure(raw, cls)

    conv.register_structure_hook_func(_same_union(InteractionData), structure_data)
    base_interaction = make_dict_structure_fn(Interaction, conv)

    def structure_interaction(value: Any, cls: type[Interaction]) -> Interaction:
        if isinstance(value, Mapping) and value.get("data") is not None:
            raw_type = value.get("type")
            kind = None
            if isinstance(raw_type, int) and not isinstance(raw_type, bool):
                kind = InteractionType(raw_type)
            value = {**value, "data": _TaggedData(kind, value["data"])}
        return base_interaction(value, cls)

    conv.register_structure_hook(Interaction, structure_interaction)


#: Fields Discord requires even when they hold our default (a component's type, a button's style).
_ALWAYS_SENT = frozenset({"type", "style"})


def make_converter() -> cattrs.Converter:
    """Build the converter (exposed for tests; use the module-level `converter`)."""
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    _register_scalars(conv)
    _register_tuples(conv)
    _register_components(conv)
    _register_interactions(conv)

    def unstructure_factory(cls: Any) -> Callable[[Any], Any]:
        overrides: dict[str, Any] = {
            field.name: override(omit_if_default=False)
            for field in attrs.fields(cls)
            if field.name in _ALWAYS_SENT and field.default is not None
        }
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)

    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


converter = make_converter()


def _problems(exc: BaseException) -> list[ModelProblem]:
    if isinstance(exc, cattrs.BaseValidationError):
        problems = []
        for line in cattrs.transform_error(exc, path="$"):
            message, _, path = line.rpartition(" @ ")
            problems.append(ModelProblem(path or "$", message or line))
        return problems
    return [ModelProblem("$", f"{type(exc).__name__}: {exc}")]


def parse(cls: type[T], payload: object) -> T:
    """Structure ``payload`` (decoded JSON) into ``cls``; raise `ModelError` naming each bad field."""
    if not isinstance(payload, Mapping):
        raise ModelError(
            cls.__name__, [ModelProblem("$", f"expected an object, got {type(payload).__name__}")]
        )
    try:
        return converter.structure(payload, cls)
    except Exception as exc:
        raise ModelError(cls.__name__, _problems(exc)) from exc


def dump(obj: object) -> Any:
    """Unstructure a model (or a list of them) into JSON-ready data for Discord."""
    return converter.unstructure(obj)
