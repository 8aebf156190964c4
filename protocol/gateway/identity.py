"""Who the bot is, as learned from READY: shared by the gateway shard (writer) and the guild actors (readers).

Why a small mutable holder passed in constructors: guild actors need the bot's own user id to pick the bot's
member out of GUILD_CREATE and to compute its permissions, but they are created by a keyed supervisor long
before (or after) READY arrives. Passing one `BotIdentity` to both sides avoids a global and avoids a call to
the shard on every guild start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.define(slots=True)
class BotIdentity:
    """The bot user and application, filled in from READY (None until the first READY)."""

    user_id: int | None = None
    username: str | None = None
    application_id: int | None = None

    def update_from_ready(self, ready: Mapping[str, Any]) -> None:
        user = ready.get("user")
        if isinstance(user, Mapping) and user.get("id") is not None:
            self.user_id = int(user["id"])
            self.username = str(user.get("username") or "") or None
        application = ready.get("application")
        if isinstance(application, Mapping) and application.get("id") is not None:
            self.application_id = int(application["id"])
