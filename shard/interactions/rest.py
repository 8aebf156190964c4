"""The slice of the REST client the command system uses, as a Protocol.

Why only ``request``: the command system needs six Discord routes (the interaction callback, the original
response's edit and delete, follow-ups and their edits, and the command lists for sync). Depending on the
REST client's one generic method — with Discord's own route templates, which the rate limiter keys on and
the OpenAPI check matches — keeps this package decoupled from the client's internals and lets unit tests
pass any object with the same method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
ORIGINAL = "/webhooks/{webhook_id}/{webhook_token}/messages/@original"
FOLLOWUPS = "/webhooks/{webhook_id}/{webhook_token}"
FOLLOWUP = "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
GLOBAL_COMMANDS = "/applications/{application_id}/commands"
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"


class DiscordRest(Protocol):
    async def request(
        self,
        method: str,
        template: str,
        *,
        json: Any = None,
        query: Mapping[str, Any] | None = None,
        reason: str | None = None,
        **path_params: Any,
    ) -> Any: ...
