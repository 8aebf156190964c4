"""Gallery migration records (``/gallery_admin extract_data``, ``review_entries``, ``update_tags``,
``mark_reviewed``, ``migration_stats``) and the invisible-text table (``/invistext``).

Extraction may scan the same message twice (a re-run over an overlapping window): `upsert` keys on the
message id, so a re-scan refreshes the row instead of duplicating it, and never resets a human review.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from storage.database import Database

_GALLERY_COLUMNS = (
    "message_id, guild_id, channel_id, author_id, title, creator, images, tags, jump_url, content_type,"
    " is_bot, migrated, needs_manual_review, reviewed, reviewed_by, created_at"
)


@attrs.frozen(slots=True)
class GalleryEntry:
    message_id: int
    guild_id: int
    channel_id: int
    author_id: int | None
    title: str | None
    creator: str | None
    images: list[Any]
    tags: tuple[str, ...]
    jump_url: str | None
    content_type: str | None
    is_bot: bool
    migrated: bool
    needs_manual_review: bool
    reviewed: bool
    reviewed_by: int | None
    created_at: datetime


@attrs.frozen(slots=True)
class GalleryStats:
    total: int
    migrated: int
    needs_review: int
    bot_posts: int


def _entry(row: Any) -> GalleryEntry:
    values = dict(row)
    values["tags"] = tuple(values["tags"] or ())
    return GalleryEntry(**values)


class GalleryMigrationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self,
        *,
        message_id: int,
        guild_id: int,
        channel_id: int,
        author_id: int | None = None,
        title: str | None = None,
        creator: str | None = None,
        images: Sequence[Any] = (),
        tags: Sequence[str] = (),
        jump_url: str | None = None,
        content_type: str | None = None,
        is_bot: bool = False,
        needs_manual_review: bool = False,
        raw_content: str | None = None,
        raw_embeds: Any = None,
    ) -> None:
        await self._db.execute(
            "INSERT INTO gallery_migration (message_id, guild_id, channel_id, author_id, title, creator,"
            " images, tags, jump_url, content_type, is_bot, needs_manual_review, raw_content, raw_embeds)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            " ON CONFLICT (message_id) DO UPDATE SET title = EXCLUDED.title, creator = EXCLUDED.creator,"
            " images = EXCLUDED.images, jump_url = EXCLUDED.jump_url, content_type = EXCLUDED.content_type,"
            " raw_content = EXCLUDED.raw_content, raw_embeds = EXCLUDED.raw_embeds,"
            " needs_manual_review = gallery_migration.needs_manual_review OR EXCLUDED.needs_manual_review,"
            " updated_at = now()",
            message_id,
            guild_id,
            channel_id,
            author_id,
            title,
            creator,
            list(images),
            list(tags),
            jump_url,
            content_type,
            is_bot,
            needs_manual_review,
            raw_content,
            raw_embeds,
        )

    async def needing_review(self, guild_id: int, *, limit: int = 10) -> list[GalleryEntry]:
        rows = await self._db.fetch(
            f"SELECT {_GALLERY_COLUMNS} FROM gallery_migration"  # noqa: S608
            " WHERE guild_id = $1 AND needs_manual_review AND NOT reviewed ORDER BY created_at LIMIT $2",
            guild_id,
            limit,
        )
        return [_entry(r) for r in rows]

    async def set_tags(self, message_id: int, tags: Sequence[str]) -> bool:
        status = await self._db.execute(
            "UPDATE gallery_migration SET tags = $2, updated_at = now() WHERE message_id = $1",
            message_id,
            list(tags),
        )
        return status == "UPDATE 1"

    async def mark_reviewed(self, message_id: int, reviewer_id: int) -> bool:
        status = await self._db.execute(
            "UPDATE gallery_migration SET reviewed = true, reviewed_by = $2, updated_at = now()"
            " WHERE message_id = $1",
            message_id,
            reviewer_id,
        )
        return status == "UPDATE 1"

    async def stats(self, guild_id: int) -> GalleryStats:
        row = await self._db.fetchrow(
            "SELECT count(*) AS total, count(*) FILTER (WHERE migrated) AS migrated,"
            " count(*) FILTER (WHERE needs_manual_review AND NOT reviewed) AS needs_review,"
            " count(*) FILTER (WHERE is_bot) AS bot_posts FROM gallery_migration WHERE guild_id = $1",
            guild_id,
        )
        assert row is not None
        return GalleryStats(**dict(row))


@attrs.frozen(slots=True)
class InvisibleText:
    chapter_title: str
    chapter_url: str | None
    content: str


@attrs.frozen(slots=True)
class ChapterCount:
    chapter_title: str
    texts: int


class InvisibleTextRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, chapter_title: str, content: str, *, chapter_url: str | None = None) -> None:
        await self._db.execute(
            "INSERT INTO invisible_texts (chapter_title, chapter_url, content) VALUES ($1, $2, $3)",
            chapter_title,
            chapter_url,
            content,
        )

    async def chapters(self) -> list[ChapterCount]:
        rows = await self._db.fetch(
            "SELECT chapter_title, count(*) AS texts FROM invisible_texts"
            " GROUP BY chapter_title ORDER BY min(id)"
        )
        return [ChapterCount(**dict(r)) for r in rows]

    async def for_chapter(self, chapter_title: str) -> list[InvisibleText]:
        """Texts of a chapter, matched case-insensitively (the original used an unescaped SIMILAR TO)."""
        rows = await self._db.fetch(
            "SELECT chapter_title, chapter_url, content FROM invisible_texts"
            " WHERE lower(chapter_title) = lower($1) ORDER BY id",
            chapter_title,
        )
        return [InvisibleText(**dict(r)) for r in rows]
