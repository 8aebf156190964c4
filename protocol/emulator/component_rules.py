"""Discord's rules for message components, checked the way Discord reports them (a 50035 error tree).

Why the emulator checks components at all: views are where bots break silently — a link button with a
custom_id, 26 select options, a select sharing a row with buttons, two buttons with the same custom_id —
and Discord rejects the whole message with a 50035. The command system's views and pagination are tested
against these rules here instead of against users. The checks follow components--reference.mdx; layouts
with the IS_COMPONENTS_V2 flag (containers, sections, text displays) are accepted with only the shared
checks (custom_id length and uniqueness, 40 components in all).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from protocol.emulator import errors

IS_COMPONENTS_V2 = 1 << 15
ACTION_ROW, BUTTON, STRING_SELECT = 1, 2, 3
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
LINK_STYLE, PREMIUM_STYLE = 5, 6
MAX_ROWS = 5
MAX_ROW_CHILDREN = 5
MAX_TOTAL_V2 = 40
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_OPTIONS = 25

Problems = dict[str, Any]


def components_problems(components: object, flags: int = 0) -> Problems | None:
    """The error tree for a message's ``components`` (None when they are valid)."""
    if not isinstance(components, list):
        return errors.field_error("BASE_TYPE_LIST", "Must be a list.")
    v2 = bool(flags & IS_COMPONENTS_V2)
    if not v2 and len(components) > MAX_ROWS:
        return errors.field_error("BASE_TYPE_MAX_LENGTH", f"Must be {MAX_ROWS} or fewer in length.")
    if v2 and sum(1 for _ in _walk(components)) > MAX_TOTAL_V2:
        return errors.field_error("BASE_TYPE_MAX_LENGTH", f"Must be {MAX_TOTAL_V2} or fewer in total.")
    problems: Problems = {}
    for index, component in enumerate(components):
        if not isinstance(component, dict):
            problems[str(index)] = errors.field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used.")
            continue
        if component.get("type") == ACTION_ROW:
            row_problem = _row_problems(component)
        elif v2:
            row_problem = (
                _child_problems(component) if component.get("type") in (BUTTON, *SELECT_TYPES) else None
            )
        else:
            row_problem = {
                "type": errors.field_error("UNION_TYPE_CHOICES", "Value must be an action row (1).")
            }
        if row_problem:
            problems[str(index)] = row_problem
    duplicate = _first_duplicate_custom_id(components)
    if duplicate is not None:
        problems.setdefault("_errors", []).append(
            {
                "code": "COMPONENT_CUSTOM_ID_DUPLICATED",
                "message": f"Component custom id cannot be duplicated: {duplicate}",
            }
        )
    return problems or None


def _row_problems(row: dict[str, Any]) -> Problems | None:
    children = row.get("components")
    if not isinstance(children, list) or not 1 <= len(children) <= MAX_ROW_CHILDREN:
        return {
            "components": errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
        }
    kinds = [child.get("type") for child in children if isinstance(child, dict)]
    if any(kind in SELECT_TYPES for kind in kinds) and len(children) > 1:
        return {
            "components": errors.field_error(
                "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width"
            )
        }
    problems = {str(i): p for i, child in enumerate(children) if (p := _child_problems(child))}
    return {"components": problems} if problems else None


def _child_problems(child: object) -> Problems | None:
    if not isinstance(child, dict):
        return errors.field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used.")
    problems: Problems = {}
    kind = child.get("type")
    custom_id = child.get("custom_id")
    if custom_id is not None and (not isinstance(custom_id, str) or not 1 <= len(custom_id) <= MAX_CUSTOM_ID):
        problems["custom_id"] = errors.field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    if kind == BUTTON:
        problems.update(_button_problems(child))
    elif kind in SELECT_TYPES:
        if custom_id is None:
            problems["custom_id"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
        if kind == STRING_SELECT:
            options = child.get("options")
            if not isinstance(options, list) or not 1 <= len(options) <= MAX_OPTIONS:
                problems["options"] = errors.field_error(
                    "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 25 in length."
                )
    return problems or None


def _button_problems(button: dict[str, Any]) -> Problems:
    problems: Problems = {}
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        problems["style"] = errors.field_error(
            "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}."
        )
    elif style == LINK_STYLE:
        if not button.get("url"):
            problems["url"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
        if "custom_id" in button:
            problems["custom_id"] = errors.field_error(
                "BUTTON_COMPONENT_CUSTOM_ID_INVALID", "A link button cannot have a custom id"
            )
    elif style == PREMIUM_STYLE:
        if not button.get("sku_id"):
            problems["sku_id"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
    elif "custom_id" not in button:
        problems["custom_id"] = errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
    label = button.get("label")
    if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL):
        problems["label"] = errors.field_error(
            "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_LABEL} or fewer in length."
        )
    return problems


def _walk(components: list[Any]) -> Iterator[dict[str, Any]]:
    for component in components:
        if isinstance(component, dict):
            yield component
            children = component.get("components")
            if isinstance(children, list):
                yield from _walk(children)
            for key in ("accessory", "component"):
                child = component.get(key)
                if isinstance(child, dict):
                    yield from _walk([child])


def _first_duplicate_custom_id(components: list[Any]) -> str | None:
    seen: set[str] = set()
    for component in _walk(components):
        custom_id = component.get("custom_id")
        if isinstance(custom_id, str):
            if custom_id in seen:
                return custom_id
            seen.add(custom_id)
    return None
