"""Signed custom_ids: round trips, and forged ids never reach a handler."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shard.interactions import CustomIdCodec, ForgedCustomIdError
from tests.fixtures.interactions import MEMBER, MODERATOR, SECRET, Bot, component, modal_submit

codec = CustomIdCodec(SECRET)


@given(st.lists(st.text(max_size=8) | st.integers(0, 2**64), max_size=3))
def test_state_round_trips_through_the_signed_id(state: list[str | int]) -> None:
    custom_id = codec.encode("route", *state)
    assert len(custom_id) <= 100
    assert codec.decode(custom_id) == ("route", tuple(str(s) for s in state))


@given(st.data())
def test_any_single_character_change_is_rejected(data: st.DataObject) -> None:
    custom_id = codec.encode("purge.confirm", 123, "x;y")
    index = data.draw(st.integers(0, len(custom_id) - 1))
    replacement = data.draw(st.characters(codec="ascii").filter(lambda c: c != custom_id[index]))
    forged = custom_id[:index] + replacement + custom_id[index + 1 :]
    with pytest.raises(ForgedCustomIdError):
        codec.decode(forged)


def test_other_secret_unsigned_and_oversized_ids() -> None:
    other = CustomIdCodec("another-secret-of-sufficient-length")
    with pytest.raises(ForgedCustomIdError):
        codec.decode(other.encode("purge.confirm", 1))
    with pytest.raises(ForgedCustomIdError):
        codec.decode("purge.confirm;5")
    with pytest.raises(ValueError, match="max 100"):
        codec.encode("r", "x" * 100)
    with pytest.raises(ValueError, match="16 bytes"):
        CustomIdCodec("short")


async def test_forged_ids_are_refused_before_any_handler(bot: Bot) -> None:
    genuine = bot.codec.encode("purge.confirm", 5)
    body, _, signature = genuine.rpartition("~")
    forgeries = [
        "purge.confirm;5",  # unsigned
        "purge.confirm;500~" + signature,  # state changed, old signature
        CustomIdCodec("attacker-chosen-secret-value!!").encode("purge.confirm", 5),
        body + "~" + signature[:-1] + ("A" if signature[-1] != "A" else "B"),
    ]
    for forged in forgeries:
        payload = component(forged, persona=MODERATOR)
        calls = await bot.run(payload)
        assert len(calls) == 1
        assert calls[0].callback_type == 4 and calls[0].ephemeral
        assert "not valid" in calls[0].content
        assert not any("purged" in c.content for c in bot.rest.calls)
    assert (
        bot.telemetry.counter("shard_command_errors_total", "", ["error_type"]).value("forged_custom_id") == 4
    )


async def test_a_forged_modal_cannot_submit(bot: Bot) -> None:
    payload = modal_submit("feedback.submit;1~AAAAAAAAAAAAAAAA", {"text": "hi"}, persona=MEMBER)
    calls = await bot.run(payload)
    assert "not valid" in calls[0].content and calls[0].ephemeral


async def test_a_button_id_cannot_be_replayed_as_a_modal(bot: Bot) -> None:
    # signed for the component route, submitted as a modal: the route kind must match
    payload = modal_submit(bot.codec.encode("purge.confirm", 5), {"text": "hi"}, persona=MODERATOR)
    calls = await bot.run(payload)
    assert calls[0].ephemeral and "no longer available" in calls[0].content
