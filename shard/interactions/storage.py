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
from collections.abc import Awaitable, Callable, Mapping
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
    bounds memory without bookkeeping (a miss only costs one read).

    `get_or_load` reads through with *one* load per key at a time. Without that, an entry expiring under
    load sent every interaction arriving during the read to the database too (a thundering herd: at 800
    interactions/s the reads queued for pool connections behind the storage writer's flush and held answers
    back for 150-360 ms). While a refresh is in flight, other callers get the expired value (it was true a
    moment ago, and the refresh is already asking); callers with nothing cached wait for the one load and
    share its result or its error.
    """

    def __init__(self, ttl: float, max_entries: int) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, _Load[V]] = {}

    async def get_or_load(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        cached = self._entries.get(key)
        if cached is not None and cached[0] > trio.current_time():
            return cached[1]
        pending = self._loading.get(key)
        if pending is not None:
            if cached is not None:
                return cached[1]
            return await pending.result()
        pending = self._loading[key] = _Load()
        try:
            value = await load()
        except BaseException as exc:
            pending.fail(exc)
            raise
        else:
            self.put(key, value)
            pending.succeed(value)
            return value
        finally:
            del self._loading[key]

    def put(self, key: K, value: V) -> None:
        if len(self._entries) > self._max_entries:
            self._entries.clear()
        self._entries[key] = (trio.current_time() + self._ttl, value)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)


class _Load(Generic[V]):
    """One load in flight: callers wait for its value or its error."""

    __slots__ = ("_done", "_error", "_value")

    def __init__(self) -> None:
        self._done = trio.Event()
        self._value: V | None = None
        self._error: BaseException | None = None

    def succeed(self, value: V) -> None:
        self._value = value
        self._done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._done.set()

    async def result(self) -> V:
        await self._done.wait()
        if self._error is not None:
            if isinstance(self._error, trio.Cancelled):
                raise StorageError("the shared read was cancelled") from None
            raise self._error
        return self._value  # type: ignore[return-value]  # set together with _done


class StoredGuildRoles:
    """`GuildRoleSettings` from the guild settings table, cached for ``ttl`` seconds per guild."""

    def __init__(self, repository: GuildSettingsRepository, ttl: float = 10.0) -> None:
        self._repository = repository
        self._cache: _TtlCache[int, GuildRoles] = _TtlCache(ttl, max_entries=50_000)

    async def guild_roles(self, guild_id: int) -> GuildRoles:
        try:
            return await self._cache.get_or_load(guild_id, lambda: self._load(guild_id))
        except StorageError as exc:
            log.warning("guild roles unavailable (%s); using Discord permissions only", type(exc).__name__)
            return GuildRoles()

    async def _load(self, guild_id: int) -> GuildRoles:
        settings = await self._repository.get(guild_id)
        return GuildRoles(settings.admin_role_id, settings.mod_role_id)

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
        try:
            return await self._cache.get_or_load((guild_id, command), lambda: self._load(guild_id, command))
        except StorageError as exc:
            log.warning("command settings unavailable (%s); using defaults", type(exc).__name__)
            return None

    async def _load(self, guild_id: int, command: str) -> CommandSettings:
        setting = await self._repository.get(guild_id, command)
        cooldown = None
        if setting.cooldown_seconds is not None and setting.cooldown_seconds > 0:
            cooldown = Cooldown(rate=1, per=setting.cooldown_seconds)
        return CommandSettings(enabled=setting.enabled, cooldown=cooldown)

    def invalidate(self, guild_id: int, command: str) -> None:
        """Forget the cached override (call after changing it)."""
        self._cache.pop((guild_id, command))
