"""The command framework's storage needs, met by the storage layer's repositories.

The framework depends on four small protocols (`GuildRoleSettings`, `ErrorSink`, `AuditSink`,
`CommandSettingsSource`) rather than on repositories, so it can be tested without a database. These adapters
connect them to ``storage.repositories`` in production.

Why the reads degrade instead of failing: DESIGN §5 asks that commands which do not need the database keep
working while it is down. Every interaction asks for the guild's configured roles (for the permission level)
and its per-command overrides; if those reads raised, even /ping would fail during an outage. So a failed
read logs once and answers "nothing configured": permission falls back to Discord permissions alone (fail
closed: a configured-role admin is treated as their permissions say, never as more) and no override
applies. Writes (errors, audit entries) are best effort for the same reason; the router logs every
failure with its error id anyway. Guild roles are cached for a few seconds, because they are read on every
interaction and change rarely (so are command overrides); `invalidate` drops an entry after a settings
command changes it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import trio

from shard.interactions.cooldowns import Cooldown
from shard.interactions.errors import ErrorRecord
from shard.interactions.permissions import GuildRoles
from shard.interactions.router import CommandSettings
from storage.errors import StorageError
from storage.repositories.commands import (
    AuditLogRepository,
    CommandErrorRepository,
    CommandSettingsRepository,
)
from storage.repositories.guild_settings import GuildSettingsRepository

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")


class _TtlCache(Generic[K, V]):
    """Values kept for ``ttl`` seconds (trio's clock); cleared wholesale past ``max_entries``, which
    bounds memory without bookkeeping (a miss only costs one read)."""

    def __init__(self, ttl: float, max_entries: int) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        cached = self._entries.get(key)
        if cached is not None and cached[0] > trio.current_time():
            return cached[1]
        return None

    def put(self, key: K, value: V) -> None:
        if len(self._entries) > self._max_entries:
            self._entries.clear()
        self._entries[key] = (trio.current_time() + self._ttl, value)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)


class StoredGuildRoles:
    """`GuildRoleSettings` from the guild settings table, cached for ``ttl`` seconds per guild."""

    def __init__(self, repository: GuildSettingsRepository, ttl: float = 10.0) -> None:
        self._repository = repository
        self._cache: _TtlCache[int, GuildRoles] = _TtlCache(ttl, max_entries=50_000)

    async def guild_roles(self, guild_id: int) -> GuildRoles:
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        try:
            settings = await self._repository.get(guild_id)
        except StorageError as exc:
            log.warning("guild roles unavailable (%s); using Discord permissions only", type(exc).__name__)
            return GuildRoles()
        roles = GuildRoles(settings.admin_role_id, settings.mod_role_id)
        self._cache.put(guild_id, roles)
        return roles

    def invalidate(self, guild_id: int) -> None:
        self._cache.pop(guild_id)


class StoredErrors:
    """`ErrorSink` writing to the ``command_errors`` table."""

    def __init__(self, repository: CommandErrorRepository) -> None:
        self._repository = repository

    async def record_error(self, record: ErrorRecord) -> None:
        await self._repository.record(
            record.error_id,
            record.command,
            error_type=record.error_type,
            message=f"{record.exception_type}: {record.message}",
            user_id=record.user_id,
            guild_id=record.guild_id,
        )


class StoredAudit:
    """`AuditSink` writing to the ``audit_log`` table."""

    def __init__(self, repository: AuditLogRepository) -> None:
        self._repository = repository

    async def record(
        self, guild_id: int | None, actor_id: int | None, action: str, target: str, details: Mapping[str, Any]
    ) -> None:
        await self._repository.record(guild_id, actor_id or 0, action, target, details)


class StoredCommandSettings:
    """`CommandSettingsSource` from the ``command_settings`` table (per-guild enable and cooldown),
    cached for ``ttl`` seconds per (guild, command) like the guild roles."""

    def __init__(self, repository: CommandSettingsRepository, ttl: float = 10.0) -> None:
        self._repository = repository
        self._cache: _TtlCache[tuple[int, str], CommandSettings] = _TtlCache(ttl, max_entries=100_000)

    async def command_settings(self, guild_id: int, command: str) -> CommandSettings | None:
        key = (guild_id, command)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        try:
            setting = await self._repository.get(guild_id, command)
        except StorageError as exc:
            log.warning("command settings unavailable (%s); using defaults", type(exc).__name__)
            return None
        cooldown = None
        if setting.cooldown_seconds is not None and setting.cooldown_seconds > 0:
            cooldown = Cooldown(rate=1, per=setting.cooldown_seconds)
        settings = CommandSettings(enabled=setting.enabled, cooldown=cooldown)
        self._cache.put(key, settings)
        return settings

    def invalidate(self, guild_id: int, command: str) -> None:
        """Forget the cached override (call after changing it)."""
        self._cache.pop((guild_id, command))
