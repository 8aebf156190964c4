"""The bot's replies as console text: content, embeds with fields, numbered components, "(ephemeral)".

Why numbers: a terminal cannot click, so every component that can be acted on (a button with a ``custom_id``,
any select menu) gets a number, counted across the reply and its follow-ups in the order Discord shows them;
``:click N`` / ``:select N VALUE`` look the number up in `Rendered.components`. Link buttons are shown with
their URL but get no number (clicking one opens a browser, never reaches the bot). Disabled components keep
their number, marked ``(disabled)``, so numbering does not shift when a view times out.

Input is plain Discord payload data (message objects, or anything shaped like the emulator's
`InteractionReply`), so the renderer is pure and needs neither the emulator nor the bot to be tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs

__all__ = ["EPHEMERAL_FLAG", "NumberedComponent", "Rendered", "ReplyView", "render_message", "render_reply"]

EPHEMERAL_FLAG = 1 << 6
ACTION_ROW, BUTTON, STRING_SELECT, TEXT_INPUT = 1, 2, 3, 4
SELECT_KINDS = {3: "select", 5: "user select", 6: "role select", 7: "mentionable select", 8: "channel select"}
LINK_STYLE = 5
TEXT_DISPLAY, CONTAINER, SECTION = 10, 17, 9


@attrs.frozen
class NumberedComponent:
    """A component the console can act on, by its number."""

    number: int
    kind: str  # "button" or one of the select kinds
    custom_id: str
    label: str
    disabled: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (label, value) of a string select
    min_values: int = 1
    max_values: int = 1
    #: Which message of the reply holds it: 0 the original response, i the i-th follow-up.
    source: int = 0

    @property
    def is_select(self) -> bool:
        return self.kind != "button"


@attrs.frozen
class Rendered:
    text: str
    components: tuple[NumberedComponent, ...] = ()

    def component(self, number: int) -> NumberedComponent:
        """The component numbered `number`; `LookupError` with a helpful message otherwise."""
        for component in self.components:
            if component.number == number:
                return component
        available = ", ".join(str(c.number) for c in self.components) or "none"
        raise LookupError(f"no component {number} on the last reply (available: {available})")


class ReplyView(Protocol):
    """What the renderer reads of an interaction reply (the emulator's `InteractionReply` fits)."""

    content: str | None
    embeds: list[dict[str, Any]]
    components: list[dict[str, Any]]
    ephemeral: bool
    deferred: bool
    loading: bool
    deleted: bool
    followups: list[dict[str, Any]]
    modal: dict[str, Any] | None


def _embed_lines(embed: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    author = (embed.get("author") or {}).get("name")
    if author:
        lines.append(f"{author}")
    title = embed.get("title")
    if title:
        lines.append(f"{title}" + (f" <{embed['url']}>" if embed.get("url") else ""))
    if embed.get("description"):
        lines.extend(str(embed["description"]).splitlines() or [""])
    for field in embed.get("fields") or ():
        lines.append(f"▸ {field.get('name', '')}" + (" (inline)" if field.get("inline") else ""))
        lines.extend(f"  {line}" for line in str(field.get("value", "")).splitlines() or [""])
    for key, label in (("image", "image"), ("thumbnail", "thumbnail")):
        url = (embed.get(key) or {}).get("url")
        if url:
            lines.append(f"[{label}] {url}")
    footer = (embed.get("footer") or {}).get("text")
    if footer:
        lines.append(f"— {footer}")
    body = ["╭─ embed"] + [f"│ {line}" if line else "│" for line in lines] + ["╰─"]
    return body


def _flatten(components: Iterable[Mapping[str, Any]]) -> Iterable[tuple[int, Mapping[str, Any]]]:
    """(row index, component) for every component, looking inside rows, containers and sections."""
    for row_index, top in enumerate(components):
        if top.get("type") in (ACTION_ROW, CONTAINER, SECTION):
            stack: list[Mapping[str, Any]] = list(top.get("components") or ())
            if top.get("accessory"):
                stack.append(top["accessory"])
            for child in stack:
                yield row_index, child
        else:
            yield row_index, top


def _component_lines(
    components: Sequence[Mapping[str, Any]], next_number: int, source: int
) -> tuple[list[str], list[NumberedComponent]]:
    rows: dict[int, list[str]] = {}
    numbered: list[NumberedComponent] = []
    for row, component in _flatten(components):
        kind = component.get("type")
        disabled = bool(component.get("disabled"))
        mark = " (disabled)" if disabled else ""
        if kind == BUTTON:
            label = str(component.get("label") or (component.get("emoji") or {}).get("name") or "button")
            if component.get("style") == LINK_STYLE or not component.get("custom_id"):
                rows.setdefault(row, []).append(f"{label} <{component.get('url', '')}>{mark}")
                continue
            number = next_number + len(numbered)
            item = NumberedComponent(
                number, "button", str(component["custom_id"]), label, disabled, source=source
            )
            numbered.append(item)
            rows.setdefault(row, []).append(f"[{number}] {label}{mark}")
        elif kind in SELECT_KINDS:
            number = next_number + len(numbered)
            options = tuple(
                (str(o.get("label", o.get("value", ""))), str(o.get("value", "")))
                for o in component.get("options") or ()
            )
            placeholder = str(component.get("placeholder") or SELECT_KINDS[kind])
            item = NumberedComponent(
                number,
                SELECT_KINDS[kind],
                str(component.get("custom_id", "")),
                placeholder,
                disabled,
                options,
                int(component.get("min_values", 1)),
                int(component.get("max_values", 1)),
                source,
            )
            numbered.append(item)
            choices = ", ".join(label if label == value else f"{label} ({value})" for label, value in options)
            limits = f" [choose {item.min_values}-{item.max_values}]" if item.max_values > 1 else ""
            text = f"[{number}] ▾ {placeholder}" + (f": {choices}" if choices else "") + limits + mark
            rows.setdefault(row, []).append(text)
        elif kind == TEXT_DISPLAY:
            rows.setdefault(row, []).append(str(component.get("content", "")))
    return ["   ".join(parts) for _, parts in sorted(rows.items())], numbered


def render_message(message: Mapping[str, Any], *, first_number: int = 1, source: int = 0) -> Rendered:
    """One Discord message object (content, embeds, components, flags)."""
    lines: list[str] = []
    if int(message.get("flags") or 0) & EPHEMERAL_FLAG:
        lines.append("(ephemeral)")
    if message.get("content"):
        lines.extend(str(message["content"]).splitlines())
    for embed in message.get("embeds") or ():
        lines.extend(_embed_lines(embed))
    component_lines, numbered = _component_lines(message.get("components") or (), first_number, source)
    lines.extend(component_lines)
    if not lines:
        lines.append("(empty message)")
    return Rendered("\n".join(lines), tuple(numbered))


def _modal_lines(modal: Mapping[str, Any]) -> list[str]:
    lines = [f"(modal) {modal.get('title', '')}"]
    for _, component in _flatten(modal.get("components") or ()):
        if component.get("type") == TEXT_INPUT:
            required = "" if component.get("required", True) else " (optional)"
            lines.append(f"  {component.get('label', component.get('custom_id', ''))}{required}")
    return lines


def render_reply(reply: ReplyView) -> Rendered:
    """An interaction's answer: the original response, then each follow-up, numbered continuously."""
    if reply.deleted:
        return Rendered("(the reply was deleted)")
    if reply.modal is not None:
        return Rendered("\n".join(_modal_lines(reply.modal)))
    flags = EPHEMERAL_FLAG if reply.ephemeral else 0
    original = {
        "content": reply.content,
        "embeds": reply.embeds,
        "components": reply.components,
        "flags": flags,
    }
    parts: list[str] = []
    numbered: list[NumberedComponent] = []
    if reply.deferred and reply.loading and not (reply.content or reply.embeds):
        parts.append(("(ephemeral)\n" if reply.ephemeral else "") + "(the bot is thinking…)")
    elif reply.content or reply.embeds or reply.components:
        rendered = render_message(original)
        parts.append(rendered.text)
        numbered.extend(rendered.components)
    for index, followup in enumerate(reply.followups, start=1):
        rendered = render_message(followup, first_number=len(numbered) + 1, source=index)
        parts.append("↳ " + rendered.text.replace("\n", "\n  "))
        numbered.extend(rendered.components)
    if not parts:
        parts.append("(acknowledged, nothing shown)")
    return Rendered("\n".join(parts), tuple(numbered))
