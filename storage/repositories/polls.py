"""Patreon polls (`/poll`, `/polllist`, `/findpoll`, `/getpoll`).

Polls keep Patreon's id as the primary key (so re-fetching is an upsert, never a duplicate) and a
user-facing ``number`` assigned once. Options are searched through a generated tsvector column — the original
had a ``tokens`` column nothing filled, so ``/findpoll`` missed every poll the bot fetched itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import attrs

from storage.database import Database, Record

_POLL_COLUMNS = "poll_id, number, title, api_url, poll_url, start_date, expire_date, total_votes, expired"


@attrs.frozen(slots=True)
class PollOption:
    option_id: int
    option_text: str
    num_votes: int = 0


@attrs.frozen(slots=True)
class Poll:
    poll_id: int
    number: int
    title: str
    api_url: str | None
    poll_url: str | None
    start_date: datetime
    expire_date: datetime | None
    total_votes: int
    expired: bool


@attrs.frozen(slots=True)
class OptionMatch:
    poll_number: int
    poll_title: str
    option_text: str
    num_votes: int


def _poll(row: Record) -> Poll:
    return Poll(**dict(row))


class PollRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self,
        poll_id: int,
        title: str,
        start_date: datetime,
        *,
        expire_date: datetime | None = None,
        api_url: str | None = None,
        poll_url: str | None = None,
        total_votes: int = 0,
        expired: bool = False,
        options: Sequence[PollOption] = (),
    ) -> Poll:
        """Insert or refresh a poll and its options (votes and expiry change; the number never does)."""
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                "INSERT INTO polls (poll_id, title, api_url, poll_url, start_date, expire_date, total_votes,"  # noqa: S608
                " expired) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (poll_id) DO UPDATE SET"
                " title = EXCLUDED.title, api_url = EXCLUDED.api_url, poll_url = EXCLUDED.poll_url,"
                " expire_date = EXCLUDED.expire_date, total_votes = EXCLUDED.total_votes,"
                f" expired = EXCLUDED.expired, updated_at = now() RETURNING {_POLL_COLUMNS}",
                poll_id,
                title,
                api_url,
                poll_url,
                start_date,
                expire_date,
                total_votes,
                expired,
            )
            if options:
                await tx.executemany(
                    "INSERT INTO poll_options (option_id, poll_id, option_text, num_votes)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (option_id) DO UPDATE SET"
                    " option_text = EXCLUDED.option_text, num_votes = EXCLUDED.num_votes",
                    [(o.option_id, poll_id, o.option_text, o.num_votes) for o in options],
                )
        assert row is not None
        return _poll(row)

    async def get(self, number: int) -> Poll | None:
        row = await self._db.fetchrow(f"SELECT {_POLL_COLUMNS} FROM polls WHERE number = $1", number)  # noqa: S608
        return None if row is None else _poll(row)

    async def latest(self) -> Poll | None:
        """The newest poll that is still open, else the newest poll."""
        row = await self._db.fetchrow(
            f"SELECT {_POLL_COLUMNS} FROM polls ORDER BY expired, start_date DESC LIMIT 1"  # noqa: S608
        )
        return None if row is None else _poll(row)

    async def overdue(self, now: datetime | None = None) -> list[Poll]:
        """Polls not yet marked expired whose expiry has passed (to refresh and close)."""
        rows = await self._db.fetch(
            f"SELECT {_POLL_COLUMNS} FROM polls WHERE NOT expired AND expire_date < $1"  # noqa: S608
            " ORDER BY expire_date",
            now or datetime.now(UTC),
        )
        return [_poll(r) for r in rows]

    async def in_year(self, year: int) -> list[Poll]:
        rows = await self._db.fetch(
            f"SELECT {_POLL_COLUMNS} FROM polls"  # noqa: S608
            " WHERE start_date >= make_timestamptz($1, 1, 1, 0, 0, 0, 'UTC')"
            " AND start_date < make_timestamptz($1 + 1, 1, 1, 0, 0, 0, 'UTC') ORDER BY start_date",
            year,
        )
        return [_poll(r) for r in rows]

    async def options(self, poll_id: int) -> list[PollOption]:
        rows = await self._db.fetch(
            "SELECT option_id, option_text, num_votes FROM poll_options WHERE poll_id = $1"
            " ORDER BY num_votes DESC, option_id",
            poll_id,
        )
        return [PollOption(**dict(r)) for r in rows]

    async def find_options(self, text: str, *, limit: int = 25) -> list[OptionMatch]:
        rows = await self._db.fetch(
            "SELECT p.number AS poll_number, p.title AS poll_title, o.option_text, o.num_votes"
            " FROM poll_options o JOIN polls p USING (poll_id), websearch_to_tsquery('english', $1) AS q"
            " WHERE o.search @@ q ORDER BY ts_rank(o.search, q) DESC, p.start_date DESC LIMIT $2",
            text,
            limit,
        )
        return [OptionMatch(**dict(r)) for r in rows]
