"""REST routes for channels and their messages: CRUD, bulk delete, reactions, pins, typing, webhooks.

Why each write also emits a gateway event: on Discord the bot's own REST calls come back over the gateway
(MESSAGE_CREATE for a message it sent, MESSAGE_REACTION_ADD for its reaction); features that keep counters
or caches see those events, so the emulator sends them too (``echo_rest_events``), with the intents rules
applied by the gateway.

Permission checks use the bot's computed channel permissions: posting in a channel the bot cannot see is
50001, deleting someone else's message without Manage Messages is 50013 — the errors a misconfigured guild
really produces.
"""

from __future__ import annotations

import secrets
import urllib.parse

from protocol.emulator import errors
from protocol.emulator import permissions as perms
from protocol.emulator.messages import apply_edit, build_message, validate_message_body
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.route_deps import RouteDeps
from protocol.emulator.state import JSONObject, Webhook, iso_timestamp

_MAX_FETCH = 100


def _emoji_key(raw: str) -> str:
    """``name:id`` for custom emoji, the unicode string otherwise (path values arrive URL-encoded)."""
    decoded = urllib.parse.unquote(raw)
    if not decoded:
        raise errors.unknown_emoji()
    return decoded


def _emoji_payload(key: str) -> JSONObject:
    if ":" in key:
        name, _, emoji_id = key.partition(":")
        return {"id": emoji_id, "name": name}
    return {"id": None, "name": key}


class MessageRoutes:
    def __init__(self, deps: RouteDeps) -> None:
        self._deps = deps
        self._state = deps.state

    def register(self, router: Router) -> None:
        add = router.add
        add("GET", "/channels/{channel_id}", self.get_channel)
        add("GET", "/channels/{channel_id}/messages", self.list_messages)
        add("POST", "/channels/{channel_id}/messages", self.create_message)
        add("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        add("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        add("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        add("POST", "/channels/{channel_id}/messages/bulk-delete", self.bulk_delete)
        reactions = "/channels/{channel_id}/messages/{message_id}/reactions"
        add("PUT", reactions + "/{emoji_name}/@me", self.add_reaction)
        add("DELETE", reactions + "/{emoji_name}/@me", self.remove_own_reaction)
        add("DELETE", reactions + "/{emoji_name}/{user_id}", self.remove_user_reaction)
        add("GET", reactions + "/{emoji_name}", self.list_reactions)
        add("DELETE", reactions + "/{emoji_name}", self.clear_emoji)
        add("DELETE", reactions, self.clear_reactions)
        for pins in ("/channels/{channel_id}/pins", "/channels/{channel_id}/messages/pins"):
            add("GET", pins, self.list_pins)
            add("PUT", pins + "/{message_id}", self.pin)
            add("DELETE", pins + "/{message_id}", self.unpin)
        add("POST", "/channels/{channel_id}/typing", self.typing)
        add("POST", "/channels/{channel_id}/webhooks", self.create_webhook)
        add("GET", "/channels/{channel_id}/webhooks", self.list_webhooks)

    # ---- helpers -----------------------------------------------------------------------------------------

    def _emit(self, channel_id: int, event: str, payload: JSONObject) -> None:
        channel = self._state.channels.get(channel_id)
        guild_id = None if channel is None else channel.guild_id
        if guild_id is not None:
            payload.setdefault("guild_id", str(guild_id))
        self._deps.emit(guild_id, event, payload)

    # ---- channels and messages ---------------------------------------------------------------------------

    def get_channel(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.VIEW_CHANNEL)
        return RestResult(200, channel.to_payload(self._state.users))

    def list_messages(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.VIEW_CHANNEL | perms.READ_MESSAGE_HISTORY)
        limit = ctx.query_limit(50, _MAX_FETCH)
        before = ctx.query_int("before", None)
        after = ctx.query_int("after", None)
        ids = sorted(self._state.channel_messages(channel.id), reverse=True)
        if before is not None:
            ids = [i for i in ids if i < before]
        if after is not None:
            ids = sorted(i for i in ids if i > after)[:limit]
            ids.reverse()
        messages = self._state.channel_messages(channel.id)
        return RestResult(200, [messages[i] for i in ids[:limit]])

    def create_message(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.VIEW_CHANNEL | perms.SEND_MESSAGES)
        if channel.guild_id is None and not all(
            self._state.users[uid].accepts_dms for uid in channel.recipient_ids if uid in self._state.users
        ):
            raise errors.cannot_message_user()
        body = ctx.json_object()
        validate_message_body(body)
        reference = body.get("message_reference")
        if (
            isinstance(reference, dict)
            and reference.get("message_id")
            and reference.get("fail_if_not_exists", True)
        ):
            reference_id = errors.snowflake_field(reference["message_id"], "message_reference")
            referenced = self._state.channel_messages(channel.id).get(reference_id)
            if referenced is None:
                raise errors.invalid_form_body(
                    {
                        "message_reference": errors.field_error(
                            "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                        )
                    }
                )
        message = build_message(self._state, channel_id=channel.id, author=self._state.bot_user, body=body)
        message["flags"] = int(message["flags"]) & ~(1 << 6)  # ephemeral is for interactions only
        self._state.channel_messages(channel.id)[int(message["id"])] = message
        channel.last_message_id = int(message["id"])
        if channel.is_thread:
            channel.message_count += 1
        self._emit(channel.id, "MESSAGE_CREATE", message)
        return RestResult(200, message)

    def get_message(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.VIEW_CHANNEL | perms.READ_MESSAGE_HISTORY)
        return RestResult(200, self._deps.message(channel.id, ctx.snowflake("message_id")))

    def edit_message(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        message = self._deps.message(channel.id, ctx.snowflake("message_id"))
        if message["author"]["id"] != str(self._state.bot_user.id):
            raise errors.DiscordHTTPError(403, 50005, "Cannot edit a message authored by another user")
        body = ctx.json_object()
        validate_message_body(body, require_content=False)
        edited = apply_edit(message, body, edited_at=iso_timestamp(self._state.snowflakes.next()))
        self._emit(channel.id, "MESSAGE_UPDATE", edited)
        return RestResult(200, edited)

    def delete_message(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        message = self._deps.message(channel.id, ctx.snowflake("message_id"))
        if message["author"]["id"] != str(self._state.bot_user.id):
            self._deps.require_bot_permissions(channel, perms.MANAGE_MESSAGES)
        self._remove(channel.id, int(message["id"]))
        self._emit(channel.id, "MESSAGE_DELETE", {"id": message["id"], "channel_id": str(channel.id)})
        return RestResult(204)

    def _remove(self, channel_id: int, message_id: int) -> None:
        self._state.channel_messages(channel_id).pop(message_id, None)
        self._state.reactions.pop(message_id, None)
        pins = self._state.pins.get(channel_id)
        if pins and message_id in pins:
            pins.remove(message_id)

    def bulk_delete(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.MANAGE_MESSAGES)
        ids = ctx.json_object().get("messages")
        if not isinstance(ids, list) or not 2 <= len(ids) <= 100:
            raise errors.invalid_form_body(
                {
                    "messages": errors.field_error(
                        "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length."
                    )
                }
            )
        for raw in [errors.snowflake_field(raw, "messages") for raw in ids]:
            self._remove(channel.id, raw)
        self._emit(
            channel.id, "MESSAGE_DELETE_BULK", {"ids": [str(i) for i in ids], "channel_id": str(channel.id)}
        )
        return RestResult(204)

    # ---- reactions ---------------------------------------------------------------------------------------

    def _reaction_target(self, ctx: RequestContext) -> tuple[int, JSONObject, str]:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        message = self._deps.message(channel.id, ctx.snowflake("message_id"))
        return channel.id, message, _emoji_key(ctx.params["emoji_name"])

    def _refresh_reaction_summary(self, message: JSONObject) -> None:
        by_emoji = self._state.reactions.get(int(message["id"]), {})
        bot_id = self._state.bot_user.id
        message["reactions"] = [
            {
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": bot_id in users,
                "me_burst": False,
                "emoji": _emoji_payload(key),
                "burst_colors": [],
            }
            for key, users in by_emoji.items()
            if users
        ]

    def _reaction_event(
        self, event: str, channel_id: int, message: JSONObject, key: str, user_id: int
    ) -> None:
        self._emit(
            channel_id,
            event,
            {
                "user_id": str(user_id),
                "channel_id": str(channel_id),
                "message_id": message["id"],
                "emoji": _emoji_payload(key),
                "burst": False,
                "type": 0,
            },
        )

    def add_reaction(self, ctx: RequestContext) -> RestResult:
        channel_id, message, key = self._reaction_target(ctx)
        self._deps.require_bot_permissions(self._deps.channel(channel_id), perms.ADD_REACTIONS)
        users = self._state.reactions.setdefault(int(message["id"]), {}).setdefault(key, [])
        bot_id = self._state.bot_user.id
        if bot_id not in users:
            users.append(bot_id)
            self._refresh_reaction_summary(message)
            self._reaction_event("MESSAGE_REACTION_ADD", channel_id, message, key, bot_id)
        return RestResult(204)

    def _remove_reaction(self, channel_id: int, message: JSONObject, key: str, user_id: int) -> None:
        users = self._state.reactions.get(int(message["id"]), {}).get(key, [])
        if user_id in users:
            users.remove(user_id)
            self._refresh_reaction_summary(message)
            self._reaction_event("MESSAGE_REACTION_REMOVE", channel_id, message, key, user_id)

    def remove_own_reaction(self, ctx: RequestContext) -> RestResult:
        channel_id, message, key = self._reaction_target(ctx)
        self._remove_reaction(channel_id, message, key, self._state.bot_user.id)
        return RestResult(204)

    def remove_user_reaction(self, ctx: RequestContext) -> RestResult:
        channel_id, message, key = self._reaction_target(ctx)
        self._deps.require_bot_permissions(self._deps.channel(channel_id), perms.MANAGE_MESSAGES)
        self._remove_reaction(channel_id, message, key, ctx.snowflake("user_id"))
        return RestResult(204)

    def list_reactions(self, ctx: RequestContext) -> RestResult:
        _, message, key = self._reaction_target(ctx)
        users = self._state.reactions.get(int(message["id"]), {}).get(key, [])
        limit = ctx.query_limit(25, 100)
        return RestResult(
            200, [self._state.users[u].to_payload() for u in users[:limit] if u in self._state.users]
        )

    def clear_emoji(self, ctx: RequestContext) -> RestResult:
        channel_id, message, key = self._reaction_target(ctx)
        self._deps.require_bot_permissions(self._deps.channel(channel_id), perms.MANAGE_MESSAGES)
        self._state.reactions.get(int(message["id"]), {}).pop(key, None)
        self._refresh_reaction_summary(message)
        self._emit(
            channel_id,
            "MESSAGE_REACTION_REMOVE_EMOJI",
            {"channel_id": str(channel_id), "message_id": message["id"], "emoji": _emoji_payload(key)},
        )
        return RestResult(204)

    def clear_reactions(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        message = self._deps.message(channel.id, ctx.snowflake("message_id"))
        self._deps.require_bot_permissions(channel, perms.MANAGE_MESSAGES)
        self._state.reactions.pop(int(message["id"]), None)
        message["reactions"] = []
        self._emit(
            channel.id,
            "MESSAGE_REACTION_REMOVE_ALL",
            {"channel_id": str(channel.id), "message_id": message["id"]},
        )
        return RestResult(204)

    # ---- pins, typing, webhooks --------------------------------------------------------------------------

    def list_pins(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        messages = self._state.channel_messages(channel.id)
        pinned = [messages[i] for i in reversed(self._state.pins.get(channel.id, [])) if i in messages]
        if ctx.template.endswith("/messages/pins"):
            items = [{"pinned_at": m.get("edited_timestamp") or m["timestamp"], "message": m} for m in pinned]
            return RestResult(200, {"items": items, "has_more": False})
        return RestResult(200, pinned)

    def _pins_changed(self, channel_id: int) -> None:
        self._emit(
            channel_id,
            "CHANNEL_PINS_UPDATE",
            {
                "channel_id": str(channel_id),
                "last_pin_timestamp": iso_timestamp(self._state.snowflakes.next()),
            },
        )

    def pin(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        message = self._deps.message(channel.id, ctx.snowflake("message_id"))
        self._deps.require_bot_permissions(channel, perms.MANAGE_MESSAGES)
        pins = self._state.pins.setdefault(channel.id, [])
        if int(message["id"]) not in pins:
            if len(pins) >= 250:
                raise errors.DiscordHTTPError(400, 30003, "Maximum number of pins reached (250)")
            pins.append(int(message["id"]))
            message["pinned"] = True
            self._pins_changed(channel.id)
        return RestResult(204)

    def unpin(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        message = self._deps.message(channel.id, ctx.snowflake("message_id"))
        self._deps.require_bot_permissions(channel, perms.MANAGE_MESSAGES)
        pins = self._state.pins.get(channel.id, [])
        if int(message["id"]) in pins:
            pins.remove(int(message["id"]))
            message["pinned"] = False
            self._pins_changed(channel.id)
        return RestResult(204)

    def typing(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.SEND_MESSAGES)
        return RestResult(204)

    def create_webhook(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.MANAGE_WEBHOOKS)
        name = ctx.json_object().get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 80:
            raise errors.invalid_form_body(
                {"name": errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length.")}
            )
        webhook = Webhook(
            id=self._state.snowflakes.next(),
            token=secrets.token_urlsafe(48),
            channel_id=channel.id,
            guild_id=channel.guild_id,
            name=name,
            user_id=self._state.bot_user.id,
        )
        self._state.webhooks[webhook.id] = webhook
        return RestResult(200, webhook.to_payload(self._state.users))

    def list_webhooks(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        self._deps.require_bot_permissions(channel, perms.MANAGE_WEBHOOKS)
        return RestResult(
            200,
            [
                w.to_payload(self._state.users)
                for w in self._state.webhooks.values()
                if w.channel_id == channel.id
            ],
        )
