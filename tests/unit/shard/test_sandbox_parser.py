"""The console line parser (DESIGN §9): examples, errors with columns, and a format/parse round trip."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shard.sandbox.parser import (
    Blank,
    Click,
    ConsoleSyntaxError,
    Quit,
    Select,
    ShowHealth,
    ShowHelp,
    SlashCommand,
    SwitchMember,
    format_command,
    parse_line,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/ping", SlashCommand(("ping",))),
        ("  /link get title:discord  ", SlashCommand(("link", "get"), (("title", "discord"),))),
        (
            "/quote add text:Never trust a rat author:Erin Solstice",
            SlashCommand(("quote", "add"), (("text", "Never trust a rat"), ("author", "Erin Solstice"))),
        ),
        (
            "/link add url:https://wanderinginn.com/a:b",
            SlashCommand(("link", "add"), (("url", "https://wanderinginn.com/a:b"),)),
        ),
        ('/say text:"time: now" n:3', SlashCommand(("say",), (("text", "time: now"), ("n", "3")))),
        ("/say text:'single \\' quote'", SlashCommand(("say",), (("text", "single ' quote"),))),
        ('/say text:""', SlashCommand(("say",), (("text", ""),))),
        ("/admin roles add role: Reader", SlashCommand(("admin", "roles", "add"), (("role", "Reader"),))),
        (":as moderator", SwitchMember("moderator")),
        (":as mrsha the white", SwitchMember("mrsha the white")),
        (":click 2", Click(2)),
        (":select 1 reader", Select(1, ("reader",))),
        (':select 3 "Reader Role" artist', Select(3, ("Reader Role", "artist"))),
        (":health", ShowHealth()),
        (":help", ShowHelp()),
        (":quit", Quit()),
        ("", Blank()),
        ("   # a comment", Blank()),
    ],
)
def test_examples(line: str, expected: object) -> None:
    assert parse_line(line) == expected


@pytest.mark.parametrize(
    ("line", "message", "column"),
    [
        ("ping", "type a slash command", 0),
        ("/", "expected a command name", 1),
        ("/a b c d", "at most a group and a subcommand", 7),
        ("/say text:", "has no value", 9),
        ('/say text:"open', "unclosed", 10),
        ('/say text:"a"b', "space after the closing quote", 13),
        ("/say a:1 a:2", "given twice", 9),
        ("/bad!name", "is not a command name", 1),
        (":click", "one component number", 7),
        (":click x", "component number", 7),
        (":click 0", "component number", 7),
        (":select 1", "at least one value", 10),
        (":as", "member name", 4),
        (":health now", "takes no arguments", 8),
        (":frobnicate", "unknown directive", 0),
    ],
)
def test_errors_point_at_the_problem(line: str, message: str, column: int) -> None:
    with pytest.raises(ConsoleSyntaxError, match=message) as info:
        parse_line(line)
    assert info.value.column == column


names = st.from_regex(r"[a-z0-9_-]{1,32}", fullmatch=True)
values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40
)


@settings(max_examples=300)
@given(
    path=st.lists(names, min_size=1, max_size=3).map(tuple),
    options=st.lists(st.tuples(names, values), max_size=5, unique_by=lambda o: o[0]).map(tuple),
)
def test_format_then_parse_round_trips(path: tuple[str, ...], options: tuple[tuple[str, str], ...]) -> None:
    line = format_command(path, options)
    assert parse_line(line) == SlashCommand(path, options)


@settings(max_examples=300)
@given(path=st.lists(names, min_size=1, max_size=3), options=st.lists(st.tuples(names, values), max_size=4))
def test_unquoted_plain_values_with_spaces_parse_as_typed(
    path: list[str], options: list[tuple[str, str]]
) -> None:
    # Values as people type them: no quotes needed unless the value itself looks like " name:".
    plain = [
        (n, v.strip())
        for n, v in dict(options).items()
        if v.strip() and not format_command((), ((n, v.strip()),)).endswith('"')
    ]
    line = "/" + " ".join(path) + "".join(f" {n}:{v}" for n, v in plain)
    assert parse_line(line) == SlashCommand(tuple(path), tuple(plain))


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_a_syntax_error(line: str) -> None:
    try:
        parse_line(line)
    except ConsoleSyntaxError as exc:
        assert 0 <= exc.column <= len(line)
