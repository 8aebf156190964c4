"""The link feature's pure rules (validation, rendering, autocomplete labels) and its command definitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shard.features.links import (
    StorageNotOpen,
    choice_label,
    is_web_url,
    register,
    render_link,
    validate_new_link,
)
from shard.interactions import CommandRegistry, Pagination, PermissionLevel, ValidationError
from storage.errors import StorageUnavailable
from storage.repositories.links import Link

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def link(title: str, content: str, *, embed: bool = True) -> Link:
    return Link(1, 10, title, content, None, embed, 7, NOW, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://wiki.wanderinginn.com/", True),
        ("http://example.org/a?b=c", True),
        ("ftp://files.example/x", False),
        ("wiki.wanderinginn.com", False),
        ("https://", False),
        ("https://exa mple.org", False),
        ("javascript:alert(1)", False),
    ],
)
def test_only_absolute_http_urls_count_as_web_addresses(text: str, expected: bool) -> None:
    assert is_web_url(text) is expected


def test_validation_cleans_and_limits() -> None:
    assert validate_new_link("  The   Wiki ", " https://w.example/ ", " lore ", embed=True) == (
        "The Wiki",
        "https://w.example/",
        "lore",
    )
    assert validate_new_link("motto", "plain words", "  ", embed=False) == ("motto", "plain words", None)
    with pytest.raises(ValidationError, match="at most 100"):
        validate_new_link("x" * 101, "https://w.example/", None, embed=True)
    with pytest.raises(ValidationError, match="at most 50"):
        validate_new_link("t", "https://w.example/", "y" * 51, embed=True)
    with pytest.raises(ValidationError, match="must be a web address"):
        validate_new_link("t", "plain words", None, embed=True)
    with pytest.raises(ValidationError, match="cannot be empty"):
        validate_new_link("   ", "https://w.example/", None, embed=True)


def test_rendering_and_autocomplete_labels() -> None:
    assert render_link(link("wiki", "https://w.example/")) == "[wiki](https://w.example/)"
    assert render_link(link("motto", "be kind", embed=False)) == "**motto**: be kind"
    label = choice_label(link("long", "https://w.example/" + "a" * 200))
    assert len(label) == 100 and label.startswith("long: https://w.example/") and label.endswith("…")


async def test_the_command_set_needs_no_database_and_declares_levels() -> None:
    registry = CommandRegistry()
    register(registry, links=StorageNotOpen(), pagination=Pagination(registry))
    levels = {c.qualified_name: c.level for c in registry.runnables()}
    assert levels == {
        "link get": PermissionLevel.EVERYONE,
        "link list": PermissionLevel.EVERYONE,
        "link add": PermissionLevel.MODERATOR,
        "link edit": PermissionLevel.EVERYONE,  # author or admin, checked against the stored link
        "link delete": PermissionLevel.MODERATOR,
        "tag": PermissionLevel.EVERYONE,
    }
    assert all(c.description and c.examples for c in registry.runnables())
    with pytest.raises(StorageUnavailable):
        await StorageNotOpen().get(1, "wiki")
