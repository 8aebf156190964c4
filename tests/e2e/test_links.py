"""Links and tags through the whole bot: emulator → gateway → router → executor → PostgreSQL → REST reply.

Every command goes through the emulator as a user would send it; only bulk test data (the pagination case)
is written with the repository directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import attrs
import pytest
import trio

from protocol.emulator import Emulator
from protocol.emulator.interaction_records import InteractionReply
from shard.bot import RunningBot, serve
from shard.config import Config
from shard.sandbox.session import run_sandbox
from storage.repositories.commands import AuditLogRepository
from storage.repositories.links import LinkRepository
from tests.e2e.test_bot import bot_config

WIKI = "https://wiki.wanderinginn.com/"


def uncooled(config: Config) -> Config:
    """Without the default per-user cooldown: these tests run many commands as one user in a second."""
    return attrs.evolve(config, commands=attrs.evolve(config.commands, default_cooldown_s=0))


@pytest.fixture
def config(emulator: Emulator, pg_dsn: str) -> Config:
    return uncooled(bot_config(emulator, pg_dsn))


@pytest.fixture
async def bot(emulator: Emulator, config: Config, nursery: trio.Nursery) -> AsyncIterator[RunningBot]:
    start = partial(serve, config, handle_signals=False, announce=lambda m: None)
    running: RunningBot = await nursery.start(start)
    yield running
    await running.runtime.shutdown()


async def slash(
    emulator: Emulator, guild_id: int, user_id: int, name: str, options: dict[str, Any] | None = None
) -> InteractionReply:
    interaction = await emulator.invoke_slash(guild_id, user_id, name, options)
    return await interaction.response(timeout=10)


async def test_add_get_list_edit_tag_delete_round_trip(emulator: Emulator, bot: RunningBot) -> None:
    guild = emulator.sandbox_guild
    mod = guild.moderator.id
    member = guild.members[0].id

    added = await slash(
        emulator, guild.id, mod, "link add", {"title": "Wiki", "content": WIKI, "tag": "reference"}
    )
    assert added.ephemeral and added.content == "Saved **Wiki** under `reference`."
    text = await slash(
        emulator,
        guild.id,
        mod,
        "link add",
        {"title": "motto", "content": "Inns are for everyone", "tag": "reference", "embed": False},
    )
    assert text.content is not None and text.content.startswith("Saved **motto**")

    got = await slash(emulator, guild.id, member, "link get", {"title": "wiki"})  # case-insensitive
    assert not got.ephemeral
    assert got.content == f"[Wiki]({WIKI})"
    plain = await slash(emulator, guild.id, member, "link get", {"title": "motto"})
    assert plain.content == "**motto**: Inns are for everyone"

    tags = await slash(emulator, guild.id, member, "link list")
    assert tags.embeds[0]["title"] == "Link tags"
    assert "**reference**: 2 links" in tags.embeds[0]["description"]
    under = await slash(emulator, guild.id, member, "link list", {"tag": "reference"})
    assert under.embeds[0]["description"].splitlines() == ["**motto**", "**Wiki**"]
    tagged = await slash(emulator, guild.id, member, "tag", {"tag": "REFERENCE"})
    assert tagged.embeds[0]["title"] == "Links tagged reference (2)"

    edited = await slash(
        emulator, guild.id, mod, "link edit", {"title": "wiki", "content": WIKI + "Main_Page"}
    )
    assert edited.ephemeral and edited.content == "Updated **Wiki**."
    again = await slash(emulator, guild.id, member, "link get", {"title": "Wiki"})
    assert again.content == f"[Wiki]({WIKI}Main_Page)"

    deleted = await slash(emulator, guild.id, mod, "link delete", {"title": "WIKI"})
    assert deleted.ephemeral and deleted.content == "Deleted **WIKI**."
    gone = await slash(emulator, guild.id, member, "link get", {"title": "Wiki"})
    assert gone.ephemeral
    assert gone.content is not None and "no link titled `Wiki`" in gone.content and "error id" in gone.content


async def test_autocomplete_offers_title_and_content(emulator: Emulator, bot: RunningBot) -> None:
    guild = emulator.sandbox_guild
    for title, url in (("discord", "https://discord.gg/x"), ("Discussions", "https://forum.example/d")):
        await slash(emulator, guild.id, guild.moderator.id, "link add", {"title": title, "content": url})
    await slash(emulator, guild.id, guild.moderator.id, "link add", {"title": "wiki", "content": WIKI})

    auto = await emulator.autocomplete(
        guild.id, guild.members[0].id, "link get", {"title": "disc"}, focused="title"
    )
    reply = await auto.response(timeout=10)
    assert reply.choices == [
        {"name": "discord: https://discord.gg/x", "value": "discord"},
        {"name": "Discussions: https://forum.example/d", "value": "Discussions"},
    ]
    tags = await emulator.autocomplete(guild.id, guild.members[0].id, "tag", {"tag": ""}, focused="tag")
    assert (await tags.response(timeout=10)).choices == []  # none of them is tagged


async def test_plain_member_is_denied_add_and_the_denial_is_audited(
    emulator: Emulator, bot: RunningBot
) -> None:
    guild = emulator.sandbox_guild
    member = guild.members[0].id
    denied = await slash(emulator, guild.id, member, "link add", {"title": "spam", "content": WIKI})
    assert denied.ephemeral
    assert denied.content is not None and "moderator" in denied.content and "error id" in denied.content
    nothing = await slash(emulator, guild.id, member, "link get", {"title": "spam"})
    assert nothing.content is not None and "no link titled" in nothing.content

    entries = await AuditLogRepository(bot.assembly.db).recent(guild.id, action="permission_denied")
    assert [(e.actor_id, e.target) for e in entries] == [(member, "link add")]


async def test_only_the_author_or_an_admin_may_edit(emulator: Emulator, bot: RunningBot) -> None:
    guild = emulator.sandbox_guild
    await slash(emulator, guild.id, guild.moderator.id, "link add", {"title": "wiki", "content": WIKI})

    other = guild.members[0].id
    denied = await slash(emulator, guild.id, other, "link edit", {"title": "wiki", "content": WIKI + "x"})
    assert denied.ephemeral
    assert denied.content is not None and "Only the person who added this link" in denied.content
    entries = await AuditLogRepository(bot.assembly.db).recent(guild.id, action="permission_denied")
    assert [(e.actor_id, e.target) for e in entries] == [(other, "link edit")]

    by_admin = await slash(
        emulator, guild.id, guild.admin.id, "link edit", {"title": "wiki", "content": WIKI + "admin"}
    )
    assert by_admin.content == "Updated **wiki**."
    link = await LinkRepository(bot.assembly.db).get(guild.id, "wiki")
    assert link is not None and link.content == WIKI + "admin" and link.added_by == guild.moderator.id
    plain = await slash(emulator, guild.id, guild.admin.id, "link edit", {"title": "wiki", "content": "hi"})
    assert plain.ephemeral
    assert plain.content is not None and "posted as a clickable link" in plain.content


async def test_validation_and_conflict_messages(emulator: Emulator, bot: RunningBot) -> None:
    guild = emulator.sandbox_guild
    mod = guild.moderator.id
    not_url = await slash(emulator, guild.id, mod, "link add", {"title": "x", "content": "not a url"})
    assert not_url.ephemeral
    assert not_url.content is not None and "must be a web address" in not_url.content
    ftp = await slash(emulator, guild.id, mod, "link add", {"title": "x", "content": "ftp://files/x"})
    assert ftp.content is not None and "http:// or https://" in ftp.content

    await slash(emulator, guild.id, mod, "link add", {"title": "Wiki", "content": WIKI})
    duplicate = await slash(emulator, guild.id, mod, "link add", {"title": "wiki", "content": WIKI})
    assert duplicate.ephemeral
    assert duplicate.content is not None and "A link titled `wiki` already exists" in duplicate.content
    missing = await slash(emulator, guild.id, mod, "link delete", {"title": "nothing"})
    assert missing.content is not None and "no link titled `nothing`" in missing.content


async def test_links_are_per_guild(emulator: Emulator, bot: RunningBot) -> None:
    first = emulator.sandbox_guild
    await slash(emulator, first.id, first.moderator.id, "link add", {"title": "secret", "content": WIKI})
    other = await emulator.add_guild("Other inn", members=1)

    elsewhere = await slash(emulator, other.id, other.owner_id, "link get", {"title": "secret"})
    assert elsewhere.ephemeral
    assert elsewhere.content is not None and "no link titled `secret`" in elsewhere.content
    auto = await emulator.autocomplete(
        other.id, other.owner_id, "link get", {"title": "sec"}, focused="title"
    )
    assert (await auto.response(timeout=10)).choices == []

    own = await slash(  # the same title in another guild is not a duplicate
        emulator, other.id, other.owner_id, "link add", {"title": "secret", "content": WIKI + "other"}
    )
    assert own.content == "Saved **secret**."
    mine = await slash(emulator, first.id, first.members[0].id, "link get", {"title": "secret"})
    assert mine.content == f"[secret]({WIKI})"


async def test_long_tag_lists_are_paginated_for_the_invoker(emulator: Emulator, bot: RunningBot) -> None:
    guild = emulator.sandbox_guild
    repository = LinkRepository(bot.assembly.db)
    for i in range(20):
        title, url = f"chapter {i:02}", f"{WIKI}c{i}"
        await repository.add(guild.id, title, url, added_by=guild.moderator.id, tag="ch")
    user = guild.members[0].id
    first = await slash(emulator, guild.id, user, "tag", {"tag": "ch"})
    assert first.embeds[0]["description"].splitlines()[0] == "**chapter 00**"
    buttons = first.components[0]["components"]
    assert [b["label"] for b in buttons] == ["<<", "<", "1 / 2", ">", ">>"]

    turned = await emulator.click(first, buttons[3]["custom_id"], user)
    page_two = await turned.response(timeout=10)
    assert page_two.embeds[0]["description"].splitlines() == [f"**chapter {i}**" for i in range(15, 20)]

    back = page_two.components[0]["components"][1]
    assert back["label"] == "<" and not back.get("disabled")
    stranger = await emulator.click(page_two, back["custom_id"], guild.members[1].id)
    refused = await stranger.response(timeout=10)
    assert refused.ephemeral and refused.content is not None and "Only the person" in refused.content


async def test_sandbox_seeds_example_links_so_link_get_discord_answers(
    emulator: Emulator, config: Config
) -> None:
    out: list[str] = []
    status = await run_sandbox(
        config, script=["/link get title:discord", "/link list"], write=out.append, emulator=emulator
    )
    text = "\n".join(out)
    assert status == 0, text
    assert "[discord](https://discord.gg/" in text
    assert "community" in text and "reference" in text
