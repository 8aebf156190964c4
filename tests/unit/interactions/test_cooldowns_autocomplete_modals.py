"""Cooldowns (with expiry), autocomplete, modals and context menus through the router."""

from __future__ import annotations

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from shard.interactions import Cooldown, CooldownBucket, CooldownTracker
from tests.fixtures.interactions import MEMBER, OTHER_MEMBER, OWNER, Bot, context_menu, modal_submit, slash


def test_sliding_window_tracker() -> None:
    tracker = CooldownTracker()
    rule = Cooldown(rate=2, per=10.0)
    assert tracker.hit("c", rule, 1, now=0.0) is None
    assert tracker.hit("c", rule, 1, now=4.0) is None
    assert tracker.hit("c", rule, 1, now=5.0) == pytest.approx(5.0)
    assert tracker.hit("c", rule, 1, now=9.0) == pytest.approx(1.0)  # refused uses do not extend the wait
    assert tracker.hit("c", rule, 1, now=10.0) is None
    assert tracker.hit("c", rule, 2, now=10.0) is None  # another bucket id is independent
    assert tracker.hit("other", rule, 1, now=10.0) is None


def test_bucket_ids_and_pruning() -> None:
    tracker = CooldownTracker(prune_above=3)
    guild_rule = Cooldown(1, 5.0, CooldownBucket.GUILD)
    assert tracker.bucket_id(guild_rule, user_id=1, channel_id=2, guild_id=3) == 3
    assert tracker.bucket_id(guild_rule, user_id=1, channel_id=2, guild_id=None) == 1
    for key in range(3):
        tracker.hit("c", guild_rule, key, now=0.0)
    tracker.hit("c", guild_rule, 99, now=100.0)
    assert len(tracker) == 1
    with pytest.raises(ValueError):
        Cooldown(0, 1.0)


async def test_cooldown_refuses_with_retry_time_then_expires(
    bot: Bot, mock_clock: trio.testing.MockClock
) -> None:
    assert (await bot.run(slash("cool")))[0].content == "cool"
    mock_clock.jump(10)
    assert (await bot.run(slash("cool")))[0].content == "cool"
    refused = (await bot.run(slash("cool")))[0]
    assert refused.ephemeral and "Try again in 20 s" in refused.content
    assert (await bot.run(slash("cool", persona=OTHER_MEMBER)))[0].content == "cool"  # per-user bucket
    mock_clock.jump(20)
    assert (await bot.run(slash("cool")))[0].content == "cool"
    outcomes = bot.telemetry.counter("shard_commands_total", "", ["command", "outcome"])
    assert outcomes.value("cool", "cooldown") == 1 and outcomes.value("cool", "ok") == 4


async def test_autocomplete_suggests_at_most_25_matching_choices(bot: Bot) -> None:
    calls = await bot.run(slash("fruit", {"name": "ap"}, focused="name", autocomplete=True))
    assert calls[0].callback_type == 8
    assert [c["value"] for c in calls[0].data["choices"]] == ["apple", "apricot"]
    everything = await bot.run(slash("fruit", {"name": ""}, focused="name", autocomplete=True))
    assert len(everything[0].data["choices"]) == 25


async def test_help_autocomplete_only_offers_commands_the_user_may_run(bot: Bot) -> None:
    member = await bot.run(
        slash("help", {"command": "sh"}, focused="command", autocomplete=True, persona=MEMBER)
    )
    owner = await bot.run(
        slash("help", {"command": "sh"}, focused="command", autocomplete=True, persona=OWNER)
    )
    assert [c["value"] for c in member[0].data["choices"]] == []
    assert [c["value"] for c in owner[0].data["choices"]] == ["cfg show", "shutdown"]


async def test_autocomplete_is_empty_for_users_below_the_level(bot: Bot) -> None:
    calls = await bot.run(slash("cfg show", {}, autocomplete=True, persona=MEMBER))
    assert calls[0].callback_type == 8 and calls[0].data["choices"] == []
    assert bot.audit.entries == []  # typing is not an attempt; nothing is audited


async def test_modal_round_trip(bot: Bot) -> None:
    opened = (await bot.run(slash("feedback", persona=MEMBER)))[0]
    assert opened.callback_type == 9
    modal = opened.data
    assert modal["title"] == "Feedback"
    assert bot.codec.decode(modal["custom_id"]) == ("feedback.submit", (str(MEMBER.user_id),))
    submitted = (await bot.run(modal_submit(modal["custom_id"], {"text": "great bot"}, persona=MEMBER)))[0]
    assert submitted.callback_type == 4 and submitted.ephemeral
    assert submitted.content == f"thanks for: great bot (form of {MEMBER.user_id})"
    empty = (await bot.run(modal_submit(modal["custom_id"], {"text": "  "}, persona=MEMBER)))[0]
    assert empty.ephemeral and "cannot be empty" in empty.content


async def test_user_and_message_context_menus(bot: Bot) -> None:
    user = context_menu(
        2,
        "Inspect",
        5,
        {"users": {"5": {"id": "5", "username": "zel"}}, "members": {"5": {"roles": [], "nick": "Z"}}},
    )
    assert (await bot.run(user))[0].content == "inspected zel"
    message = context_menu(
        3, "Quote", 6, {"messages": {"6": {"id": "6", "channel_id": "1", "content": "Hello"}}}
    )
    assert (await bot.run(message))[0].content == "quoted: Hello"
    missing = context_menu(3, "Quote", 7, {})
    assert "cannot see" in (await bot.run(missing))[0].content


async def test_modal_selects_and_update_on_a_command(bot: Bot) -> None:
    from typing import Any

    from tests.fixtures.interactions import _base

    seen: dict[str, Any] = {}

    @bot.registry.modal("survey")
    async def survey(ctx: Any) -> None:
        seen.update(fields=ctx.fields, selections=ctx.selections)
        await ctx.update("recorded")

    payload = _base(
        5,
        MEMBER,
        {
            "custom_id": bot.codec.encode("survey"),
            "components": [
                {"type": 18, "component": {"type": 4, "custom_id": "name", "value": "Erin"}},
                {"type": 18, "component": {"type": 3, "custom_id": "food", "values": ["pasta", "pie"]}},
            ],
        },
    )
    calls = await bot.run(payload)
    assert seen == {"fields": {"name": "Erin"}, "selections": {"food": ("pasta", "pie")}}
    assert calls[0].callback_type == 4 and calls[0].content == "recorded"


async def test_default_cooldown_applies_unless_a_command_opts_out(
    bot: Bot, mock_clock: trio.testing.MockClock
) -> None:
    bot.router.default_cooldown = Cooldown(rate=1, per=3.0)
    assert (await bot.run(slash("echo", {"text": "one"})))[0].content == "one"
    refused = (await bot.run(slash("echo", {"text": "two"})))[0]
    assert refused.ephemeral and "Try again in 3 s" in refused.content
    for _ in range(3):  # /ping says cooldown=NO_COOLDOWN
        assert (await bot.run(slash("ping")))[0].content.startswith("Pong!")
    # a command's own cooldown wins over the default: /cool allows two uses per 30 s
    assert [(await bot.run(slash("cool")))[0].content for _ in range(2)] == ["cool", "cool"]
    mock_clock.jump(3)
    assert (await bot.run(slash("echo", {"text": "three"})))[0].content == "three"


@given(
    rate=st.integers(1, 4),
    per=st.floats(0.5, 20.0),
    gaps=st.lists(st.floats(0.0, 10.0), min_size=1, max_size=40),
)
def test_never_more_than_rate_uses_in_any_window(rate: int, per: float, gaps: list[float]) -> None:
    tracker = CooldownTracker()
    rule = Cooldown(rate=rate, per=per)
    now = 0.0
    allowed: list[float] = []
    for gap in gaps:
        now += gap
        retry_after = tracker.hit("c", rule, 1, now)
        if retry_after is None:
            allowed.append(now)
        else:
            assert 0 < retry_after <= per
            # the refusal is honest: the oldest counted use is still inside the window
            assert sum(1 for t in allowed if t > now - per) >= rate
    for index, start in enumerate(allowed):
        assert sum(1 for t in allowed[index:] if t < start + per) <= rate
