"""Options from signatures: payloads, conversion, validation (hypothesis), definition errors."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from shard.interactions import CommandRegistry, DefinitionError, Option
from tests.fixtures.interactions import Bot, build_bot, slash


async def test_payload_carries_types_ranges_lengths_choices_and_autocomplete(bot: Bot) -> None:
    payloads = {p["name"]: p for p in bot.registry.payloads() if p["type"] == 1}
    echo = {o["name"]: o for o in payloads["echo"]["options"]}
    assert echo["text"] == {
        "type": 3,
        "name": "text",
        "description": "What to echo",
        "required": True,
        "min_length": 2,
        "max_length": 20,
    }
    assert echo["times"] == {
        "type": 4,
        "name": "times",
        "description": "How many times",
        "min_value": 1,
        "max_value": 3,
    }
    assert echo["loud"]["type"] == 5 and "required" not in echo["loud"]
    choose = {o["name"]: o for o in payloads["choose"]["options"]}
    assert choose["colour"]["choices"] == [
        {"name": "red", "value": "red"},
        {"name": "green", "value": "green"},
    ]
    assert choose["ratio"]["type"] == 10
    whois = {o["name"]: o for o in payloads["whois"]["options"]}
    assert [whois[n]["type"] for n in ("user", "member", "role", "channel", "thing", "file")] == [
        6,
        6,
        8,
        7,
        9,
        11,
    ]
    assert whois["channel"]["channel_types"] == [0]
    assert {o["name"]: o for o in payloads["fruit"]["options"]}["name"]["autocomplete"] is True
    cfg = payloads["cfg"]["options"]
    assert [(o["type"], o["name"]) for o in cfg] == [(1, "show"), (1, "set"), (2, "roles")]
    assert cfg[2]["options"][0]["name"] == "reset"


@pytest.mark.parametrize(
    ("options", "types", "message"),
    [
        ({"text": "a"}, {}, "at least 2 characters"),
        ({"text": "x" * 21}, {}, "at most 20 characters"),
        ({"text": "ok", "times": 4}, {}, "at most 3"),
        ({"text": "ok", "times": "3"}, {"times": 4}, "whole number"),
        ({"text": "ok", "times": 2.5}, {"times": 4}, "whole number"),
        ({"times": 2}, {}, "`text` is required"),
        ({"text": "ok", "bogus": 1}, {}, "Unknown option"),
        ({"text": "ok", "times": 1}, {"times": 3}, "wrong type"),
    ],
)
async def test_invalid_values_are_rejected_with_the_option_named(
    bot: Bot, options: dict[str, Any], types: dict[str, int], message: str
) -> None:
    calls = await bot.run(slash("echo", options, option_types=types))
    assert calls[0].ephemeral and message in calls[0].content


async def test_choices_are_enforced_even_if_the_client_ignores_them(bot: Bot) -> None:
    assert "one of the offered choices" in (await bot.run(slash("choose", {"colour": "blue"})))[0].content
    assert (await bot.run(slash("choose", {"colour": "red", "ratio": 0.5})))[0].content == "red 0.5"
    assert "at most 1.0" in (await bot.run(slash("choose", {"colour": "red", "ratio": 2.0})))[0].content


async def test_entities_come_from_resolved_data(bot: Bot) -> None:
    resolved = {
        "users": {"1": {"id": "1", "username": "erin"}, "2": {"id": "2", "username": "lyon"}},
        "members": {"2": {"roles": [], "nick": "Lyonette"}},
        "roles": {"3": {"id": "3", "name": "Gold"}},
        "channels": {
            "4": {"id": "4", "type": 0, "name": "inn"},
            "5": {"id": "5", "type": 2, "name": "voice"},
        },
        "attachments": {"6": {"id": "6", "filename": "map.png", "size": 1, "url": "u"}},
    }
    types = {"user": 6, "member": 6, "role": 8, "channel": 7, "thing": 9, "file": 11}
    options = {"user": "1", "member": "2", "role": "3", "channel": "4", "thing": "3", "file": "6"}
    calls = await bot.run(slash("whois", options, option_types=types, resolved=resolved))
    assert calls[0].content == "erin member:lyon:Lyonette role:Gold channel:inn thing:role file:map.png"
    wrong_channel = await bot.run(
        slash("whois", {"user": "1", "channel": "5"}, option_types=types, resolved=resolved)
    )
    assert "channel of another kind" in wrong_channel[0].content
    unresolved = await bot.run(slash("whois", {"user": "99"}, option_types=types, resolved=resolved))
    assert "cannot see" in unresolved[0].content


@settings(max_examples=60, deadline=None)
@given(
    text=st.one_of(st.text(max_size=25), st.integers(), st.none(), st.booleans()),
    times=st.one_of(st.integers(-5, 8), st.floats(allow_nan=False), st.text(max_size=3), st.booleans()),
)
async def test_any_values_either_run_within_limits_or_are_refused(text: Any, times: Any) -> None:
    payload = slash("echo", {"text": text, "times": times}, option_types={"text": 3, "times": 4})
    async with trio.open_nursery() as nursery:  # one bot per example: each example is its own trio run
        calls = await build_bot(nursery).run(payload)
        nursery.cancel_scope.cancel()
    content = calls[0].content
    valid = isinstance(text, str) and 2 <= len(text) <= 20 and type(times) is int and 1 <= times <= 3
    if valid:
        assert content == " ".join([text] * times) and not calls[0].ephemeral
    else:
        assert calls[0].ephemeral and "Something went wrong" not in content


def test_definition_errors_are_caught_when_the_command_is_defined() -> None:
    registry = CommandRegistry()
    with pytest.raises(DefinitionError, match="example"):

        @registry.slash("a", description="x", examples=[], category="T")
        async def a(ctx: Any) -> None: ...

    with pytest.raises(DefinitionError, match="description"):

        @registry.slash("b", description="", examples=["/b"], category="T")
        async def b(ctx: Any) -> None: ...

    with pytest.raises(DefinitionError, match=r"Option\(description"):

        @registry.slash("c", description="x", examples=["/c"], category="T")
        async def c(ctx: Any, n: int) -> None: ...

    with pytest.raises(DefinitionError, match="follows an optional"):

        @registry.slash("d", description="x", examples=["/d"], category="T")
        async def d(
            ctx: Any, n: Annotated[int, Option("n")] = 1, *, m: Annotated[int, Option("m")]
        ) -> None: ...

    async def complete(ctx: Any, typed: str) -> list[str]:
        return []

    with pytest.raises(DefinitionError, match="both choices and autocomplete"):

        @registry.slash("e", description="x", examples=["/e"], category="T")
        async def e(ctx: Any, n: Annotated[Literal["a"], Option("n", autocomplete=complete)]) -> None: ...

    with pytest.raises(DefinitionError, match="lower-case"):
        registry.group("Bad", description="x", category="T")
    registry.group("g", description="x", category="T")
    with pytest.raises(DefinitionError, match="twice"):
        registry.group("g", description="x", category="T")


async def test_user_or_role_union_is_a_mentionable_that_yields_the_entity(bot: Bot) -> None:
    from protocol.models import Role, User

    seen: list[object] = []

    @bot.registry.slash("ping2", description="Mention", examples=["/ping2 who:@x"], category="Test")
    async def ping2(ctx: Any, who: Annotated[User | Role, Option("Someone or a role")]) -> None:
        seen.append(who)
        await ctx.reply("ok")

    payload = next(p for p in bot.registry.payloads() if p["name"] == "ping2")
    assert payload["options"][0]["type"] == 9
    resolved = {"roles": {"3": {"id": "3", "name": "Gold"}}, "users": {"4": {"id": "4", "username": "erin"}}}
    await bot.run(slash("ping2", {"who": "3"}, option_types={"who": 9}, resolved=resolved))
    await bot.run(slash("ping2", {"who": "4"}, option_types={"who": 9}, resolved=resolved))
    assert [type(s).__name__ for s in seen] == ["Role", "User"]


async def test_enum_parameters_become_choices_and_arrive_as_members(bot: Bot) -> None:
    import enum

    class Detail(enum.Enum):
        BASIC = "basic"
        FULL_SYSTEM = "system"

    seen: list[object] = []

    @bot.registry.slash("res", description="Resources", examples=["/res detail:basic"], category="Test")
    async def res(ctx: Any, detail: Annotated[Detail, Option("How much")] = Detail.BASIC) -> None:
        seen.append(detail)
        await ctx.reply(detail.value)

    payload = next(p for p in bot.registry.payloads() if p["name"] == "res")
    assert payload["options"][0]["choices"] == [
        {"name": "basic", "value": "basic"},
        {"name": "full system", "value": "system"},
    ]
    await bot.run(slash("res", {"detail": "system"}))
    await bot.run(slash("res"))
    assert seen == [Detail.FULL_SYSTEM, Detail.BASIC]
    assert "offered choices" in (await bot.run(slash("res", {"detail": "nope"})))[0].content


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ("Annotated[str, Option('x', min_value=1)]", "only apply to numbers"),
        ("Annotated[int, Option('x', min_value=1.5)]", "integer limits"),
        ("Annotated[int, Option('x', max_length=3)]", "only apply to strings"),
        ("Annotated[str, Option('x', channel_types=[ChannelType.GUILD_TEXT])]", "channel options"),
        ("Annotated[str, Option('x' * 101)]", "longer than 100"),
        ("Annotated[bytes, Option('x')]", "unsupported option type"),
    ],
)
def test_limits_that_discord_would_refuse_are_refused_at_definition(annotation: str, message: str) -> None:
    from protocol.models import ChannelType

    registry = CommandRegistry()
    namespace: dict[str, Any] = {
        "Annotated": Annotated,
        "Option": Option,
        "ChannelType": ChannelType,
        "Any": Any,
    }
    exec(f"async def handler(ctx: Any, value: {annotation}) -> None: ...", namespace)
    with pytest.raises(DefinitionError, match=message):
        registry.slash("bad", description="x", examples=["/bad"], category="T")(namespace["handler"])


def test_discord_command_count_limits_are_enforced() -> None:
    registry = CommandRegistry()
    for index in range(15):

        @registry.user_command(f"U{index}", description="x", examples=["x"], category="T")
        async def user_menu(ctx: Any, target: Any) -> None: ...

    with pytest.raises(DefinitionError, match="at most 15 user"):

        @registry.user_command("one too many", description="x", examples=["x"], category="T")
        async def extra(ctx: Any, target: Any) -> None: ...
