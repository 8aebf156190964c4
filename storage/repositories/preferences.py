"""Per-user preferences (a small JSON document per user, merged on update).

Preferences are free-form on purpose — each feature owns its keys (``{"quote_dm": false}``) — so adding one
needs no migration; `update` merges at the top level in one statement (``||`` on jsonb), so two features
writing different keys at once do not overwrite each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.database import Database


class UserPreferencesRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, user_id: int) -> dict[str, Any]:
        value = await self._db.fetchval(
            "SELECT preferences FROM user_preferences WHERE user_id = $1", user_id
        )
        return dict(value) if value else {}

    async def update(self, user_id: int, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the user's preferences (a key set to None is removed)."""
        removed = [key for key, value in changes.items() if value is None]
        kept = {key: value for key, value in changes.items() if value is not None}
        value = await self._db.fetchval(
            "INSERT INTO user_preferences (user_id, preferences) VALUES ($1, $2)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            " preferences = (user_preferences.preferences || EXCLUDED.preferences) - $3::text[],"
            " updated_at = now() RETURNING preferences",
            user_id,
            kept,
            removed,
        )
        return dict(value)

    async def clear(self, user_id: int) -> None:
        await self._db.execute("DELETE FROM user_preferences WHERE user_id = $1", user_id)
