"""Repositories against the real schema: the original bot's bugs stay fixed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import Database
from storage.errors import AlreadyExists
from storage.repositories import (
    AuditLogRepository,
    CommandErrorRepository,
    CommandHistoryRepository,
    CommandSettingsRepository,
    GuildSettingsRepository,
    LinkRepository,
    QuoteRepository,
)
from storage.repositories.commands import CommandInvocation

GUILD_A = 100
GUILD_B = 200


async def test_guild_settings_default_update_and_toggle(db: Database) -> None:
    repo = GuildSettingsRepository(db)
    fresh = await repo.get(GUILD_A)
    assert fresh.admin_role_id is None
    assert fresh.bot_channel_ids == ()
    assert fresh.stats_enabled is True

    updated = await repo.update(GUILD_A, admin_role_id=11, mod_role_id=12, bot_channel_ids=[5, 6])
    assert (updated.admin_role_id, updated.mod_role_id, updated.bot_channel_ids) == (11, 12, (5, 6))
    again = await repo.update(GUILD_A, mod_role_id=None)
    assert again.admin_role_id == 11
    assert again.mod_role_id is None
    assert (await repo.get(GUILD_B)).admin_role_id is None

    assert await repo.toggle_channel(GUILD_A, "pin_channel_ids", 77) is True
    assert (await repo.get(GUILD_A)).pin_channel_ids == (77,)
    assert await repo.toggle_channel(GUILD_A, "pin_channel_ids", 77) is False
    assert (await repo.get(GUILD_A)).pin_channel_ids == ()

    with pytest.raises(ValueError, match="unknown guild setting"):
        await repo.update(GUILD_A, admin_role=1)


async def test_links_are_scoped_per_guild_and_case_insensitive(db: Database) -> None:
    links = LinkRepository(db)
    await links.add(GUILD_A, "Discord", "https://discord.gg/a", added_by=1, tag="social")
    await links.add(GUILD_B, "discord", "https://discord.gg/b", added_by=2)
    with pytest.raises(AlreadyExists):
        await links.add(GUILD_A, "DISCORD", "https://other", added_by=3)

    a = await links.get(GUILD_A, "discord")
    b = await links.get(GUILD_B, "DISCORD")
    assert a is not None and a.content == "https://discord.gg/a"
    assert b is not None and b.content == "https://discord.gg/b"
    assert [t.tag for t in await links.tags(GUILD_A)] == ["social"]
    assert await links.tags(GUILD_B) == []
    assert [link.title for link in await links.by_tag(GUILD_A, "SOCIAL")] == ["Discord"]

    await links.add(GUILD_A, "Wiki", "https://wiki.example/the-inn", added_by=1, tag="lore")
    assert [link.title for link in await links.autocomplete(GUILD_A, "wi")] == ["Wiki"]
    assert [link.title for link in await links.autocomplete(GUILD_A, "%")] == []
    assert [link.title for link in await links.search(GUILD_A, "lore")] == ["Wiki"]

    edited = await links.edit(GUILD_A, "wiki", "https://wiki.example/new")
    assert edited is not None and edited.content == "https://wiki.example/new"
    assert await links.delete(GUILD_A, "WIKI") is True
    assert await links.delete(GUILD_A, "WIKI") is False
    assert await links.get(GUILD_B, "discord") is not None


async def test_quote_numbers_are_stable_after_deletes(db: Database) -> None:
    quotes = QuoteRepository(db)
    first = await quotes.add(GUILD_A, "Erin Solstice makes the best pasta.", author_id=1)
    second = await quotes.add(GUILD_A, "Relc is a Senior Guardsman.", author_id=2)
    third = await quotes.add(GUILD_A, "Pisces knows necromancy.", author_id=3)
    other_guild = await quotes.add(GUILD_B, "A different server.", author_id=4)
    assert (first.number, second.number, third.number, other_guild.number) == (1, 2, 3, 1)

    deleted = await quotes.delete(GUILD_A, 2)
    assert deleted is not None and deleted.content.startswith("Relc")
    assert await quotes.delete(GUILD_A, 2) is None
    still_three = await quotes.get(GUILD_A, 3)
    assert still_three is not None and still_three.content.startswith("Pisces")
    fourth = await quotes.add(GUILD_A, "Numbers are never reused.", author_id=1)
    assert fourth.number == 4
    assert await quotes.count(GUILD_A) == 3


async def test_quote_full_text_search(db: Database) -> None:
    quotes = QuoteRepository(db)
    await quotes.add(GUILD_A, "The goblins were cooking pasta again.", author_id=1)
    await quotes.add(GUILD_A, "Necromancers cook nothing.", author_id=1)
    await quotes.add(GUILD_B, "Goblins elsewhere.", author_id=1)
    found = await quotes.find(GUILD_A, "goblin")
    assert [q.number for q in found] == [1]
    cooking = await quotes.find(GUILD_A, "cooking")  # stemming: cook ~ cooking
    assert {q.number for q in cooking} == {1, 2}
    assert await quotes.find(GUILD_A, "&|!(") == []  # odd input is not an error
    assert [q.number for q in await quotes.numbers_matching(GUILD_A, "2")] == [2]


async def test_command_tables(db: Database) -> None:
    errors = CommandErrorRepository(db)
    await errors.record("E-1a2b", "link get", error_type="internal", message="boom", user_id=1, guild_id=2)
    stored = await errors.get("E-1a2b")
    assert stored is not None and stored.error_type == "internal"
    assert [e.error_id for e in await errors.recent(error_type="internal")] == ["E-1a2b"]

    audit = AuditLogRepository(db)
    entry_id = await audit.record(GUILD_A, 9, "settings.update", "admin_role_id", {"new": 11})
    entries = await audit.recent(GUILD_A)
    assert [(e.id, e.action, e.details) for e in entries] == [(entry_id, "settings.update", {"new": 11})]
    assert await audit.recent(GUILD_B) == []

    history = CommandHistoryRepository(db)
    now = datetime.now(UTC)
    invocation = CommandInvocation(
        command="ping", user_id=5, started_at=now, outcome="ok", guild_id=GUILD_A, options={"x": 1}
    )
    await history.record(invocation)
    await history.record(invocation)  # idempotent on the invocation id
    await history.record(
        CommandInvocation(command="ping", user_id=5, started_at=now, outcome="error", guild_id=GUILD_A)
    )
    usage = await history.usage(now - timedelta(minutes=1))
    assert [(u.command, u.invocations, u.failures) for u in usage] == [("ping", 2, 1)]
    assert (await history.recent_for_user(5))[0].command == "ping"

    settings = CommandSettingsRepository(db)
    assert (await settings.get(GUILD_A, "quote add")).enabled is True
    await settings.set(GUILD_A, "quote add", enabled=False, cooldown_seconds=30)
    override = await settings.get(GUILD_A, "quote add")
    assert (override.enabled, override.cooldown_seconds) == (False, 30)
    assert [s.command for s in await settings.for_guild(GUILD_A)] == ["quote add"]
    assert await settings.reset(GUILD_A, "quote add") is True
    assert (await settings.get(GUILD_A, "quote add")).enabled is True
