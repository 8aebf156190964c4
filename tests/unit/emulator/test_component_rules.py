"""Discord's component rules as the emulator enforces them."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.emulator.component_rules import IS_COMPONENTS_V2, components_problems


def row(*children: dict[str, Any]) -> dict[str, Any]:
    return {"type": 1, "components": list(children)}


def button(custom_id: str = "b", **extra: Any) -> dict[str, Any]:
    return {"type": 2, "style": 1, "label": "B", "custom_id": custom_id, **extra}


def test_a_valid_view_passes() -> None:
    select = {"type": 3, "custom_id": "s", "options": [{"label": "a", "value": "a"}]}
    link = {"type": 2, "style": 5, "label": "Read", "url": "https://wanderinginn.com"}
    assert components_problems([row(button("a"), button("b"), link), row(select)]) is None


@pytest.mark.parametrize(
    ("components", "path"),
    [
        ([row()], ["0", "components"]),
        ([row(*(button(str(i)) for i in range(6)))], ["0", "components"]),
        (
            [row(button("a"), {"type": 3, "custom_id": "s", "options": [{"label": "x", "value": "x"}]})],
            ["0", "components"],
        ),
        (
            [row({"type": 2, "style": 5, "label": "x", "url": "https://x", "custom_id": "no"})],
            ["0", "components", "0", "custom_id"],
        ),
        ([row({"type": 2, "style": 5, "label": "x"})], ["0", "components", "0", "url"]),
        ([row({"type": 2, "style": 1, "label": "x"})], ["0", "components", "0", "custom_id"]),
        ([row(button("x" * 101))], ["0", "components", "0", "custom_id"]),
        ([row(button(label="y" * 81))], ["0", "components", "0", "label"]),
        ([row({"type": 3, "custom_id": "s", "options": []})], ["0", "components", "0", "options"]),
        ([button("top-level")], ["0", "type"]),
        ([row(button("same")), row(button("same"))], ["_errors"]),
    ],
)
def test_invalid_components_name_the_offending_field(components: list[Any], path: list[str]) -> None:
    problems = components_problems(components)
    assert problems is not None
    node: Any = problems
    for key in path:
        node = node[key]
    assert node


def test_more_than_five_rows_is_rejected_unless_components_v2() -> None:
    rows = [row(button(f"b{i}")) for i in range(6)]
    assert components_problems(rows) is not None
    text = {"type": 10, "content": "hello"}
    assert components_problems([text, *rows[:3]], IS_COMPONENTS_V2) is None
