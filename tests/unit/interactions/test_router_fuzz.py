"""Garbage and mutated interactions never make the router raise (one bad payload cannot kill the executor)."""

from __future__ import annotations

from typing import Any

import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fixtures.interactions import MODERATOR, build_bot, component, modal_submit, slash

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
BASES = [
    slash("echo", {"text": "hello", "times": 2}),
    slash("cfg roles reset", persona=MODERATOR),
    slash("fruit", {"name": "ap"}, focused="name", autocomplete=True),
    component("page;abc;next;1;5~AAAAAAAAAAAAAAAA"),
    modal_submit("feedback.submit;1~AAAAAAAAAAAAAAAA", {"text": "x"}),
]


def _mutate(payload: Any, path: list[str | int], value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    if isinstance(payload, dict) and isinstance(head, str):
        return {**payload, head: _mutate(payload.get(head), rest, value)}
    if isinstance(payload, list) and isinstance(head, int) and payload:
        index = head % len(payload)
        return [*payload[:index], _mutate(payload[index], rest, value), *payload[index + 1 :]]
    return value


paths = st.lists(
    st.sampled_from(
        ["data", "options", "member", "user", "value", "type", "name", "custom_id", "id", "token"]
    )
    | st.integers(0, 3),
    max_size=4,
)


@settings(max_examples=80, deadline=None)
@given(st.sampled_from(BASES), paths, json_values)
async def test_router_never_raises_on_mutated_payloads(
    base: dict[str, Any], path: list[Any], value: Any
) -> None:
    payload = _mutate(base, path, value)
    async with trio.open_nursery() as nursery:
        bot = build_bot(nursery)
        await bot.router.handle(payload)  # must not raise
        for (
            call
        ) in bot.rest.calls:  # whatever it answered is a well-formed callback (checked against OpenAPI)
            assert call.method in ("POST", "PATCH", "DELETE")
        nursery.cancel_scope.cancel()
