"""Models: real payloads parse, round-trip through dump/parse, and garbage only ever raises ModelError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.models import (
    ActionRow,
    ApplicationCommand,
    ApplicationCommandData,
    Button,
    ButtonStyle,
    ComponentData,
    ComponentType,
    Embed,
    Interaction,
    InteractionType,
    Label,
    Member,
    Message,
    ModalSubmitData,
    ModelError,
    OptionType,
    Permissions,
    Snowflake,
    StringSelect,
    TextInput,
    UnknownComponent,
    User,
    dump,
    iter_components,
    parse,
)

SLASH: dict[str, Any] = {
    "id": "1100000000000000001",
    "application_id": "1100000000000000002",
    "type": 2,
    "token": "tok",
    "version": 1,
    "guild_id": "1100000000000000003",
    "channel_id": "1100000000000000004",
    "locale": "en-US",
    "entitlements": [],
    "authorizing_integration_owners": {"0": "1100000000000000003"},
    "member": {
        "user": {"id": "80351110224678912", "username": "nelly", "discriminator": "0", "avatar": None},
        "roles": ["1100000000000000009"],
        "permissions": "2147483652",
        "joined_at": "2020-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
    },
    "data": {
        "id": "1100000000000000005",
        "name": "link",
        "type": 1,
        "options": [
            {
                "name": "get",
                "type": 1,
                "options": [{"name": "title", "type": 3, "value": "discord", "focused": True}],
            }
        ],
        "resolved": {
            "users": {"80351110224678912": {"id": "80351110224678912", "username": "nelly"}},
            "roles": {
                "1100000000000000009": {"id": "1100000000000000009", "name": "Mod", "permissions": "4"}
            },
        },
    },
}


def test_slash_interaction_parses_with_ids_as_ints_and_nested_options() -> None:
    interaction = parse(Interaction, SLASH)
    assert interaction.type is InteractionType.APPLICATION_COMMAND
    assert interaction.invoker_id == 80351110224678912
    assert isinstance(interaction.data, ApplicationCommandData)
    sub = interaction.data.options[0]
    assert sub.type is OptionType.SUB_COMMAND
    assert sub.options[0].value == "discord" and sub.options[0].focused
    assert interaction.member is not None and interaction.member.permissions is not None
    assert Permissions.BAN_MEMBERS in interaction.member.permissions
    assert interaction.data.resolved is not None
    assert interaction.data.resolved.roles[Snowflake(1100000000000000009)].name == "Mod"


def test_data_class_follows_interaction_type() -> None:
    component = parse(
        Interaction, {**SLASH, "type": 3, "data": {"custom_id": "x", "component_type": 3, "values": ["a"]}}
    )
    assert isinstance(component.data, ComponentData) and component.data.values == ("a",)
    modal = parse(
        Interaction,
        {
            **SLASH,
            "type": 5,
            "data": {
                "custom_id": "m",
                "components": [
                    {"type": 18, "id": 1, "component": {"type": 4, "custom_id": "f", "value": "hi"}}
                ],
            },
        },
    )
    assert isinstance(modal.data, ModalSubmitData)
    inputs = [c for c in iter_components(modal.data.components) if isinstance(c, TextInput)]
    assert [(c.custom_id, c.value) for c in inputs] == [("f", "hi")]
    # a component payload sent with a command type is not silently accepted as a command
    with pytest.raises(ModelError) as caught:
        parse(Interaction, {**SLASH, "data": {"custom_id": "x", "component_type": 2}})
    assert caught.value.path.startswith("$.data")


def test_unknown_enum_values_and_component_types_are_kept() -> None:
    interaction = parse(Interaction, {**SLASH, "type": 42, "context": 9})
    assert int(interaction.type) == 42 and not interaction.type.known
    message = parse(
        Message,
        {
            "id": "1",
            "channel_id": "2",
            "components": [
                {"type": 1, "components": [{"type": 2, "style": 77, "custom_id": "a"}]},
                {"type": 99, "x": [1]},
            ],
        },
    )
    row, unknown = message.components
    assert isinstance(row, ActionRow) and isinstance(row.components[0], Button)
    assert int(row.components[0].style) == 77
    assert isinstance(unknown, UnknownComponent) and unknown.type == 99
    assert dump(message)["components"][1] == {"type": 99, "x": [1]}


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({**SLASH, "id": "not-a-number"}, "$.id"),
        ({**SLASH, "id": True}, "$.id"),
        ({k: v for k, v in SLASH.items() if k != "token"}, "$.token"),
        ({**SLASH, "member": {**SLASH["member"], "roles": "123"}}, "$.member.roles"),
        ({**SLASH, "member": {**SLASH["member"], "permissions": {"a": 1}}}, "$.member.permissions"),
        (
            {**SLASH, "data": {**SLASH["data"], "options": [{"name": "x", "type": 3, "value": [1]}]}},
            "$.data.options[0].value",
        ),
    ],
)
def test_malformed_payloads_raise_model_error_with_the_path(payload: dict[str, Any], path: str) -> None:
    with pytest.raises(ModelError) as caught:
        parse(Interaction, payload)
    assert caught.value.path == path
    assert path in str(caught.value)


def test_non_object_payload_is_a_model_error() -> None:
    with pytest.raises(ModelError):
        parse(Interaction, ["not", "an", "object"])


def test_dump_uses_discord_wire_forms() -> None:
    member = Member(user=User(id=5, username="x"), roles=(7,), permissions=Permissions.BAN_MEMBERS)  # type: ignore[arg-type]
    assert dump(member) == {"user": {"id": "5", "username": "x"}, "roles": ["7"], "permissions": "4"}
    row = ActionRow(components=(Button(style=ButtonStyle.SECONDARY, label="Go", custom_id="c"),))
    # type and style are sent even when they equal the model's defaults: Discord requires them
    assert dump(row) == {"type": 1, "components": [{"type": 2, "style": 2, "label": "Go", "custom_id": "c"}]}


snowflakes = st.integers(min_value=0, max_value=(1 << 64) - 1)
texts = st.text(max_size=20)
users = st.builds(User, id=snowflakes, username=texts, global_name=st.none() | texts, bot=st.booleans())
members = st.builds(
    Member,
    user=st.none() | users,
    nick=st.none() | texts,
    roles=st.lists(snowflakes, max_size=3).map(tuple),
    permissions=st.none() | st.integers(0, (1 << 50)).map(Permissions),
)
buttons = st.builds(
    Button,
    style=st.sampled_from(ButtonStyle),
    label=st.none() | texts,
    custom_id=st.none() | texts,
    disabled=st.booleans(),
)
selects = st.builds(
    StringSelect, custom_id=texts, placeholder=st.none() | texts, max_values=st.none() | st.integers(0, 25)
)
inputs = st.builds(TextInput, custom_id=texts, value=st.none() | texts)
components = st.recursive(
    buttons | selects | inputs,
    lambda inner: (
        st.builds(ActionRow, components=st.lists(inner, max_size=3).map(tuple))
        | st.builds(Label, label=st.none() | texts, component=inner)
    ),
    max_leaves=6,
)
embeds = st.builds(
    Embed, title=st.none() | texts, description=st.none() | texts, color=st.none() | st.integers(0, 0xFFFFFF)
)


@given(users)
def test_user_round_trip(user: User) -> None:
    assert parse(User, dump(user)) == user


@given(members)
def test_member_round_trip(member: Member) -> None:
    assert parse(Member, dump(member)) == member


@given(st.lists(components, max_size=4).map(tuple), st.lists(embeds, max_size=2).map(tuple), snowflakes)
def test_message_round_trip(parts: tuple[Any, ...], message_embeds: tuple[Embed, ...], ident: int) -> None:
    message = Message(id=ident, channel_id=ident, components=parts, embeds=message_embeds)  # type: ignore[arg-type]
    assert parse(Message, dump(message)) == message


@given(
    st.builds(
        ApplicationCommand,
        name=texts,
        description=texts,
        default_member_permissions=st.none() | st.integers(0, 99).map(str),
        nsfw=st.booleans(),
    )
)
def test_command_round_trip(command: ApplicationCommand) -> None:
    assert parse(ApplicationCommand, dump(command)) == command


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
field_names = st.sampled_from(
    [
        "id",
        "application_id",
        "type",
        "token",
        "data",
        "member",
        "user",
        "guild_id",
        "options",
        "name",
        "value",
        "components",
        "custom_id",
        "component_type",
        "values",
        "resolved",
        "roles",
        "permissions",
        "message",
    ]
)
garbage = st.recursive(
    json_values,
    lambda inner: st.dictionaries(field_names, inner, max_size=8) | st.lists(inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(garbage)
def test_garbage_never_escapes_as_anything_but_model_error(payload: object) -> None:
    for model in (Interaction, Message, ApplicationCommand):
        try:
            parse(model, payload)
        except ModelError as error:
            assert error.problems and error.path.startswith("$")


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(field_names, json_values, max_size=6))
def test_mutated_real_payload_parses_or_raises_model_error(changes: dict[str, Any]) -> None:
    payload = {**SLASH, **changes}
    try:
        interaction = parse(Interaction, payload)
    except ModelError:
        return
    assert isinstance(interaction.id, int)
    assert interaction.type == payload["type"]


def test_component_type_enum_covers_docs() -> None:
    assert ComponentType(18) is ComponentType.LABEL and ComponentType.LABEL.known


def test_interaction_and_guild_round_trip_through_dump() -> None:
    from protocol.models import Attachment, Channel, ChannelType, Guild, Modal, Role

    interaction = parse(Interaction, SLASH)
    assert parse(Interaction, dump(interaction)) == interaction
    guild = Guild(
        id=1,  # type: ignore[arg-type]
        name="The Wandering Inn",
        owner_id=2,  # type: ignore[arg-type]
        roles=(Role(id=3, name="Admin", permissions=Permissions.ADMINISTRATOR),),  # type: ignore[arg-type]
        channels=(Channel(id=4, type=ChannelType.GUILD_TEXT, name="general"),),  # type: ignore[arg-type]
    )
    wire = dump(guild)
    assert wire["roles"][0]["permissions"] == "8" and wire["channels"][0]["id"] == "4"
    assert parse(Guild, wire) == guild
    attachment = Attachment(id=5, filename="map.png", size=10, url="https://x", content_type="image/png")  # type: ignore[arg-type]
    assert parse(Attachment, dump(attachment)) == attachment
    modal = Modal(
        custom_id="m", title="T", components=(Label(label="Name", component=TextInput(custom_id="n")),)
    )
    assert dump(modal) == {
        "custom_id": "m",
        "title": "T",
        "components": [{"type": 18, "label": "Name", "component": {"type": 4, "custom_id": "n", "style": 1}}],
    }
    assert parse(Modal, dump(modal)) == modal
