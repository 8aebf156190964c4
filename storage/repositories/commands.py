"""Repositories for the command system: error records, the audit log, command history and per-guild
command settings.

Command history rows are normally written in batches by the storage writer (`ActivityWriteModel`), keyed by
an invocation id the bot generates; `CommandHistoryRepository.record` is the direct path for callers that
want the row written before they continue (tests, maintenance), and it is idempotent on that id too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from storage.database import Database


@attrs.frozen(slots=True)
class CommandError:
    error_id: str
    command: str
    user_id: int | None
    guild_id: int | None
    channel_id: int | None
    error_type: str
    message: str
    created_at: datetime


class CommandErrorRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        error_id: str,
        command: str,
        *,
        error_type: str,
        message: str,
        user_id: int | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> None:
        await self._db.execute(
            "INSERT INTO command_errors"
            " (error_id, command, user_id, guild_id, channel_id, error_type, message)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (error_id) DO NOTHING",
            error_id,
            command,
            user_id,
            guild_id,
            channel_id,
            error_type,
            message,
        )

    async def get(self, error_id: str) -> CommandError | None:
        row = await self._db.fetchrow("SELECT * FROM command_errors WHERE error_id = $1", error_id)
        return None if row is None else CommandError(**dict(row))

    async def recent(self, *, limit: int = 20, error_type: str | None = None) -> list[CommandError]:
        rows = await self._db.fetch(
            "SELECT * FROM command_errors WHERE ($1::text IS NULL OR error_type = $1)"
            " ORDER BY created_at DESC LIMIT $2",
            error_type,
            limit,
        )
        return [CommandError(**dict(r)) for r in rows]


@attrs.frozen(slots=True)
class AuditEntry:
    id: int
    guild_id: int | None
    actor_id: int
    action: str
    target: str | None
    details: dict[str, Any]
    created_at: datetime


class AuditLogRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        guild_id: int | None,
        actor_id: int,
        action: str,
        target: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> int:
        """Append an entry; returns its id."""
        entry_id = await self._db.fetchval(
            "INSERT INTO audit_log (guild_id, actor_id, action, target, details)"
            " VALUES ($1, $2, $3, $4, $5) RETURNING id",
            guild_id,
            actor_id,
            action,
            target,
            dict(details or {}),
        )
        return int(entry_id)

    async def recent(
        self, guild_id: int | None, *, limit: int = 50, action: str | None = None
    ) -> list[AuditEntry]:
        rows = await self._db.fetch(
            "SELECT * FROM audit_log WHERE guild_id IS NOT DISTINCT FROM $1"
            " AND ($2::text IS NULL OR action = $2) ORDER BY created_at DESC, id DESC LIMIT $3",
            guild_id,
            action,
            limit,
        )
        return [AuditEntry(**dict(r)) for r in rows]


@attrs.frozen(slots=True)
class CommandInvocation:
    """One finished command invocation (also the storage writer's record for command history)."""

    command: str
    user_id: int
    started_at: datetime
    outcome: str  # "ok", "error", "denied", "cooldown", ...
    guild_id: int | None = None
    channel_id: int | None = None
    options: Mapping[str, Any] = attrs.field(factory=dict)
    duration_ms: float | None = None
    error_id: str | None = None
    invocation_id: uuid.UUID = attrs.field(factory=uuid.uuid4)


#: The top 64 bits of an invocation id derived from an interaction: ASCII "tbs-intr", so such ids are told
#: apart from random (version 4) ones at a glance.
_INTERACTION_ID_PREFIX = int.from_bytes(b"tbs-intr", "big") << 64


def invocation_id_for(interaction_id: int) -> uuid.UUID:
    """The history key of the invocation started by Discord interaction ``interaction_id``.

    Why derived and not random: an interaction is answered (and recorded) once, and its snowflake is unique,
    so the key it gives makes the history row idempotent per interaction — the same interaction recorded
    twice stays one row — and costs no ``getrandom`` call on the path every interaction takes.
    """
    return uuid.UUID(int=_INTERACTION_ID_PREFIX | (interaction_id & 0xFFFF_FFFF_FFFF_FFFF))


@attrs.frozen(slots=True)
class CommandUsage:
    command: str
    invocations: int
    failures: int
    avg_duration_ms: float | None


class CommandHistoryRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, invocation: CommandInvocation) -> None:
        await self._db.execute(
            "INSERT INTO command_history (invocation_id, command, guild_id, channel_id, user_id, options,"
            " started_at, duration_ms, outcome, error_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            " ON CONFLICT (invocation_id) DO NOTHING",
            invocation.invocation_id,
            invocation.command,
            invocation.guild_id,
            invocation.channel_id,
            invocation.user_id,
            dict(invocation.options),
            invocation.started_at,
            invocation.duration_ms,
            invocation.outcome,
            invocation.error_id,
        )

    async def recent_for_user(self, user_id: int, *, limit: int = 20) -> list[CommandInvocation]:
        rows = await self._db.fetch(
            "SELECT * FROM command_history WHERE user_id = $1 ORDER BY started_at DESC LIMIT $2",
            user_id,
            limit,
        )
        return [CommandInvocation(**dict(r)) for r in rows]

    async def usage(self, since: datetime, *, guild_id: int | None = None) -> list[CommandUsage]:
        """Invocations per command since ``since`` (optionally in one guild), most used first."""
        rows = await self._db.fetch(
            "SELECT command, count(*) AS invocations, count(*) FILTER (WHERE outcome <> 'ok') AS failures,"
            " avg(duration_ms) AS avg_duration_ms FROM command_history"
            " WHERE started_at >= $1 AND ($2::bigint IS NULL OR guild_id = $2)"
            " GROUP BY command ORDER BY invocations DESC, command",
            since,
            guild_id,
        )
        return [CommandUsage(**dict(r)) for r in rows]


@attrs.frozen(slots=True)
class CommandSetting:
    guild_id: int
    command: str
    enabled: bool = True
    cooldown_seconds: float | None = None


class CommandSettingsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, guild_id: int, command: str) -> CommandSetting:
        """The guild's override for ``command``, or the defaults (enabled, the command's own cooldown)."""
        row = await self._db.fetchrow(
            "SELECT guild_id, command, enabled, cooldown_seconds FROM command_settings"
            " WHERE guild_id = $1 AND command = $2",
            guild_id,
            command,
        )
        return CommandSetting(guild_id, command) if row is None else CommandSetting(**dict(row))

    async def set(
        self, guild_id: int, command: str, *, enabled: bool = True, cooldown_seconds: float | None = None
    ) -> CommandSetting:
        row = await self._db.fetchrow(
            "INSERT INTO command_settings (guild_id, command, enabled, cooldown_seconds)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (guild_id, command) DO UPDATE"
            " SET enabled = EXCLUDED.enabled, cooldown_seconds = EXCLUDED.cooldown_seconds,"
            " updated_at = now()"
            " RETURNING guild_id, command, enabled, cooldown_seconds",
            guild_id,
            command,
            enabled,
            cooldown_seconds,
        )
        assert row is not None
        return CommandSetting(**dict(row))

    async def for_guild(self, guild_id: int) -> list[CommandSetting]:
        rows = await self._db.fetch(
            "SELECT guild_id, command, enabled, cooldown_seconds FROM command_settings"
            " WHERE guild_id = $1 ORDER BY command",
            guild_id,
        )
        return [CommandSetting(**dict(r)) for r in rows]

    async def reset(self, guild_id: int, command: str) -> bool:
        status = await self._db.execute(
            "DELETE FROM command_settings WHERE guild_id = $1 AND command = $2", guild_id, command
        )
        return status.endswith(" 1")
