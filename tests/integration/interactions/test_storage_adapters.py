"""The framework's storage protocols met by the real repositories on embedded PostgreSQL."""

from __future__ import annotations

from typing import Any

import trio

from protocol.models import Interaction, parse
from shard.interactions import ErrorReporter, PermissionLevel, PermissionResolver
from shard.interactions.storage import StoredAudit, StoredCommandSettings, StoredErrors, StoredGuildRoles
from storage.errors import StorageUnavailable
from storage.repositories.commands import (
    AuditLogRepository,
    CommandErrorRepository,
    CommandSettingsRepository,
)
from storage.repositories.guild_settings import GuildSettingsRepository
from supervision.telemetry import Telemetry
from tests.fixtures.interactions import (
    ADMIN_BY_ROLE,
    ADMIN_ROLE_ID,
    CHANNEL_ID,
    GUILD_ID,
    MEMBER,
    MOD_BY_ROLE,
    OWNER_ID,
    build_bot,
    slash,
)


class _DatabaseDown:
    """A database whose every read fails the way storage reports an outage."""

    async def fetchrow(self, *args: Any) -> Any:
        raise StorageUnavailable("connection refused")


async def test_configured_roles_come_from_guild_settings(db: Any) -> None:
    settings = GuildSettingsRepository(db)
    roles = StoredGuildRoles(settings, ttl=5.0)
    resolver = PermissionResolver([OWNER_ID], roles)
    admin = parse(Interaction, slash("ping", persona=ADMIN_BY_ROLE))
    assert await resolver.level_of(admin) is PermissionLevel.EVERYONE
    await settings.update(GUILD_ID, admin_role_id=ADMIN_ROLE_ID)
    assert await resolver.level_of(admin) is PermissionLevel.EVERYONE  # cached for ttl
    roles.invalidate(GUILD_ID)
    assert await resolver.level_of(admin) is PermissionLevel.ADMIN


async def test_an_outage_degrades_to_discord_permissions_only() -> None:
    roles = StoredGuildRoles(GuildSettingsRepository(_DatabaseDown()))  # type: ignore[arg-type]
    resolver = PermissionResolver([OWNER_ID], roles)
    assert (
        await resolver.level_of(parse(Interaction, slash("ping", persona=MOD_BY_ROLE)))
        is PermissionLevel.EVERYONE
    )
    overrides = StoredCommandSettings(CommandSettingsRepository(_DatabaseDown()))  # type: ignore[arg-type]
    assert await overrides.command_settings(GUILD_ID, "ping") is None


async def test_errors_denials_and_overrides_reach_the_tables(db: Any, nursery: trio.Nursery) -> None:
    bot = build_bot(nursery)
    router = bot.router
    router.errors = ErrorReporter(StoredErrors(CommandErrorRepository(db)), Telemetry())
    router.audit = StoredAudit(AuditLogRepository(db))
    command_settings = CommandSettingsRepository(db)
    overrides = StoredCommandSettings(command_settings)
    router.settings = overrides

    boom = slash("boom")
    await router.handle(boom)
    error_id = bot.rest.first(boom).content.split("`")[1]
    stored = await CommandErrorRepository(db).get(error_id)
    assert stored is not None and stored.error_type == "internal" and stored.command == "boom"

    await router.handle(slash("shutdown", persona=MEMBER))
    entries = await AuditLogRepository(db).recent(GUILD_ID)
    assert [(e.action, e.target, e.actor_id) for e in entries] == [
        ("permission_denied", "shutdown", MEMBER.user_id)
    ]

    await command_settings.set(GUILD_ID, "echo", enabled=False)
    disabled = slash("echo", {"text": "hello"})
    await router.handle(disabled)
    assert "disabled in this server" in bot.rest.first(disabled).content
    await command_settings.set(GUILD_ID, "echo", enabled=True, cooldown_seconds=60)
    still_cached = slash("echo", {"text": "hello"})
    await router.handle(still_cached)
    assert "disabled in this server" in bot.rest.first(still_cached).content
    overrides.invalidate(GUILD_ID, "echo")
    first, second = slash("echo", {"text": "hello"}), slash("echo", {"text": "hello"})
    await router.handle(first)
    await router.handle(second)
    assert bot.rest.first(first).content == "hello"
    assert "Try again in 60 s" in bot.rest.first(second).content


async def test_command_history_reaches_the_table_through_the_storage_writer(
    db: Any, nursery: trio.Nursery
) -> None:
    from actors.storage_writer import StorageWriter
    from storage.repositories.activity import ActivityWriteModel
    from storage.repositories.commands import CommandHistoryRepository, invocation_id_for

    writer = StorageWriter(ActivityWriteModel(db))
    nursery.start_soon(writer.run)
    bot = build_bot(nursery)
    bot.router.history = writer
    echo = slash("echo", {"text": "private words", "times": 2})
    await bot.router.handle(echo)
    await bot.router.handle(echo)  # the same interaction recorded twice stays one row
    await bot.router.handle(slash("boom"))
    await bot.router.handle(slash("shutdown", persona=MEMBER))
    await writer.flush()
    history = await CommandHistoryRepository(db).recent_for_user(MEMBER.user_id)
    by_command = {h.command: h for h in history}
    assert sorted(h.command for h in history) == ["boom", "echo", "shutdown"]
    assert by_command["echo"].invocation_id == invocation_id_for(int(echo["id"]))
    assert by_command["echo"].outcome == "ok" and by_command["echo"].options == {
        "text": "string",
        "times": "integer",
    }
    assert "private words" not in str(by_command["echo"])
    assert by_command["boom"].outcome == "error" and by_command["boom"].error_id
    assert by_command["shutdown"].outcome == "denied"
    assert all(h.guild_id == GUILD_ID and h.channel_id == CHANNEL_ID for h in history)
    assert all(h.user_id == MEMBER.user_id and h.duration_ms is not None for h in history)
