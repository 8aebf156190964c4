"""REST routes that change channels and threads: edit, delete, start threads, join them, list active ones.

Why threads get their own care: the bot's stats and moderation features follow threads (creation pings,
per-thread message counts), and Discord treats a thread as a channel with a parent — permissions come from
the parent, a thread started from a message takes that message's id, and archiving is an edit. These
handlers keep those rules and emit the CHANNEL_* / THREAD_* events Discord sends.
"""

from __future__ import annotations

from typing import Any

from protocol.emulator import errors
from protocol.emulator import permissions as perms
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.route_deps import RouteDeps
from protocol.emulator.state import PRIVATE_THREAD, Channel, JSONObject

_THREAD_DURATIONS = (60, 1440, 4320, 10080)


def _name_problem(name: object, *, required: bool) -> JSONObject | None:
    if name is None and not required:
        return None
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        return {"name": errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")}
    return None


class ChannelRoutes:
    def __init__(self, deps: RouteDeps) -> None:
        self._deps = deps
        self._state = deps.state

    def register(self, router: Router) -> None:
        router.add("PATCH", "/channels/{channel_id}", self.edit_channel)
        router.add("DELETE", "/channels/{channel_id}", self.delete_channel)
        router.add("POST", "/channels/{channel_id}/threads", self.start_thread)
        router.add(
            "POST", "/channels/{channel_id}/messages/{message_id}/threads", self.start_thread_from_message
        )
        router.add("PUT", "/channels/{channel_id}/thread-members/@me", self.join_thread)
        router.add("DELETE", "/channels/{channel_id}/thread-members/@me", self.leave_thread)
        router.add("GET", "/guilds/{guild_id}/threads/active", self.active_threads)

    def _event_name(self, channel: Channel, action: str) -> str:
        return f"THREAD_{action}" if channel.is_thread else f"CHANNEL_{action}"

    def edit_channel(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        if channel.guild_id is None:
            raise errors.DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
        body = ctx.json_object()
        is_owner = channel.owner_id == self._state.bot_user.id
        needed = perms.MANAGE_THREADS if channel.is_thread else perms.MANAGE_CHANNELS
        if not (channel.is_thread and is_owner):
            self._deps.require_bot_permissions(channel, needed)
        problem = _name_problem(body.get("name"), required=False)
        if problem:
            raise errors.invalid_form_body(problem)
        self._apply_edit(channel, body)
        payload = channel.to_payload()
        self._deps.emit(channel.guild_id, self._event_name(channel, "UPDATE"), payload)
        return RestResult(200, payload)

    def _apply_edit(self, channel: Channel, body: JSONObject) -> None:
        if "name" in body:
            channel.name = body["name"]
        if "rate_limit_per_user" in body:
            channel.rate_limit_per_user = errors.int_field(body["rate_limit_per_user"], "rate_limit_per_user")
        if channel.is_thread:
            for key in ("archived", "locked"):
                if key in body:
                    value = body[key]
                    if not isinstance(value, bool):
                        raise errors.invalid_form_body(
                            {key: errors.field_error("BASE_TYPE_BOOLEAN", "Must be a boolean.")}
                        )
                    setattr(channel, key, value)
            return
        if "topic" in body:
            topic = body["topic"]
            if topic is not None and (not isinstance(topic, str) or len(topic) > 1024):
                raise errors.invalid_form_body(
                    {"topic": errors.field_error("BASE_TYPE_MAX_LENGTH", "Must be 1024 or fewer in length.")}
                )
            channel.topic = topic
        if "nsfw" in body:
            channel.nsfw = bool(body["nsfw"])

    def delete_channel(self, ctx: RequestContext) -> RestResult:
        channel = self._deps.channel(ctx.snowflake("channel_id"))
        if channel.guild_id is None:
            return RestResult(200, channel.to_payload(self._state.users))  # closing a DM
        self._deps.require_bot_permissions(
            channel, perms.MANAGE_THREADS if channel.is_thread else perms.MANAGE_CHANNELS
        )
        payload = channel.to_payload()
        self._state.remove_channel(channel.id)
        if channel.is_thread:
            event: dict[str, Any] = {
                "id": payload["id"],
                "guild_id": payload["guild_id"],
                "parent_id": payload["parent_id"],
                "type": channel.type,
            }
            self._deps.emit(channel.guild_id, "THREAD_DELETE", event)
        else:
            self._deps.emit(channel.guild_id, "CHANNEL_DELETE", payload)
        return RestResult(200, payload)

    def _start(self, parent: Channel, body: JSONObject, *, from_message: int | None) -> RestResult:
        if parent.guild_id is None or parent.is_thread:
            raise errors.DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
        self._deps.require_bot_permissions(parent, perms.VIEW_CHANNEL)
        problem = _name_problem(body.get("name"), required=True)
        if problem:
            raise errors.invalid_form_body(problem)
        duration = body.get("auto_archive_duration", 1440)
        if duration not in _THREAD_DURATIONS:
            raise errors.invalid_form_body(
                {
                    "auto_archive_duration": errors.field_error(
                        "BASE_TYPE_CHOICES", "Value must be one of 60, 1440, 4320, 10080."
                    )
                }
            )
        private = from_message is None and body.get("type") == PRIVATE_THREAD
        thread = self._state.create_thread(
            parent.id, body["name"], self._state.bot_user.id, private=private, thread_id=from_message
        )
        thread.auto_archive_duration = int(duration)
        payload = thread.to_payload()
        self._deps.emit(thread.guild_id, "THREAD_CREATE", dict(payload, newly_created=True))
        return RestResult(201, payload)

    def start_thread(self, ctx: RequestContext) -> RestResult:
        parent = self._deps.channel(ctx.snowflake("channel_id"))
        return self._start(parent, ctx.json_object(), from_message=None)

    def start_thread_from_message(self, ctx: RequestContext) -> RestResult:
        parent = self._deps.channel(ctx.snowflake("channel_id"))
        message = self._deps.message(parent.id, ctx.snowflake("message_id"))
        if int(message["id"]) in self._state.channels:
            raise errors.DiscordHTTPError(400, 160004, "A thread has already been created for this message")
        return self._start(parent, ctx.json_object(), from_message=int(message["id"]))

    def _thread(self, ctx: RequestContext) -> Channel:
        thread = self._deps.channel(ctx.snowflake("channel_id"))
        if not thread.is_thread:
            raise errors.DiscordHTTPError(400, 50024, "Cannot execute action on this channel type")
        return thread

    def join_thread(self, ctx: RequestContext) -> RestResult:
        thread = self._thread(ctx)
        if thread.archived:
            raise errors.DiscordHTTPError(400, 50083, "Thread is archived")
        if self._state.bot_user.id not in thread.member_ids:
            thread.member_ids.append(self._state.bot_user.id)
        return RestResult(204)

    def leave_thread(self, ctx: RequestContext) -> RestResult:
        thread = self._thread(ctx)
        if self._state.bot_user.id in thread.member_ids:
            thread.member_ids.remove(self._state.bot_user.id)
        return RestResult(204)

    def active_threads(self, ctx: RequestContext) -> RestResult:
        guild = self._deps.guild(ctx.snowflake("guild_id"))
        threads = [self._state.channels[t] for t in guild.thread_ids if not self._state.channels[t].archived]
        return RestResult(
            200, {"threads": [t.to_payload() for t in threads], "members": [], "has_more": False}
        )
