"""Smaller community features: creator links, message reports, the chapter password, self-assignable roles.

Each repository is small; they share this module to keep the package listing short. Ownership rules
(a creator edits only their own links, a report is unique per message and reporter) are enforced by the
queries and constraints, so a command cannot forget them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg
import attrs

from storage.database import Database
from storage.errors import AlreadyExists

# -- creator links ----------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class CreatorLink:
    id: int
    user_id: int
    title: str
    link: str
    nsfw: bool
    weight: int
    feature: bool


_CREATOR_COLUMNS = "id, user_id, title, link, nsfw, weight, feature"


class CreatorLinkRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        user_id: int,
        title: str,
        link: str,
        *,
        nsfw: bool = False,
        weight: int = 0,
        feature: bool = True,
    ) -> CreatorLink:
        try:
            row = await self._db.fetchrow(
                "INSERT INTO creator_links (user_id, title, link, nsfw, weight, feature)"  # noqa: S608
                f" VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_CREATOR_COLUMNS}",
                user_id,
                title,
                link,
                nsfw,
                weight,
                feature,
            )
        except asyncpg.exceptions.UniqueViolationError:
            raise AlreadyExists(f"you already have a link titled {title!r}") from None
        assert row is not None
        return CreatorLink(**dict(row))

    async def for_user(self, user_id: int, *, include_nsfw: bool) -> list[CreatorLink]:
        rows = await self._db.fetch(
            f"SELECT {_CREATOR_COLUMNS} FROM creator_links WHERE user_id = $1 AND ($2 OR NOT nsfw)"  # noqa: S608
            " ORDER BY weight DESC, lower(title)",
            user_id,
            include_nsfw,
        )
        return [CreatorLink(**dict(r)) for r in rows]

    async def edit(
        self, user_id: int, title: str, *, link: str, nsfw: bool, weight: int, feature: bool
    ) -> CreatorLink | None:
        row = await self._db.fetchrow(
            "UPDATE creator_links SET link = $3, nsfw = $4, weight = $5, feature = $6,"  # noqa: S608
            " updated_at = now() WHERE user_id = $1 AND lower(title) = lower($2)"
            f" RETURNING {_CREATOR_COLUMNS}",
            user_id,
            title,
            link,
            nsfw,
            weight,
            feature,
        )
        return None if row is None else CreatorLink(**dict(row))

    async def remove(self, user_id: int, title: str) -> bool:
        status = await self._db.execute(
            "DELETE FROM creator_links WHERE user_id = $1 AND lower(title) = lower($2)", user_id, title
        )
        return status == "DELETE 1"


# -- reports ----------------------------------------------------------------------------------------------

REPORT_REASONS = ("spam", "nsfw", "harassment", "other", "wrong_channel", "spoiler")


@attrs.frozen(slots=True)
class Report:
    id: int
    guild_id: int
    channel_id: int
    message_id: int
    reporter_id: int
    reported_user_id: int
    reason: str
    anonymous: bool
    details: str | None
    created_at: datetime
    handled_at: datetime | None
    handled_by: int | None


class ReportRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        *,
        guild_id: int,
        channel_id: int,
        message_id: int,
        reporter_id: int,
        reported_user_id: int,
        reason: str,
        anonymous: bool = False,
        details: str | None = None,
    ) -> Report:
        """File a report; `AlreadyExists` if this user already reported this message."""
        if reason not in REPORT_REASONS:
            raise ValueError(f"unknown report reason {reason!r}")
        try:
            row = await self._db.fetchrow(
                "INSERT INTO reports (guild_id, channel_id, message_id, reporter_id, reported_user_id,"
                " reason, anonymous, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
                guild_id,
                channel_id,
                message_id,
                reporter_id,
                reported_user_id,
                reason,
                anonymous,
                details,
            )
        except asyncpg.exceptions.UniqueViolationError:
            raise AlreadyExists("you have already reported this message") from None
        assert row is not None
        return Report(**dict(row))

    async def open_reports(self, guild_id: int, *, limit: int = 25) -> list[Report]:
        rows = await self._db.fetch(
            "SELECT * FROM reports WHERE guild_id = $1 AND handled_at IS NULL ORDER BY created_at LIMIT $2",
            guild_id,
            limit,
        )
        return [Report(**dict(r)) for r in rows]

    async def mark_handled(self, report_id: int, moderator_id: int) -> bool:
        status = await self._db.execute(
            "UPDATE reports SET handled_at = now(), handled_by = $2 WHERE id = $1 AND handled_at IS NULL",
            report_id,
            moderator_id,
        )
        return status == "UPDATE 1"


# -- password ---------------------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class PasswordLink:
    password: str
    link: str
    added_by: int
    created_at: datetime


class PasswordRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def latest(self, guild_id: int) -> PasswordLink | None:
        row = await self._db.fetchrow(
            "SELECT password, link, added_by, created_at FROM password_links WHERE guild_id = $1"
            " ORDER BY created_at DESC, id DESC LIMIT 1",
            guild_id,
        )
        return None if row is None else PasswordLink(**dict(row))

    async def set(self, guild_id: int, password: str, link: str, *, added_by: int) -> None:
        await self._db.execute(
            "INSERT INTO password_links (guild_id, password, link, added_by) VALUES ($1, $2, $3, $4)",
            guild_id,
            password,
            link,
            added_by,
        )


# -- self-assignable roles --------------------------------------------------------------------------------


@attrs.frozen(slots=True)
class SelfAssignableRole:
    role_id: int
    guild_id: int
    category: str
    weight: int
    alias: str | None
    required_role_ids: tuple[int, ...]
    auto_replace: bool


class SelfAssignableRoleRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def upsert(
        self,
        guild_id: int,
        role_id: int,
        *,
        category: str = "Uncategorized",
        weight: int = 0,
        alias: str | None = None,
        required_role_ids: Sequence[int] = (),
        auto_replace: bool = False,
    ) -> None:
        await self._db.execute(
            "INSERT INTO self_assignable_roles (role_id, guild_id, category, weight, alias,"
            " required_role_ids, auto_replace) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (role_id) DO UPDATE SET"
            " category = EXCLUDED.category, weight = EXCLUDED.weight, alias = EXCLUDED.alias,"
            " required_role_ids = EXCLUDED.required_role_ids, auto_replace = EXCLUDED.auto_replace",
            role_id,
            guild_id,
            category,
            weight,
            alias,
            list(required_role_ids),
            auto_replace,
        )

    async def set_weight(self, role_id: int, weight: int) -> bool:
        status = await self._db.execute(
            "UPDATE self_assignable_roles SET weight = $2 WHERE role_id = $1", role_id, weight
        )
        return status == "UPDATE 1"

    async def remove(self, role_id: int) -> bool:
        status = await self._db.execute("DELETE FROM self_assignable_roles WHERE role_id = $1", role_id)
        return status == "DELETE 1"

    async def in_guild(self, guild_id: int) -> list[SelfAssignableRole]:
        rows = await self._db.fetch(
            "SELECT role_id, guild_id, category, weight, alias, required_role_ids, auto_replace"
            " FROM self_assignable_roles WHERE guild_id = $1 ORDER BY category, weight DESC, role_id",
            guild_id,
        )
        return [
            SelfAssignableRole(**{**dict(r), "required_role_ids": tuple(r["required_role_ids"])})
            for r in rows
        ]

    async def available_to(self, guild_id: int, member_role_ids: Sequence[int]) -> list[SelfAssignableRole]:
        """Roles a member qualifies for: no requirement, or at least one required role held."""
        roles = await self.in_guild(guild_id)
        held = set(member_role_ids)
        return [r for r in roles if not r.required_role_ids or held.intersection(r.required_role_ids)]
