"""`parse`'s fast path: the same objects as the detailed converter, and the same `ModelError` problems.

`parse` structures with `fast_converter` first and falls back to the detailed `converter` when that raises
(see `protocol.models.converter`). These tests hold the two together on real payloads built by the
emulator's builders (`bench.models.sample_payloads`), on hand-made variants (unknown interaction types and
enum values, DMs, PINGs), on malformed payloads whose problems are pinned as the detailed converter reports
them, and on hypothesis-generated mutations of all of those. The fast path may fail where the detailed one
succeeds (``parse`` then returns the detailed result), but it must never succeed with a different object, nor
succeed where the detailed one fails.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.models import sample_payloads
from protocol.models import (
    ApplicationCommand,
    Channel,
    Guild,
    Interaction,
    InteractionOption,
    Member,
    Message,
    Modal,
    ModelError,
    ModelProblem,
    Role,
    User,
    converter,
    parse,
)
from protocol.models.converter import _problems, fast_converter

Payload = dict[str, Any]
SAMPLES: dict[str, tuple[type[Any], Payload]] = sample_payloads()


def _variant(name: str, **changes: Any) -> Payload:
    payload = copy.deepcopy(SAMPLES[name][1])
    payload.update(changes)
    return payload


def _with(name: str, path: tuple[str | int, ...], value: Any) -> Payload:
    payload = copy.deepcopy(SAMPLES[name][1])
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return payload


def _variants() -> dict[str, tuple[type[Any], Payload]]:
    slash = SAMPLES["slash_resolved"][1]
    button = SAMPLES["button"][1]
    modal = SAMPLES["modal_submit"][1]
    found: dict[str, tuple[type[Any], Payload]] = {
        "unknown type with command data": (Interaction, _variant("slash_resolved", type=42)),
        "unknown type with component data": (Interaction, _variant("button", type=42)),
        "unknown type with modal data": (Interaction, _variant("modal_submit", type=42)),
        "unknown type without data": (Interaction, {**_variant("ping", type=99), "data": None}),
        "ping without data": (
            Interaction,
            {k: v for k, v in _variant("ping", type=1).items() if k != "data"},
        ),
        "unknown context": (Interaction, _variant("ping", context=9)),
        "unknown channel type": (Interaction, _with("ping", ("channel", "type"), 99)),
        "unknown option type": (Interaction, _with("slash_resolved", ("data", "options", 0, "type"), 77)),
        "unknown command type": (Interaction, _with("ping", ("data", "type"), 9)),
        "unknown component type": (
            Interaction,
            _with("button", ("message", "components", 1), {"type": 99, "x": [1], "custom_id": "z"}),
        ),
        "unknown button style": (
            Interaction,
            _with("button", ("message", "components", 0, "components", 0, "style"), 77),
        ),
        "unknown component in modal": (
            Interaction,
            _with("modal_submit", ("data", "components", 0), {"type": 23, "id": 5, "custom_id": "c"}),
        ),
        "int snowflakes": (Interaction, _variant("ping", id=5, guild_id=0, application_id=(1 << 64) - 1)),
        "int permissions": (Interaction, _variant("ping", app_permissions=8)),
        "null optionals": (
            Interaction,
            _variant("ping", guild_id=None, channel=None, member=None, locale=None, context=None),
        ),
        "command data shaped like a component": (
            Interaction,
            {**slash, "type": 3, "data": {**button["data"], "values": ["a", "b"]}},
        ),
        "modal data with no components": (Interaction, {**modal, "data": {"custom_id": "m"}}),
        "number option": (
            Interaction,
            _with("slash_resolved", ("data", "options", 4), {"name": "n", "type": 10, "value": 2.5}),
        ),
        "bool option": (
            Interaction,
            _with("slash_resolved", ("data", "options", 4), {"name": "b", "type": 5, "value": True}),
        ),
        "extra unknown fields": (Interaction, _variant("ping", brand_new={"nested": [1, 2]}, shiny=True)),
    }
    return found


CASES: dict[str, tuple[type[Any], Payload]] = {**SAMPLES, **_variants()}


def _outcome(model: type[Any], payload: object) -> tuple[str, object]:
    """What the detailed converter alone makes of ``payload``: ("ok", object) or ("error", problems)."""
    try:
        return "ok", converter.structure(payload, model)
    except Exception as exc:
        return "error", _problems(exc)


def _parsed(model: type[Any], payload: object) -> tuple[str, object]:
    try:
        return "ok", parse(model, payload)
    except ModelError as error:
        return "error", list(error.problems)


def _same(left: tuple[str, object], right: tuple[str, object]) -> bool:
    # repr as well as ==: 1 == True and Enum members equal their ints, but the objects must be the same
    return left == right and repr(left) == repr(right)


def _hash(obj: object) -> int | str:
    try:
        return hash(obj)
    except TypeError as exc:  # models holding dicts (resolved entities) are unhashable, alike
        return str(exc)


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_builds_the_detailed_converters_object(name: str) -> None:
    model, payload = CASES[name]
    expected = converter.structure(payload, model)
    fast = fast_converter.structure(payload, model)  # no fallback here: real payloads take the fast path
    assert fast == expected
    assert repr(fast) == repr(expected)
    assert _hash(fast) == _hash(expected)
    assert parse(model, payload) == expected


def test_the_samples_cover_what_the_brief_asks_for() -> None:
    kinds = {payload["type"] for model, payload in SAMPLES.values() if model is Interaction}
    assert kinds == {2, 3, 4, 5}
    parsed = {name: parse(model, payload) for name, (model, payload) in SAMPLES.items()}
    assert parsed["dm_ping"].member is None and parsed["dm_ping"].user is not None
    resolved = parsed["slash_resolved"].data.resolved
    assert resolved is not None and len(resolved.users) == 2 and resolved.members and resolved.roles
    assert parsed["message_command"].data.resolved.messages
    assert parsed["button"].message is not None and parsed["button"].message.components
    assert isinstance(parsed["message_create"], Message) and parsed["message_create"].member is not None


def test_hot_models_are_built_by_generated_slot_filling_functions() -> None:
    # the speed comes from these; if a model gains a validator (or attrs changes), this says the fast path
    # quietly fell back to calling __init__
    for model in (Member, User, Channel, Role, InteractionOption, Message):
        source = fast_converter.get_structure_hook(model).__doc__ or ""
        assert source.startswith(f"def structure_{model.__name__}("), model
        assert "_new(_cls)" in source, model


# ---------------------------------------------------------------------------------------- malformed payloads


def _without(name: str, path: tuple[str | int, ...]) -> Payload:
    payload = copy.deepcopy(SAMPLES[name][1])
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return payload


PERMISSIONS = "protocol.permissions.Permissions"
DATA = " | ".join(
    f"protocol.models.interactions.{name}"
    for name in ("ApplicationCommandData", "ComponentData", "ModalSubmitData")
)


def _snowflake(path: str) -> ModelProblem:
    return ModelProblem(path, "invalid value for type, expected Snowflake")


MALFORMED: list[tuple[str, Payload, list[ModelProblem]]] = [
    ("id not a number", _variant("ping", id="not-a-number"), [_snowflake("$.id")]),
    ("id a bool", _variant("ping", id=True), [_snowflake("$.id")]),
    ("id negative", _variant("ping", id=-1), [_snowflake("$.id")]),
    ("id too big", _variant("ping", id=str(1 << 64)), [_snowflake("$.id")]),
    ("id in Arabic-Indic digits", _variant("ping", id="\u0663"), [_snowflake("$.id")]),
    ("token missing", _without("ping", ("token",)), [ModelProblem("$.token", "required field missing")]),
    (
        "type missing",
        _without("ping", ("type",)),
        [ModelProblem("$.type", "required field missing")],
    ),
    (
        "type a string",
        _variant("ping", type="2"),
        [ModelProblem("$.type", "expected an integer InteractionType, got str")],
    ),
    (
        "member user without username",
        _without("ping", ("member", "user", "username")),
        [ModelProblem("$.member.user.username", "required field missing")],
    ),
    (
        "member roles not an array",
        _with("ping", ("member", "roles"), "123"),
        [ModelProblem("$.member.roles", "invalid value for type, expected tuple")],
    ),
    (
        "member role not a snowflake",
        _with("slash_resolved", ("member", "roles"), ["1", "x", "3", True]),
        [_snowflake("$.member.roles[1]"), _snowflake("$.member.roles[3]")],
    ),
    (
        "permissions an object",
        _with("ping", ("member", "permissions"), {"a": 1}),
        [ModelProblem("$.member.permissions", f"invalid value for type, expected {PERMISSIONS} | None")],
    ),
    (
        "app permissions negative",
        _variant("ping", app_permissions="-8"),
        [ModelProblem("$.app_permissions", f"invalid value for type, expected {PERMISSIONS} | None")],
    ),
    (
        "app permissions in Arabic-Indic digits",  # U+0660 .isdigit() but is no decimal string
        _variant("ping", app_permissions="\u0660"),
        [ModelProblem("$.app_permissions", f"invalid value for type, expected {PERMISSIONS} | None")],
    ),
    (
        "option value an array",
        _with("slash_resolved", ("data", "options", 0, "value"), [1]),
        [
            ModelProblem(
                "$.data.options[0].value", "invalid value for type, expected str | int | float | bool | None"
            )
        ],
    ),
    (
        "option without name",
        _without("slash_resolved", ("data", "options", 2, "name")),
        [ModelProblem("$.data.options[2].name", "required field missing")],
    ),
    (
        "resolved user key not a snowflake",
        _with("slash_resolved", ("data", "resolved", "users", "abc"), {"id": "1", "username": "x"}),
        [_snowflake("$.data.resolved.users['abc']")],
    ),
    (
        "channel type a string",
        _with("ping", ("channel", "type"), "text"),
        [ModelProblem("$.channel.type", "expected an integer ChannelType, got str")],
    ),
    (
        "component data sent with a command type",
        {**SAMPLES["ping"][1], "data": {"custom_id": "x", "component_type": 2}},
        [
            ModelProblem("$.data.id", "required field missing"),
            ModelProblem("$.data.name", "required field missing"),
        ],
    ),
    (
        "data not an object",
        _variant("ping", data=[1, 2]),
        [ModelProblem("$.data", f"invalid value for type, expected {DATA} | None")],
    ),
    (
        "component type a string",
        _with("button", ("message", "components", 0, "type"), "row"),
        [ModelProblem("$.message.components[0]", "expected an integer ComponentType, got str")],
    ),
    (
        "bad fields at several depths at once",
        {
            **_without("slash_resolved", ("token",)),
            "id": True,
            "member": {**SAMPLES["slash_resolved"][1]["member"], "user": {"id": "-1", "username": "x"}},
            "channel": {"id": "1", "type": "text"},
        },
        [
            _snowflake("$.id"),
            ModelProblem("$.token", "required field missing"),
            ModelProblem("$.channel.type", "expected an integer ChannelType, got str"),
            _snowflake("$.member.user.id"),
        ],
    ),
]


@pytest.mark.parametrize(("name", "payload", "problems"), MALFORMED, ids=[case[0] for case in MALFORMED])
def test_malformed_payloads_report_the_detailed_converters_problems(
    name: str, payload: Payload, problems: list[ModelProblem]
) -> None:
    with pytest.raises(ModelError) as caught:
        parse(Interaction, payload)
    assert list(caught.value.problems) == problems
    assert _outcome(Interaction, payload) == ("error", problems)
    with pytest.raises(Exception):  # noqa: B017 - the fast path fails too, with whatever it meets first
        fast_converter.structure(payload, Interaction)


def test_a_non_object_payload_is_still_rejected_before_any_converter() -> None:
    for payload in (["a"], "x", 5, None):
        with pytest.raises(ModelError) as caught:
            parse(Interaction, payload)
        assert caught.value.problems == (
            ModelProblem("$", f"expected an object, got {type(payload).__name__}"),
        )


# ----------------------------------------------------------------------------------------------- mutations


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


#: Values that sit on the edges of the converter's rules (ids, bit sets, enums, bools vs ints, strings).
TRICKY = [
    None, True, False, 0, 1, -1, 2, 3, 99, 1.5, 2.0, "", "0", "12", "-5", "abc", "²", "1" * 21,
    str(1 << 64), 1 << 64, "\u0660", "\u0663", "\uff11", [], [1], ["1"], {}, {"id": "1"}, {"type": 2},
    {"id": "1", "username": "u"},
]  # fmt: skip
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
)
json_values = st.recursive(
    json_leaves | st.sampled_from(TRICKY),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_payloads(draw: st.DrawFn) -> tuple[type[Any], Payload]:
    name = draw(st.sampled_from(sorted(CASES)))
    model, original = CASES[name]
    payload = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = payload
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(
                draw(st.sampled_from(TRICKY) | json_values)
            )  # TRICKY stays as is
    return model, payload


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_payloads())
def test_mutated_payloads_parse_exactly_as_the_detailed_converter_says(
    case: tuple[type[Any], Payload],
) -> None:
    model, payload = case
    expected = _outcome(model, payload)
    assert _same(_parsed(model, payload), expected)
    try:
        fast = fast_converter.structure(payload, model)
    except Exception:
        return  # allowed: parse then asks the detailed converter, as checked above
    assert expected[0] == "ok", "the fast path accepted a payload the detailed converter rejects"
    assert _same(("ok", fast), expected)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([Interaction, Message, Member, User, Channel, Role, Guild, ApplicationCommand, Modal]),
    st.dictionaries(
        st.sampled_from(["id", "type", "name", "username", "user", "roles", "permissions", "components",
                         "channel_id", "data", "options", "value", "custom_id", "style", "embeds", "flags",
                         "member", "author", "token", "application_id", "channels", "choices"]),
        json_values,
        max_size=8,
    ),
)  # fmt: skip
def test_generated_objects_parse_exactly_as_the_detailed_converter_says(
    model: type[Any], payload: Payload
) -> None:
    assert _same(_parsed(model, payload), _outcome(model, payload))


def test_warm_up_generates_the_hooks_a_first_interaction_needs() -> None:
    # the package's ``converter`` attribute is the Converter instance, so take the module itself
    converter_module = importlib.import_module("protocol.models.converter")
    from protocol.models.components import COMPONENT_CLASSES
    from protocol.models.interactions import DATA_CLASSES

    converter_module.warm_up(Interaction)
    generated = converter_module._fast_hooks
    assert Interaction in generated
    assert all(cls in generated for cls in (*DATA_CLASSES.values(), *COMPONENT_CLASSES.values()))
