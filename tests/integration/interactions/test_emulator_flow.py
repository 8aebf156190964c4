"""The command system end to end: emulator-built interactions in, real REST client out, emulator checked."""

from __future__ import annotations

from typing import Any

import trio

from protocol.emulator import Emulator
from protocol.rest import LocalRateLimiter, RestClient
from shard.interactions import CommandSyncer, PermissionLevel
from tests.fixtures.interactions import LiveBot


def _levels(emu: Emulator) -> dict[int, PermissionLevel]:
    guild = emu.sandbox_guild
    return {
        guild.owner.id: PermissionLevel.OWNER,  # configured as the bot owner
        guild.admin.id: PermissionLevel.ADMIN,
        guild.moderator.id: PermissionLevel.MODERATOR,
        guild.members[0].id: PermissionLevel.EVERYONE,
    }


def _writes(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "PUT" and r.path.endswith("/commands"))


async def test_sync_writes_once_and_not_again_when_unchanged(live_bot: LiveBot) -> None:
    emu = live_bot.emu
    assert _writes(emu) == 1  # the fixture's first sync
    syncer = CommandSyncer(live_bot.rest, emu.application_id)
    again = await syncer.sync(live_bot.registry.payloads(), guild_id=emu.sandbox_guild.id)
    assert not again.written and again.diff.empty
    assert _writes(emu) == 1
    global_diff = await syncer.diff(live_bot.registry.payloads())
    assert "/ping" in global_diff.added  # only the guild scope was written


async def test_ping_and_help_answer_through_the_emulator(live_bot: LiveBot) -> None:
    emu = live_bot.emu
    guild = emu.sandbox_guild
    ping = await live_bot.run(emu.interactions.slash(guild.id, guild.members[0].id, "ping"))
    reply = await ping.final()
    assert (
        reply.content is not None and reply.content.startswith("Pong!") and "REST round trip" in reply.content
    )
    assert "n/a ·" not in reply.content.split("REST round trip:")[1]

    help_ = await live_bot.run(emu.interactions.slash(guild.id, guild.members[0].id, "help"))
    shown = await help_.response()
    assert shown.ephemeral and shown.components
    select = shown.components[0]["components"][0]
    chosen = await live_bot.run(
        emu.interactions.component(shown, select["custom_id"], guild.members[0].id, ["Test"])
    )
    updated = await chosen.response()
    text = updated.embeds[0]["description"]
    assert "/echo" in text and "/shutdown" not in text


async def test_permission_matrix_through_the_emulator(live_bot: LiveBot) -> None:
    emu = live_bot.emu
    guild = emu.sandbox_guild
    checked = 0
    for command in live_bot.registry.runnables():
        if command.qualified_name in (
            "slow",
            "feedback",
            "Inspect",
            "Quote",
            "whois",
            "choose",
            "fruit",
            "echo",
        ):
            continue  # need options or targets; the unit matrix covers them with every option kind
        for user_id, level in _levels(emu).items():
            record = await live_bot.run(emu.interactions.slash(guild.id, user_id, command.qualified_name))
            reply = await record.response()
            denied = bool(reply.content and "You need the" in reply.content)
            assert denied is (level < command.level), (command.qualified_name, level)
            if denied:
                assert reply.ephemeral
            checked += 1
    assert checked >= 40
    assert any(entry[2] == "permission_denied" for entry in live_bot.audit.entries)


async def test_slow_handler_is_deferred_so_the_interaction_never_fails(live_bot: LiveBot) -> None:
    emu = live_bot.emu
    guild = emu.sandbox_guild
    record = await live_bot.run(emu.interactions.slash(guild.id, guild.members[0].id, "slow"))
    reply = await record.final()
    assert reply.deferred and reply.content == "finally"
    assert not record.failed


async def test_forged_custom_id_is_refused_before_the_handler(live_bot: LiveBot) -> None:
    emu = live_bot.emu
    guild = emu.sandbox_guild
    purge = await live_bot.run(emu.interactions.slash(guild.id, guild.moderator.id, "purge"))
    message = await purge.response()
    genuine = message.components[0]["components"][0]["custom_id"]
    forged = genuine.replace("purge.confirm;5", "purge.confirm;500")
    attempt = await live_bot.run(emu.interactions.component(message, forged, guild.moderator.id))
    refused = await attempt.response()
    assert refused.ephemeral and "not valid" in (refused.content or "")
    plain_member = await live_bot.run(emu.interactions.component(message, genuine, guild.members[0].id))
    assert "moderator" in ((await plain_member.response()).content or "")
    confirmed = await live_bot.run(emu.interactions.component(message, genuine, guild.moderator.id))
    assert (await confirmed.response()).content == "purged 5"


async def test_pagination_modal_and_autocomplete(live_bot: LiveBot) -> None:
    emu = live_bot.emu
    guild = emu.sandbox_guild
    user = guild.members[0].id
    listing = await live_bot.run(emu.interactions.slash(guild.id, user, "list"))
    first = await listing.response()
    next_id = first.components[0]["components"][3]["custom_id"]
    turned = await live_bot.run(emu.interactions.component(first, next_id, user))
    page_two = await turned.response()
    assert page_two.embeds[0]["description"].startswith("item 10")
    stranger = await live_bot.run(emu.interactions.component(first, next_id, guild.members[1].id))
    assert (await stranger.response()).ephemeral

    form = await live_bot.run(emu.interactions.slash(guild.id, user, "feedback"))
    opened = await form.response()
    assert opened.modal is not None and opened.modal["title"] == "Feedback"
    submit_payload = emu.interactions.modal_submit(
        guild.id, user, opened.modal["custom_id"], {"text": "lovely"}
    )
    submitted = await (await live_bot.run(submit_payload)).response()
    assert submitted.ephemeral and "thanks for: lovely" in (submitted.content or "")

    typing = await live_bot.run(
        emu.interactions.autocomplete(guild.id, user, "fruit", {"name": "bl"}, "name")
    )
    suggestions: Any = (await typing.response()).choices
    assert [c["value"] for c in suggestions] == ["blueberry"]


async def test_sync_against_a_fresh_emulator_writes_globally(emulator: Emulator) -> None:
    from shard.features import core
    from shard.interactions import CommandRegistry

    registry = CommandRegistry()
    core.register(registry, heartbeat_latency=lambda: None)
    async with RestClient(emulator.api_base, emulator.token, LocalRateLimiter()) as rest:
        syncer = CommandSyncer(rest, emulator.application_id)
        first = await syncer.sync(registry.payloads())
        second = await syncer.sync(registry.payloads())
    assert first.written and set(first.diff.added) == {"/help", "/ping"}
    assert not second.written
    await trio.lowlevel.checkpoint()
