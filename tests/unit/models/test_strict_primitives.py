"""Primitives are checked strictly: a JSON value of the wrong kind is a `ModelError` at its path, not a cast.

cattrs' own handlers for str/int/float/bool (and, through int, every int-based enum) are ``cls(value)``: they
turned ``5`` into ``"5"``, ``null`` into ``"None"``, ``{"a": 1}`` into ``"{'a': 1}"``, ``1`` into ``True`` and
``True`` into ``1`` or ``InteractionType.PING``. The converter's strict hooks replace them on both the fast
and the detailed converter; these tests go through `parse` (the public API) for a top-level and a nested
field of each kind, check that the fast converter rejects the value too, and that valid payloads still parse
to objects whose fields hold exactly their declared types.
"""

from __future__ import annotations

import copy
import enum
import types
import typing
from typing import Any

import attrs
import cattrs
import pytest

from bench.models import sample_payloads
from protocol.models import (
    ApplicationCommandType,
    ChannelType,
    Interaction,
    InteractionType,
    Message,
    ModelError,
    ModelProblem,
    OpenIntEnum,
    parse,
)
from protocol.models.converter import _problems, converter, fast_converter

Payload = dict[str, Any]
SAMPLES: dict[str, tuple[type[Any], Payload]] = sample_payloads()


def _with(name: str, path: tuple[str | int, ...], value: Any) -> Payload:
    payload = copy.deepcopy(SAMPLES[name][1])
    node: Any = payload
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return payload


def _path(where: str) -> tuple[str | int, ...]:
    return tuple(int(key) if key.isdigit() else key for key in where.split("."))


#: (sample, field as "a.b.0", wrong value, the problem's path, its message): each bug the brief names at the
#: top level and nested, plus optional fields and array items (which take other code in both converters).
WRONG_KINDS: list[tuple[str, str, Any, str, str]] = [
    # an int in a string field became "5"
    ("ping", "token", 5, "$.token", "expected a string, got int"),
    ("ping", "member.user.username", 5, "$.member.user.username", "expected a string, got int"),
    ("ping", "locale", 7, "$.locale", "expected a string, got int"),
    ("string_select", "data.values", ["r", 5], "$.data.values[1]", "expected a string, got int"),
    # null in a required string field became "None"
    ("ping", "token", None, "$.token", "expected a string, got NoneType"),
    ("ping", "member.user.username", None, "$.member.user.username", "expected a string, got NoneType"),
    # an int in a bool field became True (or False)
    ("message_create", "tts", 1, "$.tts", "expected a boolean, got int"),
    ("ping", "member.deaf", 1, "$.member.deaf", "expected a boolean, got int"),
    ("message_create", "author.bot", 0, "$.author.bot", "expected a boolean, got int"),
    # a bool in an int field became 1 (and a decimal string became its number)
    ("ping", "version", True, "$.version", "expected an integer, got bool"),
    ("button", "message.type", False, "$.message.type", "expected an integer, got bool"),
    ("ping", "version", "1", "$.version", "expected an integer, got str"),
    # a bool in an enum field became InteractionType.PING (and 2.0 became APPLICATION_COMMAND)
    ("ping", "type", True, "$.type", "expected an integer InteractionType, got bool"),
    ("ping", "channel.type", True, "$.channel.type", "expected an integer ChannelType, got bool"),
    ("ping", "data.type", False, "$.data.type", "expected an integer ApplicationCommandType, got bool"),
    ("ping", "type", 2.0, "$.type", "expected an integer InteractionType, got float"),
    # an object in a string field became "{'a': 1}"
    ("ping", "token", {"a": 1}, "$.token", "expected a string, got dict"),
    ("ping", "member.user.username", {"a": 1}, "$.member.user.username", "expected a string, got dict"),
    ("message_create", "author.username", ["x"], "$.author.username", "expected a string, got list"),
]


@pytest.mark.parametrize(
    ("sample", "where", "value", "path", "message"),
    WRONG_KINDS,
    ids=[f"{sample}:{where}={value!r}" for sample, where, value, _, _ in WRONG_KINDS],
)
def test_a_wrong_primitive_is_a_model_error_at_its_path(
    sample: str, where: str, value: Any, path: str, message: str
) -> None:
    model = SAMPLES[sample][0]
    payload = _with(sample, _path(where), value)
    with pytest.raises(ModelError) as caught:
        parse(model, payload)
    assert list(caught.value.problems) == [ModelProblem(path, message)]
    assert caught.value.path == path
    assert f"{path}: {message}" in str(caught.value)
    with pytest.raises(Exception):  # noqa: B017 - the fast path must not build anything from it either
        fast_converter.structure(payload, model)


def test_every_wrong_primitive_of_a_payload_is_named() -> None:
    payload = _with("ping", ("version",), True)
    payload["token"] = None
    payload["type"] = True
    payload["member"]["deaf"] = 1
    payload["member"]["user"]["username"] = {"a": 1}
    with pytest.raises(ModelError) as caught:
        parse(Interaction, payload)
    assert set(caught.value.problems) == {
        ModelProblem("$.type", "expected an integer InteractionType, got bool"),
        ModelProblem("$.token", "expected a string, got NoneType"),
        ModelProblem("$.version", "expected an integer, got bool"),
        ModelProblem("$.member.user.username", "expected a string, got dict"),
        ModelProblem("$.member.deaf", "expected a boolean, got int"),
    }
    with pytest.raises(cattrs.ClassValidationError) as detailed:  # every field's error, as parse reads them
        converter.structure(payload, Interaction)
    assert set(_problems(detailed.value)) == set(caught.value.problems)


# ------------------------------------------------------------------------------------- what is still accepted


def test_ids_accept_decimal_strings_and_ints() -> None:
    for raw in ("80351110224678912", 80351110224678912):
        interaction = parse(Interaction, _with("ping", ("member", "user", "id"), raw))
        assert interaction.member is not None and interaction.member.user is not None
        assert interaction.member.user.id == 80351110224678912
        assert type(interaction.member.user.id) is int
    assert parse(Interaction, _with("ping", ("id",), 5)).id == 5


def test_open_enums_keep_unknown_integers_and_ints_stay_ints() -> None:
    interaction = parse(Interaction, _with("ping", ("type",), 42))
    assert int(interaction.type) == 42 and not interaction.type.known
    channel = parse(Interaction, _with("ping", ("channel", "type"), 99)).channel
    assert channel is not None and int(channel.type) == 99 and isinstance(channel.type, ChannelType)
    interaction = parse(Interaction, _with("ping", ("version",), 2))
    assert interaction.version == 2 and type(interaction.version) is int
    assert parse(Interaction, SAMPLES["ping"][1]).type is InteractionType.APPLICATION_COMMAND


def test_bools_stay_bools() -> None:
    interaction = parse(Interaction, _with("ping", ("member", "deaf"), True))
    assert interaction.member is not None and interaction.member.deaf is True
    message = parse(Message, _with("message_create", ("tts",), False))
    assert message.tts is False


def _declared_types(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(arg for arg in typing.get_args(tp) if arg is not type(None))
    return (tp,)


def _check_exact_types(obj: Any, path: str) -> int:
    """Walk a parsed model: each str/int/bool/enum field holds exactly that type. Returns fields checked."""
    checked = 0
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        where = f"{path}.{field.name}"
        if value is None:
            continue
        declared = _declared_types(field.type)
        kind = declared[0] if len(declared) == 1 and isinstance(declared[0], type) else None
        if kind is not None and (kind in (str, int, bool, float) or issubclass(kind, OpenIntEnum)):
            assert type(value) is kind, where
            checked += 1
        items = value if isinstance(value, tuple) else value.values() if isinstance(value, dict) else [value]
        for index, item in enumerate(items):
            if attrs.has(type(item)):
                checked += _check_exact_types(item, f"{where}[{index}]")
    return checked


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_valid_payloads_hold_exactly_their_declared_types(name: str) -> None:
    model, payload = SAMPLES[name]
    parsed = parse(model, payload)
    assert parsed == fast_converter.structure(payload, model) == converter.structure(payload, model)
    assert _check_exact_types(parsed, "$") > 5


def test_a_sample_parses_to_the_values_on_the_wire() -> None:
    payload = SAMPLES["ping"][1]
    interaction = parse(Interaction, payload)
    assert interaction.token == payload["token"] and interaction.version == payload["version"]
    assert interaction.data is not None and interaction.data.type is ApplicationCommandType.CHAT_INPUT
    member = interaction.member
    assert member is not None and member.user is not None
    assert member.user.username == payload["member"]["user"]["username"]
    assert member.deaf is payload["member"]["deaf"] and member.mute is payload["member"]["mute"]


# ------------------------------------------------- floats and enum subclasses (no Discord model has them yet)


class Shade(enum.IntEnum):
    LIGHT = 1
    DARK = 2


class Colour(enum.StrEnum):
    RED = "red"


@attrs.frozen
class Reading:
    value: float
    shade: Shade = Shade.LIGHT
    colour: Colour = Colour.RED


@attrs.frozen
class Probe:
    reading: Reading


def test_floats_accept_numbers_and_reject_bools_and_strings() -> None:
    assert parse(Reading, {"value": 2}).value == 2.0 and type(parse(Reading, {"value": 2}).value) is float
    assert parse(Reading, {"value": 2.5}).value == 2.5
    for raw, got in ((True, "bool"), ("1.5", "str"), (None, "NoneType")):
        with pytest.raises(ModelError) as caught:
            parse(Reading, {"value": raw})
        assert caught.value.problems == (ModelProblem("$.value", f"expected a number, got {got}"),)
        with pytest.raises(ModelError) as caught:
            parse(Probe, {"reading": {"value": raw}})
        assert caught.value.problems == (ModelProblem("$.reading.value", f"expected a number, got {got}"),)


def test_closed_int_and_str_enums_are_checked_then_built() -> None:
    reading = parse(Reading, {"value": 1.0, "shade": 2, "colour": "red"})
    assert reading.shade is Shade.DARK and reading.colour is Colour.RED
    cases = [
        ({"shade": True}, "$.shade", "expected an integer, got bool"),
        ({"shade": "2"}, "$.shade", "expected an integer, got str"),
        ({"shade": 9}, "$.shade", "invalid value for type, expected Shade"),
        ({"colour": 5}, "$.colour", "expected a string, got int"),
        ({"colour": "blue"}, "$.colour", "invalid value for type, expected Colour"),
    ]
    for change, path, message in cases:
        with pytest.raises(ModelError) as caught:
            parse(Reading, {"value": 1.0, **change})
        assert caught.value.problems == (ModelProblem(path, message),)
