"""Pagination (first/prev/next/last, n of m, invoker only, timeout) and view timeouts."""

from __future__ import annotations

from typing import Any

import trio
import trio.testing

from tests.fixtures.interactions import MEMBER, MODERATOR, OTHER_MEMBER, Bot, component, slash


def _buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in data["components"] for b in row["components"]]


def _description(data: dict[str, Any]) -> str:
    return str(data["embeds"][0]["description"])


async def test_pages_turn_for_the_invoker_only_and_expire(
    bot: Bot, mock_clock: trio.testing.MockClock
) -> None:
    first = (await bot.run(slash("list", persona=MEMBER)))[0]
    assert first.callback_type == 4
    assert _description(first.data).splitlines()[0] == "item 0"
    buttons = _buttons(first.data)
    assert [b["label"] for b in buttons] == ["<<", "<", "1 / 4", ">", ">>"]
    assert [b.get("disabled", False) for b in buttons] == [True, True, True, False, False]

    turned = (await bot.run(component(buttons[3]["custom_id"], persona=MEMBER)))[0]
    assert turned.callback_type == 7
    assert _description(turned.data).splitlines()[0] == "item 10"
    assert _buttons(turned.data)[2]["label"] == "2 / 4"

    last = (await bot.run(component(_buttons(turned.data)[4]["custom_id"], persona=MEMBER)))[0]
    assert _description(last.data).splitlines() == [f"item {i}" for i in range(30, 35)]
    assert [b.get("disabled", False) for b in _buttons(last.data)] == [False, False, True, True, True]

    stranger = (await bot.run(component(buttons[3]["custom_id"], persona=OTHER_MEMBER)))[0]
    assert stranger.callback_type == 4 and stranger.ephemeral
    assert "Only the person who ran the command" in stranger.content

    mock_clock.jump(121)
    await trio.testing.wait_all_tasks_blocked()
    expiry = bot.rest.calls[-1]
    assert expiry.method == "PATCH" and expiry.template.endswith("/messages/@original")
    assert all(b["disabled"] for b in _buttons(expiry.json))

    late = (await bot.run(component(buttons[3]["custom_id"], persona=MEMBER)))[0]
    assert late.ephemeral and "expired" in late.content


async def test_view_timeout_disables_a_confirm_button(bot: Bot, mock_clock: trio.testing.MockClock) -> None:
    payload = slash("purge", persona=MODERATOR)
    await bot.router.handle(payload)
    assert len(bot.rest.for_token(payload)) == 1
    mock_clock.jump(59)
    await trio.testing.wait_all_tasks_blocked()
    assert len(bot.rest.for_token(payload)) == 1
    mock_clock.jump(2)
    await trio.testing.wait_all_tasks_blocked()
    disable = bot.rest.for_token(payload)[-1]
    assert disable.method == "PATCH"
    assert disable.json["components"][0]["components"][0]["disabled"] is True


async def test_single_page_needs_no_buttons(bot: Bot) -> None:
    from shard.interactions import Page

    @bot.registry.slash("one", description="One page", examples=["/one"], category="Test")
    async def one(ctx: Any) -> None:
        await bot.pagination.send(ctx, [Page(content="only")])

    calls = await bot.run(slash("one"))
    assert calls[0].content == "only" and "components" not in calls[0].data
    assert len(bot.pagination) == 0
