"""Links and tags (`/link *`, `/tag`), scoped per guild.

The original bot looked titles up globally, so one guild's `/link add` shadowed another's. Here every
query filters by guild, titles are unique per guild case-insensitively (a unique index on
``(guild_id, lower(title))``), and a duplicate title is `AlreadyExists` for the command to explain.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import attrs

from storage.database import Database, Record
from storage.errors import AlreadyExists

_COLUMNS = "id, guild_id, title, content, tag, embed, added_by, created_at, updated_at"


@attrs.frozen(slots=True)
class Link:
    id: int
    guild_id: int
    title: str
    content: str
    tag: str | None
    embed: bool
    added_by: int
    created_at: datetime
    updated_at: datetime


@attrs.frozen(slots=True)
class TagCount:
    tag: str
    count: int


def _link(row: Record) -> Link:
    return Link(**dict(row))


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class LinkRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        guild_id: int,
        title: str,
        content: str,
        *,
        added_by: int,
        tag: str | None = None,
        embed: bool = True,
    ) -> Link:
        try:
            row = await self._db.fetchrow(
                f"INSERT INTO links (guild_id, title, content, tag, embed, added_by)"  # noqa: S608
                f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_COLUMNS}",
                guild_id,
                title,
                content,
                tag,
                embed,
                added_by,
            )
        except asyncpg.exceptions.UniqueViolationError:
            raise AlreadyExists(f"a link titled {title!r} already exists in this server") from None
        assert row is not None
        return _link(row)

    async def get(self, guild_id: int, title: str) -> Link | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM links WHERE guild_id = $1 AND lower(title) = lower($2)",  # noqa: S608
            guild_id,
            title,
        )
        return None if row is None else _link(row)

    async def edit(self, guild_id: int, title: str, content: str) -> Link | None:
        row = await self._db.fetchrow(
            f"UPDATE links SET content = $3, updated_at = now()"  # noqa: S608
            f" WHERE guild_id = $1 AND lower(title) = lower($2) RETURNING {_COLUMNS}",
            guild_id,
            title,
            content,
        )
        return None if row is None else _link(row)

    async def delete(self, guild_id: int, title: str) -> bool:
        status = await self._db.execute(
            "DELETE FROM links WHERE guild_id = $1 AND lower(title) = lower($2)", guild_id, title
        )
        return status == "DELETE 1"

    async def by_tag(self, guild_id: int, tag: str) -> list[Link]:
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM links WHERE guild_id = $1 AND lower(tag) = lower($2)"  # noqa: S608
            " ORDER BY lower(title)",
            guild_id,
            tag,
        )
        return [_link(r) for r in rows]

    async def tags(self, guild_id: int) -> list[TagCount]:
        rows = await self._db.fetch(
            "SELECT tag, count(*) AS count FROM links WHERE guild_id = $1 AND tag IS NOT NULL"
            " GROUP BY tag ORDER BY lower(tag)",
            guild_id,
        )
        return [TagCount(r["tag"], r["count"]) for r in rows]

    async def autocomplete(self, guild_id: int, prefix: str, *, limit: int = 25) -> list[Link]:
        """Titles starting with (or, failing that, containing) ``prefix``, for option autocomplete."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM links WHERE guild_id = $1 AND title ILIKE '%' || $2 || '%'"  # noqa: S608
            " ORDER BY (lower(title) LIKE lower($2) || '%') DESC, lower(title) LIMIT $3",
            guild_id,
            _escape_like(prefix),
            limit,
        )
        return [_link(r) for r in rows]

    async def search(self, guild_id: int, text: str, *, limit: int = 25) -> list[Link]:
        """Full-text search over title, tag and content, best matches first."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM links, websearch_to_tsquery('english', $2) AS q"  # noqa: S608
            " WHERE guild_id = $1 AND search @@ q ORDER BY ts_rank(search, q) DESC, id LIMIT $3",
            guild_id,
            text,
            limit,
        )
        return [_link(r) for r in rows]
