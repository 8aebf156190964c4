"""The reply renderer: content, embeds with fields, numbered components, ephemeral marks."""

from typing import Any

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shard.sandbox.render import EPHEMERAL_FLAG, render_message, render_reply


@attrs.define
class Reply:  # the shape of the emulator's InteractionReply
    content: str | None = None
    embeds: list[dict[str, Any]] = attrs.field(factory=list)
    components: list[dict[str, Any]] = attrs.field(factory=list)
    ephemeral: bool = False
    deferred: bool = False
    loading: bool = False
    deleted: bool = False
    followups: list[dict[str, Any]] = attrs.field(factory=list)
    modal: dict[str, Any] | None = None


def button(custom_id: str | None, label: str, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"type": 2, "style": 1, "label": label, **extra}
    if custom_id is not None:
        data["custom_id"] = custom_id
    return data


def test_embed_with_fields_and_numbered_components() -> None:
    reply = Reply(
        content="Results for *discord*",
        ephemeral=True,
        embeds=[
            {
                "title": "Links",
                "url": "https://example.org",
                "description": "Page 1 of 3",
                "fields": [
                    {"name": "discord", "value": "https://discord.gg/x", "inline": True},
                    {"name": "wiki", "value": "line one\nline two"},
                ],
                "footer": {"text": "requested by erin"},
            }
        ],
        components=[
            {
                "type": 1,
                "components": [
                    button("page:prev", "Previous", disabled=True),
                    button("page:next", "Next"),
                    {"type": 2, "style": 5, "label": "Wiki", "url": "https://wiki.example"},
                ],
            },
            {
                "type": 1,
                "components": [
                    {
                        "type": 3,
                        "custom_id": "help:category",
                        "placeholder": "Choose a category",
                        "options": [{"label": "Links", "value": "links"}, {"label": "fun", "value": "fun"}],
                    }
                ],
            },
        ],
    )
    rendered = render_reply(reply)
    lines = rendered.text.splitlines()
    assert lines[0] == "(ephemeral)"
    assert lines[1] == "Results for *discord*"
    assert "│ Links <https://example.org>" in lines
    assert "│ ▸ discord (inline)" in lines and "│   https://discord.gg/x" in lines
    assert "│   line one" in lines and "│   line two" in lines
    assert "│ — requested by erin" in lines
    assert "[1] Previous (disabled)   [2] Next   Wiki <https://wiki.example>" in lines
    assert "[3] ▾ Choose a category: Links (links), fun" in lines
    assert [c.custom_id for c in rendered.components] == ["page:prev", "page:next", "help:category"]
    assert rendered.component(3).is_select and rendered.component(3).options == (
        ("Links", "links"),
        ("fun", "fun"),
    )
    with pytest.raises(LookupError, match="available: 1, 2, 3"):
        rendered.component(4)


def test_followups_continue_the_numbering() -> None:
    reply = Reply(
        content="first",
        components=[{"type": 1, "components": [button("a", "A")]}],
        followups=[
            {
                "content": "second",
                "flags": EPHEMERAL_FLAG,
                "components": [{"type": 1, "components": [button("b", "B")]}],
            }
        ],
    )
    rendered = render_reply(reply)
    assert "↳ (ephemeral)\n  second\n  [2] B" in rendered.text
    assert [(c.number, c.custom_id) for c in rendered.components] == [(1, "a"), (2, "b")]


def test_deferred_modal_and_deleted() -> None:
    assert "thinking" in render_reply(Reply(deferred=True, loading=True)).text
    assert render_reply(Reply(deleted=True, content="x")).text == "(the reply was deleted)"
    modal = {
        "title": "Repost",
        "custom_id": "repost",
        "components": [{"type": 1, "components": [{"type": 4, "custom_id": "title", "label": "Title"}]}],
    }
    assert render_reply(Reply(modal=modal)).text == "(modal) Repost\n  Title"


components_strategy = st.lists(
    st.lists(
        st.one_of(
            st.builds(button, st.text(min_size=1, max_size=10), st.text(max_size=10)),
            st.builds(lambda label: button(None, label, style=5, url="https://x"), st.text(max_size=10)),
        ),
        min_size=1,
        max_size=5,
    ).map(lambda row: {"type": 1, "components": row}),
    max_size=5,
)


@given(content=st.text(max_size=200), ephemeral=st.booleans(), rows=components_strategy)
def test_properties(content: str, ephemeral: bool, rows: list[dict[str, Any]]) -> None:
    assume(not content.startswith("(ephemeral)"))
    message = {"content": content, "flags": EPHEMERAL_FLAG if ephemeral else 0, "components": rows}
    rendered = render_message(message)
    assert rendered.text.startswith("(ephemeral)") == ephemeral
    for line in content.splitlines():
        assert line in rendered.text
    clickable = [c for row in rows for c in row["components"] if "custom_id" in c]
    assert [c.number for c in rendered.components] == list(range(1, len(clickable) + 1))
    assert [c.custom_id for c in rendered.components] == [c["custom_id"] for c in clickable]
    for component in rendered.components:
        assert f"[{component.number}] " in rendered.text
