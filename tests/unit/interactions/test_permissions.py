"""The permission table, enforced by the router for every command, subcommand, component and modal."""

from __future__ import annotations

import pytest
import trio

from protocol.models import Interaction, Permissions, parse
from shard.interactions import (
    ContextMenuCommand,
    GuildRoles,
    PermissionLevel,
    PermissionResolver,
    default_member_permissions_for,
)
from tests.fixtures.interactions import (
    ADMIN,
    GUILD_ID,
    MEMBER,
    MODERATOR,
    OWNER,
    OWNER_ID,
    PERSONAS,
    Bot,
    MemoryGuildRoles,
    Persona,
    build_bot,
    component,
    modal_submit,
    slash,
    valid_invocation,
)


@pytest.mark.parametrize(
    ("persona", "level"), list(PERSONAS.items()), ids=lambda p: getattr(p, "name", str(p))
)
async def test_levels_come_from_owner_ids_permissions_and_configured_roles(
    persona: Persona, level: PermissionLevel
) -> None:
    from tests.fixtures.interactions import ADMIN_ROLE_ID, MOD_ROLE_ID

    resolver = PermissionResolver(
        [OWNER_ID], MemoryGuildRoles({GUILD_ID: GuildRoles(ADMIN_ROLE_ID, MOD_ROLE_ID)})
    )
    interaction = parse(Interaction, slash("ping", persona=persona))
    assert await resolver.level_of(interaction) is level


async def test_configured_roles_only_count_in_their_guild() -> None:
    from tests.fixtures.interactions import ADMIN_BY_ROLE

    resolver = PermissionResolver([OWNER_ID], MemoryGuildRoles({}))
    interaction = parse(Interaction, slash("ping", persona=ADMIN_BY_ROLE))
    assert await resolver.level_of(interaction) is PermissionLevel.EVERYONE


def _is_denial(bot: Bot, payload: dict[str, object]) -> bool:
    first = bot.rest.first(payload)
    return "You need the" in first.content and first.ephemeral


async def test_permission_matrix_every_command_at_every_level(
    bot: Bot, autojump_clock: trio.testing.MockClock
) -> None:
    """Every registered runnable, invoked by every persona: refused exactly below its level."""
    runnables = list(bot.registry.runnables())
    assert len(runnables) >= 15
    tried = 0
    for command in runnables:
        for persona, level in PERSONAS.items():
            payload = valid_invocation(command, persona)
            audit_before = len(bot.audit.entries)
            await bot.router.handle(payload)
            denied = _is_denial(bot, payload)
            should_deny = level < command.level
            assert denied is should_deny, f"{command.qualified_name} as {persona.name}"
            assert (len(bot.audit.entries) == audit_before + 1) is should_deny
            if should_deny:
                guild_id, actor_id, action, target, details = bot.audit.entries[-1]
                assert (guild_id, actor_id, action, target) == (
                    GUILD_ID,
                    persona.user_id,
                    "permission_denied",
                    command.qualified_name,
                )
                assert details["required"] == command.level.label
            tried += 1
    assert tried == len(runnables) * len(PERSONAS)


async def test_component_and_modal_routes_check_their_level(bot: Bot) -> None:
    confirm = bot.codec.encode("purge.confirm", 5)
    for persona, level in PERSONAS.items():
        payload = component(confirm, persona=persona)
        await bot.router.handle(payload)
        first = bot.rest.first(payload)
        if level >= PermissionLevel.MODERATOR:
            assert first.callback_type == 7 and first.content == "purged 5"
        else:
            assert first.callback_type == 4 and first.ephemeral and "moderator" in first.content
    # modal route: everyone may submit
    payload = modal_submit(
        bot.codec.encode("feedback.submit", MEMBER.user_id), {"text": "nice"}, persona=MEMBER
    )
    await bot.router.handle(payload)
    assert "thanks for: nice" in bot.rest.first(payload).content


async def test_default_member_permissions_match_levels(bot: Bot) -> None:
    payloads = {(p["type"], p["name"]): p for p in bot.registry.payloads()}
    assert payloads[(1, "ping")]["default_member_permissions"] is None
    assert payloads[(1, "shutdown")]["default_member_permissions"] == 0
    assert payloads[(1, "purge")]["default_member_permissions"] == int(Permissions.BAN_MEMBERS)
    # a group is visible to the lowest level among its subcommands; the router enforces each one
    assert payloads[(1, "cfg")]["default_member_permissions"] == int(Permissions.BAN_MEMBERS)
    assert default_member_permissions_for(PermissionLevel.ADMIN) == int(Permissions.ADMINISTRATOR)
    for entry in bot.registry.top_level():
        if isinstance(entry, ContextMenuCommand):
            assert payloads[(int(entry.kind), entry.name)]["description"] == ""


async def test_subcommand_levels_differ_within_one_group(bot: Bot) -> None:
    shown = await bot.run(slash("cfg show", persona=MODERATOR))
    assert shown[0].content == "settings"
    refused = await bot.run(slash("cfg set", persona=MODERATOR))
    assert "admin" in refused[0].content and refused[0].ephemeral
    allowed = await bot.run(slash("cfg set", persona=ADMIN))
    assert allowed[0].content == "changed"
    owner_only = await bot.run(slash("cfg roles reset", persona=ADMIN))
    assert "bot owner" in owner_only[0].content
    assert (await bot.run(slash("cfg roles reset", persona=OWNER)))[0].content == "reset"


async def test_direct_messages_are_everyone_level(nursery: trio.Nursery) -> None:
    bot = build_bot(nursery)
    payload = slash("cfg show", persona=MODERATOR)
    payload.pop("guild_id")
    member = payload.pop("member")
    payload["user"] = member["user"]
    calls = await bot.run(payload)
    assert "moderator" in calls[0].content and calls[0].ephemeral
