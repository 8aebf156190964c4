"""Quotes with stable per-guild numbers and full-text search.

The original numbered quotes by ``ROW_NUMBER() OVER ()`` at read time, so deleting one renumbered all later
quotes (and the delete itself was off by one). Here a quote gets its number once, at insert, from a per-guild
counter row (``guild_counters``) incremented in the same statement, so numbers are unique, never reused and
never shift. Search runs on a generated tsvector column with a GIN index; user text is parsed with
``websearch_to_tsquery`` (which never raises on odd input, unlike ``to_tsquery``).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from storage.database import Database, Record

_COLUMNS = "id, guild_id, number, content, author_id, created_at"


@attrs.frozen(slots=True)
class Quote:
    id: int
    guild_id: int
    number: int
    content: str
    author_id: int
    created_at: datetime


def _quote(row: Record) -> Quote:
    return Quote(**dict(row))


class QuoteRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, guild_id: int, content: str, *, author_id: int) -> Quote:
        row = await self._db.fetchrow(
            "WITH next AS ("  # noqa: S608 - only constant identifiers are interpolated
            " INSERT INTO guild_counters (guild_id, name, value) VALUES ($1, 'quote', 1)"
            " ON CONFLICT (guild_id, name) DO UPDATE SET value = guild_counters.value + 1"
            " RETURNING value)"
            " INSERT INTO quotes (guild_id, number, content, author_id)"
            f" SELECT $1, value, $2, $3 FROM next RETURNING {_COLUMNS}",
            guild_id,
            content,
            author_id,
        )
        assert row is not None
        return _quote(row)

    async def get(self, guild_id: int, number: int) -> Quote | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM quotes WHERE guild_id = $1 AND number = $2",  # noqa: S608
            guild_id,
            number,
        )
        return None if row is None else _quote(row)

    async def random(self, guild_id: int) -> Quote | None:
        row = await self._db.fetchrow(
            f"SELECT {_COLUMNS} FROM quotes WHERE guild_id = $1 ORDER BY random() LIMIT 1",  # noqa: S608
            guild_id,
        )
        return None if row is None else _quote(row)

    async def find(self, guild_id: int, text: str, *, limit: int = 25) -> list[Quote]:
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM quotes, websearch_to_tsquery('english', $2) AS q"  # noqa: S608
            " WHERE guild_id = $1 AND search @@ q ORDER BY ts_rank(search, q) DESC, number LIMIT $3",
            guild_id,
            text,
            limit,
        )
        return [_quote(r) for r in rows]

    async def delete(self, guild_id: int, number: int) -> Quote | None:
        """Delete quote ``number``; returns it (for the reply), or None if there is no such quote."""
        row = await self._db.fetchrow(
            f"DELETE FROM quotes WHERE guild_id = $1 AND number = $2 RETURNING {_COLUMNS}",  # noqa: S608
            guild_id,
            number,
        )
        return None if row is None else _quote(row)

    async def count(self, guild_id: int) -> int:
        return int(await self._db.fetchval("SELECT count(*) FROM quotes WHERE guild_id = $1", guild_id))

    async def numbers_matching(self, guild_id: int, prefix: str, *, limit: int = 25) -> list[Quote]:
        """Autocomplete for a quote number: quotes whose number starts with ``prefix`` (newest first)."""
        rows = await self._db.fetch(
            f"SELECT {_COLUMNS} FROM quotes WHERE guild_id = $1 AND number::text LIKE $2 || '%'"  # noqa: S608
            " ORDER BY number DESC LIMIT $3",
            guild_id,
            "".join(ch for ch in prefix if ch.isdigit()),
            limit,
        )
        return [_quote(r) for r in rows]
