"""Privacy: everything stored about one user, exported on request or deleted on request.

One table of (table, user column) pairs is the single source of truth for both operations, so a new table
holding user data is added in one place and export and deletion stay in step. Deletion removes the rows
(quotes and links a user added are community content: their author id is kept only if ``keep_content``).
The audit log is never rewritten: deletions are themselves privileged actions and stay auditable.
"""

from __future__ import annotations

from typing import Any

from storage.database import Database

#: (table, column holding the user id, contains content the community may keep)
USER_DATA: tuple[tuple[str, str, bool], ...] = (
    ("users", "user_id", False),
    ("user_preferences", "user_id", False),
    ("messages", "author_id", False),
    ("message_edits", "message_id", False),  # via the user's messages, see below
    ("reactions", "user_id", False),
    ("member_events", "user_id", False),
    ("role_changes", "user_id", False),
    ("voice_events", "user_id", False),
    ("command_history", "user_id", False),
    ("command_errors", "user_id", False),
    ("creator_links", "user_id", False),
    ("reports", "reporter_id", False),
    ("quotes", "author_id", True),
    ("links", "added_by", True),
)


def _where(table: str, column: str) -> str:
    if table == "message_edits":
        return "message_id IN (SELECT message_id FROM messages WHERE author_id = $1)"
    return f"{column} = $1"


class PrivacyRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def export_user(self, user_id: int) -> dict[str, list[dict[str, Any]]]:
        """Every row about ``user_id``, per table (JSON-serialisable apart from datetimes/uuids)."""
        export: dict[str, list[dict[str, Any]]] = {}
        for table, column, _community in USER_DATA:
            rows = await self._db.fetch(
                f"SELECT * FROM {table} WHERE {_where(table, column)}",  # noqa: S608
                user_id,
            )
            export[table] = [{k: v for k, v in dict(r).items() if k != "search"} for r in rows]
        return export

    async def delete_user(self, user_id: int, *, keep_content: bool = True) -> dict[str, int]:
        """Delete the user's data in one transaction; returns rows deleted per table."""
        deleted: dict[str, int] = {}
        async with self._db.transaction() as tx:
            for table, column, community in reversed(USER_DATA):
                if community and keep_content:
                    continue
                status = await tx.execute(
                    f"DELETE FROM {table} WHERE {_where(table, column)}",  # noqa: S608
                    user_id,
                )
                deleted[table] = int(status.rsplit(" ", 1)[-1])
        return deleted
