"""The one cattrs converter for Discord payloads, plus `parse`/`dump` that every caller uses.

Why one set of rules: the rules that make payloads safe to accept live here once — snowflakes are
decimal strings on the wire and ints in memory, permission bit sets are strings too, enums are open (unknown
values kept), primitives are checked strictly (cattrs' defaults would happily turn ``{"a": 1}`` into the
string ``"{'a': 1}"`` or ``True`` into ``1``), unknown fields are ignored, and component / interaction-data
unions are dispatched on their ``type`` field. `parse` turns every failure into
`protocol.models.errors.ModelError` with the path of each bad field, so a malformed payload is a log line at
the caller's boundary, never a crash deeper in.

Why two converters built from those rules: structuring with every field's error collected (cattrs'
``detailed_validation``) and generic hooks costs ~20 µs for a typical INTERACTION_CREATE. `parse` first tries
`fast_converter`, whose attrs-class hooks are generated here (`_FastStructure`: one straight-line function per
class, the common cases inlined) and which stops at the first problem; only when it raises does the detailed
`converter` run, to return the very same object after all or to name every bad field. Both are built by the
same registration functions, so they cannot drift apart; tests hold them equal on real and mutated payloads.

`dump` goes the other way for payloads we send: ids and permissions back to strings, and fields left at
their default omitted (except ``type`` and ``style``, which Discord requires on components), which keeps
request bodies small and round-trips exactly.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import threading
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from protocol.models.components import COMPONENT_CLASSES, Component, UnknownComponent
from protocol.models.enums import ComponentType, InteractionType, MessageFlags, OpenIntEnum
from protocol.models.errors import ModelError, ModelProblem
from protocol.models.interactions import DATA_CLASSES, Interaction, InteractionData
from protocol.models.snowflake import MAX_SNOWFLAKE, Snowflake, parse_snowflake
from protocol.permissions import Permissions

T = TypeVar("T")

_PRIMITIVES: tuple[type, ...] = (str, int, float, bool, type(None))


class _WrongTypeError(ValueError):
    """A JSON value of the wrong kind for its field; its message is the problem `parse` reports as it is."""


# Each strict hook checks the JSON value's type and returns the value as it is; for a field typed with a
# subclass (an int-based enum without a hook of its own, a str enum...) it builds the subclass from the value.
def _strict_str(value: object, tp: object) -> str:
    if not isinstance(value, str):
        raise _WrongTypeError(f"expected a string, got {type(value).__name__}")
    return value if tp is str else typing.cast("type[str]", tp)(value)


def _strict_int(value: object, tp: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _WrongTypeError(f"expected an integer, got {type(value).__name__}")
    return value if tp is int else typing.cast("type[int]", tp)(value)


def _strict_float(value: object, tp: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _WrongTypeError(f"expected a number, got {type(value).__name__}")
    return float(value) if tp is float else typing.cast("type[float]", tp)(value)


def _strict_bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise _WrongTypeError(f"expected a boolean, got {type(value).__name__}")
    return value


def _structure_snowflake(value: object, _: object) -> Snowflake:
    return parse_snowflake(value)


class _BitsetHook:
    """Structures a bit set (permissions, message flags): a decimal string or a non-negative int."""

    def __init__(self, cls: type[enum.IntFlag]) -> None:
        self.cls = cls

    def __call__(self, value: object, _: object) -> enum.IntFlag:
        if isinstance(value, bool):
            raise ValueError("expected a bit set, got bool")
        if isinstance(value, str) and value.isascii() and value.isdigit():
            return self.cls(int(value))
        if isinstance(value, int) and value >= 0:
            return self.cls(value)
        raise ValueError(f"expected a bit set (decimal string), got {value!r:.40}")


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
        raise _WrongTypeError(f"expected an integer {cls.__name__}, got {type(value).__name__}")
    return cls(value)


#: The strict hook of each JSON primitive type, which returns a value of exactly that type unchanged.
_STRICT: dict[type, Callable[[object, object], object]] = {
    str: _strict_str,
    int: _strict_int,
    float: _strict_float,
    bool: _strict_bool,
}


def _is_open_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, OpenIntEnum)


def _register_scalars(conv: cattrs.Converter) -> None:
    # Classes, not predicates: cattrs registers its lenient ``cls(value)`` hook for str, int and float by
    # class (functools.singledispatch), and a class hook is found before any predicate is asked -- for its
    # subclasses too (bool and every int-based enum are ints). Ours replace those; the most specific class
    # wins, so bool, `OpenIntEnum` and the bit sets below get their own hooks, and any other subclass (a
    # closed enum) gets its base's check.
    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook(OpenIntEnum, _structure_open_enum)
    conv.register_structure_hook(Snowflake, _structure_snowflake)
    conv.register_unstructure_hook(Snowflake, str)
    for flag in (Permissions, MessageFlags):
        conv.register_structure_hook(flag, _BitsetHook(flag))
    conv.register_unstructure_hook(Permissions, lambda v: str(int(v)))
    conv.register_unstructure_hook(MessageFlags, int)
    conv.register_unstructure_hook_func(_is_open_enum, int)
    conv.register_structure_hook_factory(
        _is_primitive_union,
        lambda tp: functools.partial(_structure_primitive_union, args=typing.get_args(tp)),
    )


class _TupleHook:
    """Structures ``tuple[X, ...]`` from a JSON array; on failure names every bad item, as cattrs would."""

    def __init__(self, tp: Any, item_type: Any, item_hook: Callable[[Any, Any], Any]) -> None:
        self.tp = tp
        self.item_type = item_type
        self.item_hook = item_hook  # resolved once per type, not per item

    def __call__(self, value: object, _: object) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected an array, got {type(value).__name__}")
        item_hook, item_type = self.item_hook, self.item_type
        with contextlib.suppress(Exception):  # the common case; on failure, name every bad item below
            return tuple([item_hook(item, item_type) for item in value])
        errors: list[Exception] = []
        for index, item in enumerate(value):
            try:
                item_hook(item, item_type)
            except Exception as exc:
                exc.__notes__ = [
                    *getattr(exc, "__notes__", []),
                    cattrs.IterableValidationNote(f"Structuring {self.tp} @ index {index}", index, item_type),
                ]
                errors.append(exc)
        raise cattrs.IterableValidationError(f"While structuring {self.tp!r}", errors, self.tp)


def _register_tuples(conv: cattrs.Converter) -> None:
    def make_tuple_hook(tp: Any) -> _TupleHook:
        item_type = typing.get_args(tp)[0]
        return _TupleHook(tp, item_type, conv.get_structure_hook(item_type))

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


def _interaction_kind(interaction: Mapping[str, Any]) -> InteractionType | None:
    """The interaction type that picks the ``data`` class, or None when ``type`` is not an integer."""
    raw_type = interaction.get("type")
    if isinstance(raw_type, int) and not isinstance(raw_type, bool):
        return InteractionType(raw_type)
    return None


def _data_class(kind: InteractionType | None, raw: Mapping[str, Any]) -> type[Any]:
    cls = DATA_CLASSES.get(kind) if kind is not None else None
    if cls is None:  # unknown interaction type: decide by shape
        cls = DATA_CLASSES[InteractionType.APPLICATION_COMMAND]
        if "component_type" in raw:
            cls = DATA_CLASSES[InteractionType.MESSAGE_COMPONENT]
        elif "components" in raw:
            cls = DATA_CLASSES[InteractionType.MODAL_SUBMIT]
    return cls


def _register_interaction_data(conv: cattrs.Converter) -> None:
    def structure_data(value: object, _: object) -> object:
        if value is None:
            return None
        if not isinstance(value, _TaggedData):  # data structured on its own, without an interaction
            value = _TaggedData(None, value)
        raw = value.raw
        if not isinstance(raw, Mapping):
            raise ValueError(f"expected an object, got {type(raw).__name__}")
        return conv.structure(raw, _data_class(value.interaction_type, raw))

    conv.register_structure_hook_func(_same_union(InteractionData), structure_data)


def _register_interaction(conv: cattrs.Converter) -> None:
    """``Interaction`` for the detailed converter: ``data`` travels tagged with the interaction's type."""
    base_interaction = make_dict_structure_fn(Interaction, conv)

    def structure_interaction(value: Any, cls: type[Interaction]) -> Interaction:
        if isinstance(value, Mapping) and value.get("data") is not None:
            value = {**value, "data": _TaggedData(_interaction_kind(value), value["data"])}
        return base_interaction(value, cls)

    conv.register_structure_hook(Interaction, structure_interaction)


#: Fields Discord requires even when they hold our default (a component's type, a button's style).
_ALWAYS_SENT = frozenset({"type", "style"})


def _register_structure_hooks(conv: cattrs.Converter) -> None:
    """The structuring rules shared by the detailed converter and the fast one, so they cannot drift."""
    _register_scalars(conv)
    _register_tuples(conv)
    _register_components(conv)
    _register_interaction_data(conv)


def make_converter() -> cattrs.Converter:
    """Build the detailed converter (exposed for tests; use the module-level `converter`)."""
    conv = cattrs.Converter(detailed_validation=True, forbid_extra_keys=False)
    _register_structure_hooks(conv)
    _register_interaction(conv)

    def unstructure_factory(cls: Any) -> Callable[[Any], Any]:
        overrides: dict[str, Any] = {
            field.name: override(omit_if_default=False)
            for field in attrs.fields(cls)
            if field.name in _ALWAYS_SENT and field.default is not None
        }
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)

    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)
    return conv


# ------------------------------------------------------------------------------------------------ fast path
#
# cattrs' generated functions are general: every field goes through ``'x' in o`` and ``o['x']``, a ``res``
# dict and ``cls(**res)``; every ``X | None`` through ``_structure_optional``, which dispatches on the inner
# type again on every call; every str/int/bool/enum through a call to its strict hook; every id through two
# calls. An INTERACTION_CREATE has ~50 fields, so that adds up to most of the cost of parsing one.
# `_FastStructure` generates, per attrs class, one function that reads each key once with ``o.get``, inlines
# those cases' common paths (and those of ids, bit sets, arrays, mappings, the interaction's ``data`` class
# choice), calls the *same* hooks as the detailed converter for everything else, and fills the new
# instance's slots directly, as attrs' own ``__init__`` would (`_slot_setters`). It collects no errors:
# `parse` tries it first and, if it raises anything at all, runs the detailed converter on the same payload,
# which either returns the same object (the fast path may be stricter than the detailed one, never laxer)
# or raises the errors it always raised. Every inlined case is the hook it replaces, restricted to the
# values it returns unchanged (a value whose class is exactly str for str -- so never a bool for an int --,
# a known member for an int given to an enum...).

_MISSING: Any = object()

#: A field whose structuring needs the enclosing payload: ``hook(value, payload)``, for non-null values.
_ContextualHook = Callable[[Any, Mapping[str, Any]], Any]
_Hook = Callable[[Any, Any], Any]


def _is_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


class _FastStructure:
    """The structure-hook factory for attrs classes on the fast converter (see the comment above)."""

    def __init__(
        self, conv: cattrs.Converter, contextual: Mapping[tuple[type[Any], str], _ContextualHook]
    ) -> None:
        self._conv = conv
        self._contextual = contextual
        self._local = threading.local()  # the classes being generated, per thread (as cattrs keeps them)

    def __call__(self, cls: type[Any]) -> _Hook:
        fields = _supported_fields(cls)
        if fields is None:  # something this generator does not model: cattrs' own function
            return make_dict_structure_fn(cls, self._conv)
        generating: set[type[Any]] = self._local.__dict__.setdefault("generating", set())
        if cls in generating:
            raise RecursionError  # a class graph cycle: the field that led here binds late (`_hook`)
        generating.add(cls)
        try:
            return self._generate(cls, fields)
        finally:
            generating.discard(cls)

    def _hook(self, tp: Any) -> _Hook:
        try:
            return self._conv.get_structure_hook(tp, cache_result=False)
        except RecursionError:
            return self._conv.structure  # as cattrs does for cycles: dispatch at call time

    def _is_optional_hook(self, hook: _Hook) -> bool:
        return hook == self._conv._structure_optional

    def _generate(self, cls: type[Any], fields: tuple[attrs.Attribute[Any], ...]) -> _Hook:
        namespace: dict[str, Any] = {"_cls": cls, "_MISSING": _MISSING}
        lines = [f"def structure_{cls.__name__}(o, _=None):", "  get = o.get"]
        arguments = []
        for index, field in enumerate(fields):
            target = f"f{index}"
            default: Any = field.default
            contextual = self._contextual.get((cls, field.name))
            if default is None and (contextual is not None or self._is_optional_hook(self._hook(field.type))):
                lines += [f"  v = get({field.name!r})", "  if v is None:", f"    {target} = None", "  else:"]
                if contextual is not None:
                    namespace[f"contextual_{target}"] = contextual
                    lines.append(f"    {target} = contextual_{target}(v, o)")
                else:
                    lines += self._convert(_non_null(field.type), target, "    ", namespace)
            elif default is attrs.NOTHING:
                lines.append(f"  v = o[{field.name!r}]")
                lines += self._convert(field.type, target, "  ", namespace)
            else:
                lines += [f"  v = get({field.name!r}, _MISSING)", "  if v is _MISSING:"]
                if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                    namespace[f"default_{target}"] = default.factory
                    lines.append(f"    {target} = default_{target}()")
                else:
                    namespace[f"default_{target}"] = default
                    lines.append(f"    {target} = default_{target}")
                lines.append("  else:")
                lines += self._convert(field.type, target, "    ", namespace)
            arguments.append(f"{field.name}={target}")
        setters = _slot_setters(cls, fields)
        if setters is None:
            lines.append(f"  return _cls({', '.join(arguments)})")
        else:  # what the attrs-generated __init__ does, minus its call and its per-field attribute lookup
            namespace["_new"] = object.__new__
            lines.append("  obj = _new(_cls)")
            for index, setter in enumerate(setters):
                namespace[f"set_f{index}"] = setter
                lines.append(f"  set_f{index}(obj, f{index})")
            lines.append("  return obj")
        source = "\n".join(lines) + "\n"
        exec(compile(source, f"<fast structure {cls.__qualname__}>", "exec"), namespace)  # noqa: S102 - ours
        function: _Hook = namespace[f"structure_{cls.__name__}"]
        function.__doc__ = source  # what it does, for whoever debugs it: print(hook.__doc__)
        return function

    def _convert(self, tp: Any, target: str, indent: str, namespace: dict[str, Any]) -> list[str]:
        """Lines that structure ``v`` (of type ``tp``) into ``target``, as the hook for ``tp`` would."""
        hook = self._hook(tp)
        name = f"{target}_{len(namespace)}"
        namespace[f"hook_{name}"] = hook
        namespace[f"type_{name}"] = tp
        general = [f"{indent}else:", f"{indent}  {target} = hook_{name}(v, type_{name})"]
        if self._is_optional_hook(hook):
            inner = self._convert(_non_null(tp), target, indent + "  ", namespace)
            return [f"{indent}if v is None:", f"{indent}  {target} = None", f"{indent}else:", *inner]
        if _STRICT.get(tp) is hook or hook == self._conv._structure_call:
            # a value of exactly the JSON type (so 1 is no bool, True no int) is returned as it is, and so is
            # one of exactly the class by cattrs' cls(v) (bytes, paths)
            return [f"{indent}if v.__class__ is type_{name}:", f"{indent}  {target} = v", *general]
        if hook is _structure_snowflake:  # parse_snowflake's common case inline, anything else through it
            namespace.update(parse_snowflake=parse_snowflake, MAX_SNOWFLAKE=MAX_SNOWFLAKE)
            return [
                f"{indent}if v.__class__ is str and len(v) <= 20 and v.isdigit() and v.isascii():",
                f"{indent}  {target} = int(v)",
                f"{indent}  if {target} > MAX_SNOWFLAKE:",
                f"{indent}    {target} = parse_snowflake(v)",
                *general,
            ]
        condition = self._fast_case(tp, hook, name, target, namespace)
        if condition is None:
            return [f"{indent}{target} = hook_{name}(v, type_{name})"]
        return [f"{indent}{condition[0]}", *(f"{indent}  {line}" for line in condition[1:]), *general]

    def _fast_case(
        self, tp: Any, hook: _Hook, name: str, target: str, namespace: dict[str, Any]
    ) -> list[str] | None:
        """For hooks that take a value apart: an ``if`` (and its body) for the common case, else None."""
        if hook is _structure_open_enum:  # an int (True == 1 would find PING): Enum(v)'s own first lookup
            namespace[f"members_{name}"] = tp._value2member_map_
            return [
                "if v.__class__ is int:",
                f"{target} = members_{name}.get(v, _MISSING)",
                f"if {target} is _MISSING:",
                f"  {target} = hook_{name}(v, type_{name})",
            ]
        if isinstance(hook, _BitsetHook):  # the decimal string of a value seen before
            namespace[f"members_{name}"] = hook.cls._value2member_map_
            return [
                "if v.__class__ is str and v.isdigit() and v.isascii():",
                f"{target} = members_{name}.get(int(v), _MISSING)",
                f"if {target} is _MISSING:",
                f"  {target} = hook_{name}(v, type_{name})",
            ]
        if isinstance(hook, functools.partial) and hook.func is _structure_primitive_union:
            # a value of one of the union's own classes is returned as it is (float(x) of a float is x)
            own = frozenset(c for c in (str, int, float, bool) if c in hook.keywords["args"])
            namespace[f"classes_{name}"] = own
            return [f"if v.__class__ in classes_{name}:", f"{target} = v"]
        if isinstance(hook, _TupleHook):  # a JSON array: each item straight through its hook
            item = self._item(hook.item_type, "x", f"{name}_item", namespace)
            return ["if v.__class__ is list:", f"{target} = tuple([{item} for x in v])"]
        if typing.get_origin(tp) is dict and getattr(hook, "__name__", None) == "structure_mapping":
            # cattrs' mapping hook: {key hook(k): value hook(x)}, both hooks found as cattrs finds them
            key_type, value_type = typing.get_args(tp)
            key = self._item(key_type, "k", f"{name}_key", namespace)
            value = self._item(value_type, "x", f"{name}_value", namespace)
            return ["if v.__class__ is dict:", f"{target} = {{{key}: {value} for k, x in v.items()}}"]
        return None

    def _item(self, tp: Any, var: str, name: str, namespace: dict[str, Any]) -> str:
        """An expression structuring ``var`` (an array item, a mapping key or value) of type ``tp``."""
        hook = self._hook(tp)
        namespace[f"hook_{name}"] = hook
        namespace[f"type_{name}"] = tp
        if hook is _structure_snowflake:
            namespace["parse_snowflake"] = parse_snowflake
            return f"parse_snowflake({var})"
        if _STRICT.get(tp) is hook:
            return f"({var} if {var}.__class__ is type_{name} else hook_{name}({var}, type_{name}))"
        if hook == self._conv._structure_call and not _is_enum(tp):
            return f"type_{name}({var})"
        return f"hook_{name}({var}, type_{name})"


def _non_null(optional: Any) -> Any:
    return next(arg for arg in typing.get_args(optional) if arg is not type(None))


def _supported_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...] | None:
    """``cls``'s fields with their types resolved, or None if `_FastStructure` cannot build it."""
    attrs.resolve_types(cls)
    fields: tuple[attrs.Attribute[Any], ...] = attrs.fields(cls)
    for field in fields:
        default: Any = field.default
        if (
            not field.init
            or field.alias != field.name
            or field.converter is not None
            or field.type is None
            or (isinstance(default, attrs.Factory) and default.takes_self)  # type: ignore[arg-type]
        ):
            return None
    return fields


def _slot_setters(klass: type[Any], fields: tuple[attrs.Attribute[Any], ...]) -> list[_Hook] | None:
    """Each field's slot setter, if filling the slots is all ``klass(...)`` would do; else None.

    That holds for a slotted attrs class whose ``__init__`` attrs generated, with no validators (nor
    converters: `_supported_fields`), no pre/post-init hooks and no cached hash (a hidden slot that
    ``__init__`` clears). Instances built this way are the very objects ``__init__`` builds, in half the
    time: a frozen class's ``__init__`` sets each field through ``object.__setattr__`` by name.
    """
    init = getattr(klass.__init__, "__code__", None)
    if (
        init is None
        or not init.co_filename.startswith("<attrs generated")
        or klass.__dict__.get("__new__", object.__new__) is not object.__new__
        or any("__new__" in base.__dict__ for base in klass.__mro__[1:-1])
        or hasattr(klass, "__attrs_pre_init__")
        or hasattr(klass, "__attrs_post_init__")
        or any("_attrs_cached_hash" in getattr(base, "__slots__", ()) for base in klass.__mro__)
        or any(field.validator is not None for field in fields)
    ):
        return None
    setters = []
    for field in fields:
        slot = next(
            (base.__dict__[field.name] for base in klass.__mro__ if field.name in base.__dict__), None
        )
        if not isinstance(slot, types.MemberDescriptorType):
            return None
        setters.append(slot.__set__)
    return setters


def make_fast_converter() -> cattrs.Converter:
    """Build the fast, structure-only converter that `parse` tries first (exposed for tests)."""
    conv = cattrs.Converter(detailed_validation=False, forbid_extra_keys=False)
    hooks: dict[type[Any], _Hook] = {}

    def hook_of(cls: type[Any]) -> _Hook:
        hook = hooks.get(cls)
        if hook is None:
            hook = hooks[cls] = conv.get_structure_hook(cls)
        return hook

    def interaction_data(raw: Any, interaction: Mapping[str, Any]) -> Any:
        # the detailed converter's Interaction hook + data hook in one step, without copying the payload
        if not isinstance(raw, Mapping):
            raise ValueError(f"expected an object, got {type(raw).__name__}")
        cls = _data_class(_interaction_kind(interaction), raw)
        return hook_of(cls)(raw, cls)

    generate = _FastStructure(conv, {(Interaction, "data"): interaction_data})
    conv.register_structure_hook_factory(attrs.has, generate)
    _register_structure_hooks(conv)

    shared_component = conv.get_structure_hook(Component)
    known_components: dict[object, ComponentType] = ComponentType._value2member_map_  # type: ignore[assignment]

    def structure_component(value: Any, tp: Any) -> Any:
        # the shared hook's common case (an object of a known type) without its ABC check and enum calls
        if value.__class__ is dict:
            kind = value.get("type")
            cls = COMPONENT_CLASSES.get(known_components.get(kind)) if kind.__class__ is int else None  # type: ignore[arg-type]
            if cls is not None:
                return hook_of(cls)(value, cls)
        return shared_component(value, tp)

    conv.register_structure_hook_func(_same_union(Component), structure_component)
    return conv


converter = make_converter()
fast_converter = make_fast_converter()


def _describe(exc: BaseException, tp: type | None) -> str:
    """A problem's message: our type checks say what they expected and got; the rest as cattrs puts it."""
    if isinstance(exc, _WrongTypeError):
        return str(exc)
    return format_exception(exc, tp)


def _problems(exc: BaseException) -> list[ModelProblem]:
    if isinstance(exc, cattrs.BaseValidationError):
        problems = []
        for line in cattrs.transform_error(exc, path="$", format_exception=_describe):
            message, _, path = line.rpartition(" @ ")
            problems.append(ModelProblem(path or "$", message or line))
        return problems
    return [ModelProblem("$", f"{type(exc).__name__}: {exc}")]


_fast_hooks: dict[Any, Callable[[Any, Any], Any]] = {}


def _fast_hook(cls: Any) -> Callable[[Any, Any], Any]:
    hook = _fast_hooks.get(cls)
    if hook is None:
        hook = _fast_hooks[cls] = fast_converter.get_structure_hook(cls)
    return hook


def warm_up(*classes: type[Any]) -> None:
    """Generate the fast structuring code for ``classes`` (and every interaction-data and component class).

    The code is generated on first use otherwise, and the first interaction after a start paid ~50 ms for
    it (a 52 ms task step in the benchmark's slow-step report). Call it while the bot starts.
    """
    for cls in (*classes, *DATA_CLASSES.values(), *COMPONENT_CLASSES.values()):
        _fast_hook(cls)


def parse(cls: type[T], payload: object) -> T:
    """Structure ``payload`` (decoded JSON) into ``cls``; raise `ModelError` naming each bad field."""
    if payload.__class__ is not dict and not isinstance(payload, Mapping):
        raise ModelError(
            cls.__name__, [ModelProblem("$", f"expected an object, got {type(payload).__name__}")]
        )
    try:
        return typing.cast(T, _fast_hook(cls)(payload, cls))
    except Exception:  # noqa: S110 - the detailed converter below says what is wrong, or parses it after all
        pass
    try:
        return converter.structure(payload, cls)
    except Exception as exc:
        raise ModelError(cls.__name__, _problems(exc)) from exc


def dump(obj: object) -> Any:
    """Unstructure a model (or a list of them) into JSON-ready data for Discord."""
    return converter.unstructure(obj)
