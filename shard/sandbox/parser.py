"""Console lines as Discord's client reads them: ``/group sub opt:value other:value`` and ``:`` directives.

Why this grammar: the sandbox should feel like typing into Discord, where an option's value runs until the
next `` name:`` token, so values may contain spaces (``/quote add text:Never trust a rat``) without quoting.
Quotes are still accepted, and needed only when a value itself contains `` word:``, starts with a quote, or
has leading/trailing spaces; `format_command` adds them exactly then, and `parse_line` inverts it (a property
test checks the round trip). Values stay strings: the emulator converts them with the command's registered
option types, as Discord does.

Directives start with ``:`` — ``:as NAME`` (act as another member), ``:click N`` and ``:select N VALUE...``
(act on the last reply's numbered components), ``:health`` (the supervision tree), ``:help`` and ``:quit``.
Blank lines and ``#`` comments are accepted so scripts can be annotated. Every problem is a
`ConsoleSyntaxError` carrying the column, so the console can point at it.
"""

from __future__ import annotations

import re
import shlex

import attrs

__all__ = [
    "HELP_TEXT",
    "Blank",
    "Click",
    "ConsoleLine",
    "ConsoleSyntaxError",
    "Quit",
    "Select",
    "ShowHealth",
    "ShowHelp",
    "SlashCommand",
    "SwitchMember",
    "format_command",
    "parse_line",
]

#: Discord's rule for command and option names (lower case letters, digits, ``-`` and ``_``; 1..32).
NAME = r"[-_\w]{1,32}"
_NAME_RE = re.compile(rf"^{NAME}$")
#: An option token: a name and a colon, at the start or after whitespace.
_OPTION_TOKEN = re.compile(rf"(?:^|(?<=\s))({NAME}):")
MAX_COMMAND_DEPTH = 3  # command, group, subcommand

HELP_TEXT = """\
/command sub option:value other:value   run a slash command (values run until the next " name:")
                                        quote a value that contains " word:"  e.g. text:"a b: c"
:as NAME                                act as another member (owner, admin, moderator, or a username)
:click N                                click button N of the last reply
:select N VALUE [VALUE...]              choose VALUE(s) in select menu N of the last reply
:health                                 show the supervision tree
:help                                   show this help
:quit                                   leave the console
# comment                               ignored (for scripts)"""


class ConsoleSyntaxError(ValueError):
    """A line the console cannot read; `column` (0-based) points at the problem."""

    def __init__(self, message: str, column: int = 0) -> None:
        super().__init__(message)
        self.column = column


@attrs.frozen
class SlashCommand:
    """``/link get title:discord`` → path ``("link", "get")``, options ``(("title", "discord"),)``."""

    path: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        """The full command name as Discord shows it: ``"link get"``."""
        return " ".join(self.path)

    def option_dict(self) -> dict[str, str]:
        return dict(self.options)


@attrs.frozen
class SwitchMember:
    name: str


@attrs.frozen
class Click:
    number: int


@attrs.frozen
class Select:
    number: int
    values: tuple[str, ...]


@attrs.frozen
class ShowHealth:
    pass


@attrs.frozen
class ShowHelp:
    pass


@attrs.frozen
class Quit:
    pass


@attrs.frozen
class Blank:
    """An empty line or a ``#`` comment."""


ConsoleLine = SlashCommand | SwitchMember | Click | Select | ShowHealth | ShowHelp | Quit | Blank


def parse_line(line: str) -> ConsoleLine:
    """Parse one console line; raises `ConsoleSyntaxError`."""
    stripped = line.strip()
    offset = len(line) - len(line.lstrip())
    if not stripped or stripped.startswith("#"):
        return Blank()
    if stripped.startswith(":"):
        return _parse_directive(stripped, offset)
    if stripped.startswith("/"):
        return _parse_command(stripped, offset)
    raise ConsoleSyntaxError("type a slash command (/ping) or a directive (:help)", offset)


def _number(text: str, column: int) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ConsoleSyntaxError(f"expected a component number (1, 2, ...), got {text!r}", column)
    return int(text)


def _parse_directive(text: str, offset: int) -> ConsoleLine:
    word, _, rest = text.partition(" ")
    rest = rest.strip()
    column = offset + len(word) + 1
    match word:
        case ":as":
            if not rest:
                raise ConsoleSyntaxError(":as needs a member name (owner, admin, moderator, ...)", column)
            return SwitchMember(rest)
        case ":click":
            if not rest or " " in rest:
                raise ConsoleSyntaxError(":click needs one component number", column)
            return Click(_number(rest, column))
        case ":select":
            number_text, _, values_text = rest.partition(" ")
            if not number_text:
                raise ConsoleSyntaxError(":select needs a component number and a value", column)
            number = _number(number_text, column)
            try:
                values = tuple(shlex.split(values_text))
            except ValueError as exc:
                raise ConsoleSyntaxError(f":select values: {exc}", column + len(number_text) + 1) from None
            if not values:
                raise ConsoleSyntaxError(":select needs at least one value", column + len(number_text) + 1)
            return Select(number, values)
        case ":health" | ":help" | ":quit" | ":exit" if rest:
            raise ConsoleSyntaxError(f"{word} takes no arguments", column)
        case ":health":
            return ShowHealth()
        case ":help":
            return ShowHelp()
        case ":quit" | ":exit":
            return Quit()
    raise ConsoleSyntaxError(f"unknown directive {word} (try :help)", offset)


def _parse_command(text: str, offset: int) -> SlashCommand:
    body = text[1:]
    base = offset + 1
    first = _OPTION_TOKEN.search(body)
    head = body[: first.start()] if first else body
    path = tuple(head.split())
    if not path:
        raise ConsoleSyntaxError("expected a command name after /", base)
    for word in path:
        if not _NAME_RE.match(word):
            raise ConsoleSyntaxError(f"{word!r} is not a command name", base + body.find(word))
    if len(path) > MAX_COMMAND_DEPTH:
        raise ConsoleSyntaxError("a command has at most a group and a subcommand", base + body.find(path[3]))
    options: list[tuple[str, str]] = []
    position = first.start() if first else len(body)
    while position < len(body):
        match = _OPTION_TOKEN.match(body, position)
        if match is None:  # only whitespace can be left here
            if body[position:].strip():
                raise ConsoleSyntaxError("expected name:value", base + position)
            break
        name = match.group(1)
        if any(name == seen for seen, _ in options):
            raise ConsoleSyntaxError(f"option {name} given twice", base + position)
        value, position = _read_value(body, match.end(), base)
        options.append((name, value))
        while position < len(body) and body[position].isspace():
            position += 1
    return SlashCommand(path, tuple(options))


def _read_value(body: str, start: int, base: int) -> tuple[str, int]:
    """The value starting at `start` (after ``name:``) and the position just after it."""
    position = start
    while position < len(body) and body[position] in " \t":
        position += 1
    if position < len(body) and body[position] in "\"'":
        quote = body[position]
        chars: list[str] = []
        index = position + 1
        while index < len(body):
            char = body[index]
            if char == "\\" and index + 1 < len(body) and body[index + 1] in (quote, "\\"):
                chars.append(body[index + 1])
                index += 2
                continue
            if char == quote:
                end = index + 1
                if end < len(body) and not body[end].isspace():
                    raise ConsoleSyntaxError("expected a space after the closing quote", base + end)
                return "".join(chars), end
            chars.append(char)
            index += 1
        raise ConsoleSyntaxError(f"unclosed {quote} quote", base + position)
    following = _OPTION_TOKEN.search(body, position)
    end = following.start() if following else len(body)
    value = body[position:end].rstrip()
    if not value:
        name_column = base + start - 1
        raise ConsoleSyntaxError('option has no value (quote an empty value: name:"")', name_column)
    return value, end


def _needs_quotes(value: str) -> bool:
    return (
        not value
        or value != value.strip()
        or value[0] in "\"'"
        or bool(_OPTION_TOKEN.search(value))
        or any(char in value for char in "\n\r")
    )


def format_command(path: tuple[str, ...], options: tuple[tuple[str, str], ...] = ()) -> str:
    """The console line for a command: the inverse of `parse_line` (quotes only where needed)."""
    parts = ["/" + " ".join(path)]
    for name, value in options:
        if _needs_quotes(value):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'{name}:"{escaped}"')
        else:
            parts.append(f"{name}:{value}")
    return " ".join(parts)
