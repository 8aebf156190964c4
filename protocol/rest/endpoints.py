"""The Discord endpoints the bot uses, as named methods over `RestClient.request`.

Kept apart from the client's core (permits, retries, errors) so each file has one job: this one is the
catalogue — one method per Discord operation, named after Discord's documentation, with the route template
spelled exactly as in the OpenAPI spec so ``grep`` finds both. Interaction follow-ups and original-response
edits are webhook routes of the application (``webhook_id`` = application id, ``webhook_token`` = the
interaction token), as Discord defines them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from protocol.rest.uploads import File

__all__ = ["DiscordEndpoints"]


class DiscordEndpoints:
    """Mixin of named endpoint methods; the class it is mixed into provides `request`."""

    __slots__ = ()

    async def request(
        self,
        method: str,
        template: str,
        *,
        json: object = None,
        query: Mapping[str, object] | None = None,
        reason: str | None = None,
        files: Sequence[File] | None = None,
        **path_params: int | str,
    ) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------ users, app

    async def get_current_user(self) -> Any:
        return await self.request("GET", "/users/@me")

    async def get_current_application(self) -> Any:
        return await self.request("GET", "/applications/@me")

    async def get_gateway_bot(self) -> Any:
        return await self.request("GET", "/gateway/bot")

    async def create_dm(self, recipient_id: int) -> Any:
        return await self.request("POST", "/users/@me/channels", json={"recipient_id": str(recipient_id)})

    # ------------------------------------------------------------------------------------------ commands

    async def get_global_commands(self, application_id: int) -> Any:
        return await self.request(
            "GET", "/applications/{application_id}/commands", application_id=application_id
        )

    async def bulk_overwrite_global_commands(self, application_id: int, commands: Sequence[object]) -> Any:
        return await self.request(
            "PUT",
            "/applications/{application_id}/commands",
            json=list(commands),
            application_id=application_id,
        )

    async def get_guild_commands(self, application_id: int, guild_id: int) -> Any:
        return await self.request(
            "GET",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            application_id=application_id,
            guild_id=guild_id,
        )

    async def bulk_overwrite_guild_commands(
        self, application_id: int, guild_id: int, commands: Sequence[object]
    ) -> Any:
        return await self.request(
            "PUT",
            "/applications/{application_id}/guilds/{guild_id}/commands",
            json=list(commands),
            application_id=application_id,
            guild_id=guild_id,
        )

    # ------------------------------------------------------------------------------------------ interactions

    async def create_interaction_response(
        self, interaction_id: int, interaction_token: str, response: Mapping[str, object]
    ) -> Any:
        return await self.request(
            "POST",
            "/interactions/{interaction_id}/{interaction_token}/callback",
            json=response,
            interaction_id=interaction_id,
            interaction_token=interaction_token,
        )

    async def get_original_response(self, application_id: int, interaction_token: str) -> Any:
        return await self.request(
            "GET",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            webhook_id=application_id,
            webhook_token=interaction_token,
        )

    async def edit_original_response(
        self,
        application_id: int,
        interaction_token: str,
        message: Mapping[str, object],
        *,
        files: Sequence[File] | None = None,
    ) -> Any:
        return await self.request(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            json=message,
            files=files,
            webhook_id=application_id,
            webhook_token=interaction_token,
        )

    async def delete_original_response(self, application_id: int, interaction_token: str) -> None:
        await self.request(
            "DELETE",
            "/webhooks/{webhook_id}/{webhook_token}/messages/@original",
            webhook_id=application_id,
            webhook_token=interaction_token,
        )

    async def create_followup(
        self,
        application_id: int,
        interaction_token: str,
        message: Mapping[str, object],
        *,
        files: Sequence[File] | None = None,
    ) -> Any:
        return await self.request(
            "POST",
            "/webhooks/{webhook_id}/{webhook_token}",
            json=message,
            files=files,
            query={"wait": True},
            webhook_id=application_id,
            webhook_token=interaction_token,
        )

    async def edit_followup(
        self, application_id: int, interaction_token: str, message_id: int, message: Mapping[str, object]
    ) -> Any:
        return await self.request(
            "PATCH",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            json=message,
            webhook_id=application_id,
            webhook_token=interaction_token,
            message_id=message_id,
        )

    async def delete_followup(self, application_id: int, interaction_token: str, message_id: int) -> None:
        await self.request(
            "DELETE",
            "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}",
            webhook_id=application_id,
            webhook_token=interaction_token,
            message_id=message_id,
        )

    async def execute_webhook(
        self, webhook_id: int, webhook_token: str, message: Mapping[str, object], *, wait: bool = True
    ) -> Any:
        return await self.request(
            "POST",
            "/webhooks/{webhook_id}/{webhook_token}",
            json=message,
            query={"wait": wait},
            webhook_id=webhook_id,
            webhook_token=webhook_token,
        )

    # ------------------------------------------------------------------------------------------ messages

    async def create_message(
        self, channel_id: int, message: Mapping[str, object], *, files: Sequence[File] | None = None
    ) -> Any:
        return await self.request(
            "POST", "/channels/{channel_id}/messages", json=message, files=files, channel_id=channel_id
        )

    async def get_message(self, channel_id: int, message_id: int) -> Any:
        return await self.request(
            "GET",
            "/channels/{channel_id}/messages/{message_id}",
            channel_id=channel_id,
            message_id=message_id,
        )

    async def get_messages(
        self,
        channel_id: int,
        *,
        limit: int = 50,
        before: int | None = None,
        after: int | None = None,
        around: int | None = None,
    ) -> Any:
        query = {"limit": limit, "before": before, "after": after, "around": around}
        return await self.request(
            "GET", "/channels/{channel_id}/messages", query=query, channel_id=channel_id
        )

    async def edit_message(self, channel_id: int, message_id: int, message: Mapping[str, object]) -> Any:
        return await self.request(
            "PATCH",
            "/channels/{channel_id}/messages/{message_id}",
            json=message,
            channel_id=channel_id,
            message_id=message_id,
        )

    async def delete_message(self, channel_id: int, message_id: int, *, reason: str | None = None) -> None:
        await self.request(
            "DELETE",
            "/channels/{channel_id}/messages/{message_id}",
            reason=reason,
            channel_id=channel_id,
            message_id=message_id,
        )

    async def bulk_delete_messages(
        self, channel_id: int, message_ids: Sequence[int], *, reason: str | None = None
    ) -> None:
        await self.request(
            "POST",
            "/channels/{channel_id}/messages/bulk-delete",
            json={"messages": [str(m) for m in message_ids]},
            reason=reason,
            channel_id=channel_id,
        )

    # ------------------------------------------------------------------------------------------ reactions

    async def add_reaction(self, channel_id: int, message_id: int, emoji: str) -> None:
        """``emoji``: a unicode emoji or ``name:id`` for a custom one."""
        await self.request(
            "PUT",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me",
            channel_id=channel_id,
            message_id=message_id,
            emoji_name=emoji,
        )

    async def remove_own_reaction(self, channel_id: int, message_id: int, emoji: str) -> None:
        await self.request(
            "DELETE",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me",
            channel_id=channel_id,
            message_id=message_id,
            emoji_name=emoji,
        )

    async def remove_user_reaction(self, channel_id: int, message_id: int, emoji: str, user_id: int) -> None:
        await self.request(
            "DELETE",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/{user_id}",
            channel_id=channel_id,
            message_id=message_id,
            emoji_name=emoji,
            user_id=user_id,
        )

    async def get_reactions(self, channel_id: int, message_id: int, emoji: str, *, limit: int = 25) -> Any:
        return await self.request(
            "GET",
            "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}",
            query={"limit": limit},
            channel_id=channel_id,
            message_id=message_id,
            emoji_name=emoji,
        )

    # ------------------------------------------------------------------------------------------ pins

    async def get_pins(self, channel_id: int) -> Any:
        return await self.request("GET", "/channels/{channel_id}/pins", channel_id=channel_id)

    async def pin_message(self, channel_id: int, message_id: int, *, reason: str | None = None) -> None:
        await self.request(
            "PUT",
            "/channels/{channel_id}/pins/{message_id}",
            reason=reason,
            channel_id=channel_id,
            message_id=message_id,
        )

    async def unpin_message(self, channel_id: int, message_id: int, *, reason: str | None = None) -> None:
        await self.request(
            "DELETE",
            "/channels/{channel_id}/pins/{message_id}",
            reason=reason,
            channel_id=channel_id,
            message_id=message_id,
        )

    # ------------------------------------------------------------------------------------------ guilds

    async def get_guild(self, guild_id: int, *, with_counts: bool = False) -> Any:
        query = {"with_counts": True} if with_counts else None
        return await self.request("GET", "/guilds/{guild_id}", query=query, guild_id=guild_id)

    async def get_channel(self, channel_id: int) -> Any:
        return await self.request("GET", "/channels/{channel_id}", channel_id=channel_id)

    async def get_guild_roles(self, guild_id: int) -> Any:
        return await self.request("GET", "/guilds/{guild_id}/roles", guild_id=guild_id)

    async def get_guild_member(self, guild_id: int, user_id: int) -> Any:
        return await self.request(
            "GET", "/guilds/{guild_id}/members/{user_id}", guild_id=guild_id, user_id=user_id
        )

    async def add_member_role(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str | None = None
    ) -> None:
        await self.request(
            "PUT",
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            reason=reason,
            guild_id=guild_id,
            user_id=user_id,
            role_id=role_id,
        )

    async def remove_member_role(
        self, guild_id: int, user_id: int, role_id: int, *, reason: str | None = None
    ) -> None:
        await self.request(
            "DELETE",
            "/guilds/{guild_id}/members/{user_id}/roles/{role_id}",
            reason=reason,
            guild_id=guild_id,
            user_id=user_id,
            role_id=role_id,
        )
