"""Per-guild settings: the roles and channels the original bot hard-coded, one row per guild.

`get()` never returns None: a guild that was never configured gets the defaults (nothing configured), so
permission checks and features can read settings unconditionally. `update()` takes only known field names
(checked against the record's fields, so a typo is a `ValueError`, not a silently ignored column) and
upserts; column names come from that fixed list, never from user input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from storage.database import Database, Record


@attrs.frozen(slots=True)
class GuildSettings:
    guild_id: int
    admin_role_id: int | None = None
    mod_role_id: int | None = None
    bot_channel_ids: tuple[int, ...] = ()
    password_channel_ids: tuple[int, ...] = ()
    pin_channel_ids: tuple[int, ...] = ()
    repost_channel_ids: tuple[int, ...] = ()
    mod_log_channel_id: int | None = None
    audit_log_channel_id: int | None = None
    stats_report_channel_id: int | None = None
    announcement_channel_id: int | None = None
    special_role_ids: tuple[int, ...] = ()
    verified_role_id: int | None = None
    verified_min_account_age_hours: int = 72
    thread_ping_role_id: int | None = None
    thread_ping_excluded_parent_ids: tuple[int, ...] = ()
    link_watch_enabled: bool = False
    stats_enabled: bool = True
    updated_at: datetime | None = None


_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in attrs.fields(GuildSettings) if f.name not in ("guild_id", "updated_at")
)
_ARRAY_COLUMNS = frozenset(
    f.name for f in attrs.fields(GuildSettings) if f.type in ("tuple[int, ...]", tuple[int, ...])
)


def _from_row(row: Record) -> GuildSettings:
    values: dict[str, Any] = {name: row[name] for name in ("guild_id", "updated_at", *_COLUMNS)}
    for name in _ARRAY_COLUMNS:
        values[name] = tuple(values[name] or ())
    return GuildSettings(**values)


class GuildSettingsRepository:
    SETTABLE_FIELDS = _COLUMNS

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, guild_id: int) -> GuildSettings:
        row = await self._db.fetchrow(
            f"SELECT guild_id, updated_at, {', '.join(_COLUMNS)} FROM guild_settings WHERE guild_id = $1",  # noqa: S608
            guild_id,
        )
        return GuildSettings(guild_id=guild_id) if row is None else _from_row(row)

    async def update(self, guild_id: int, **fields: Any) -> GuildSettings:
        """Set the given fields (others unchanged; created with defaults if absent); return the new row."""
        unknown = sorted(set(fields) - set(_COLUMNS))
        if unknown:
            raise ValueError(f"unknown guild setting(s): {', '.join(unknown)}")
        if not fields:
            return await self.get(guild_id)
        names = list(fields)
        values = [list(v) if n in _ARRAY_COLUMNS and v is not None else v for n, v in fields.items()]
        placeholders = ", ".join(f"${i + 2}" for i in range(len(names)))
        assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in names)
        row = await self._db.fetchrow(
            f"INSERT INTO guild_settings (guild_id, {', '.join(names)}) VALUES ($1, {placeholders}) "  # noqa: S608
            f"ON CONFLICT (guild_id) DO UPDATE SET {assignments}, updated_at = now() "
            f"RETURNING guild_id, updated_at, {', '.join(_COLUMNS)}",
            guild_id,
            *values,
        )
        assert row is not None
        return _from_row(row)

    async def toggle_channel(self, guild_id: int, field: str, channel_id: int) -> bool:
        """Add ``channel_id`` to a channel-list setting, or remove it if present; True when now present."""
        if field not in _ARRAY_COLUMNS:
            raise ValueError(f"{field!r} is not a list setting")
        present = await self._db.fetchval(
            f"INSERT INTO guild_settings (guild_id, {field}) VALUES ($1, ARRAY[$2::bigint]) "  # noqa: S608
            f"ON CONFLICT (guild_id) DO UPDATE SET {field} = CASE "
            f"WHEN $2 = ANY(guild_settings.{field}) THEN array_remove(guild_settings.{field}, $2) "
            f"ELSE array_append(guild_settings.{field}, $2) END, updated_at = now() "
            f"RETURNING $2 = ANY({field})",
            guild_id,
            channel_id,
        )
        return bool(present)

    async def delete(self, guild_id: int) -> None:
        await self._db.execute("DELETE FROM guild_settings WHERE guild_id = $1", guild_id)
