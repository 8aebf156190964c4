"""REST routes for answering interactions: the callback, follow-ups and the original response.

Why these enforce the rules so carefully: the bot's command system is built around them (answer within
3 s or defer, one acknowledgement only, follow-ups within 15 minutes, ephemeral flags), and mistakes here are
what users see as "The application did not respond". The emulator answers exactly as Discord does: a late
or unknown callback is 10062, a second acknowledgement 40060, an expired token 50027, a wrong callback type
for the interaction a 50035 naming ``type``.

Every answer updates the interaction's `InteractionReply`, so tests read what the user saw.
"""

from __future__ import annotations

import trio

from protocol.emulator import errors
from protocol.emulator.interaction_records import (
    CallbackType,
    Interaction,
    InteractionReply,
    InteractionType,
)
from protocol.emulator.message_flags import EPHEMERAL, LOADING
from protocol.emulator.messages import apply_edit, build_message, validate_message_body
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.route_deps import RouteDeps
from protocol.emulator.state import JSONObject, User, iso_timestamp

_CALLBACK_TYPES: frozenset[int] = frozenset(CallbackType)
_ALLOWED_CALLBACKS: dict[InteractionType, frozenset[int]] = {
    InteractionType.PING: frozenset({CallbackType.PONG}),
    InteractionType.APPLICATION_COMMAND: frozenset(
        {
            CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
            CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            CallbackType.MODAL,
        }
    ),
    InteractionType.MESSAGE_COMPONENT: frozenset(
        {
            CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
            CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            CallbackType.DEFERRED_UPDATE_MESSAGE,
            CallbackType.UPDATE_MESSAGE,
            CallbackType.MODAL,
        }
    ),
    InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE: frozenset(
        {CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT}
    ),
    InteractionType.MODAL_SUBMIT: frozenset(
        {
            CallbackType.CHANNEL_MESSAGE_WITH_SOURCE,
            CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            CallbackType.DEFERRED_UPDATE_MESSAGE,
            CallbackType.UPDATE_MESSAGE,
        }
    ),
}


def _type_error(message: str) -> errors.DiscordHTTPError:
    return errors.invalid_form_body(
        {"type": errors.field_error("INTERACTION_CALLBACK_TYPE_INVALID", message)}
    )


def _modal_problems(data: JSONObject) -> JSONObject:
    """Discord's checks on a modal: custom_id (1-100), title (1-45), 1-5 top-level components."""
    problems: JSONObject = {
        key: errors.field_error("BASE_TYPE_REQUIRED", "This field is required")
        for key in ("custom_id", "title", "components")
        if not data.get(key)
    }
    title, custom_id, components = data.get("title"), data.get("custom_id"), data.get("components")
    if "title" not in problems and (not isinstance(title, str) or len(title) > 45):
        problems["title"] = errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 45 in length.")
    if "custom_id" not in problems and (not isinstance(custom_id, str) or len(custom_id) > 100):
        problems["custom_id"] = errors.field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    if "components" not in problems and (not isinstance(components, list) or len(components) > 5):
        problems["components"] = errors.field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
        )
    return problems


def _callback_response(interaction: Interaction, reply: InteractionReply) -> JSONObject:
    """The ``?with_response=true`` body: the interaction, and the message resource for types 4 and 7."""
    body: JSONObject = {
        "interaction": {
            "id": str(interaction.id),
            "type": int(interaction.type),
            "activity_instance_id": None,
            "response_message_id": None if reply.message is None else reply.message["id"],
            "response_message_loading": reply.loading,
            "response_message_ephemeral": reply.ephemeral,
        }
    }
    if reply.message is not None and reply.type in (4, 7):
        body["resource"] = {"type": reply.type, "message": reply.message}
    return body


class InteractionRoutes:
    """Handlers for one emulator's interaction endpoints."""

    def __init__(self, deps: RouteDeps) -> None:
        self._deps = deps
        self._state = deps.state

    def register(self, router: Router) -> None:
        router.add(
            "POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.callback,
            authenticated=False, interaction=True, unmetered=True,
        )  # fmt: skip
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        router.add("POST", hook, self.execute, authenticated=False, interaction=True)
        for suffix in ("/messages/@original", "/messages/{message_id}"):
            router.add("GET", hook + suffix, self.get_message, authenticated=False, interaction=True)
            router.add("PATCH", hook + suffix, self.edit_message, authenticated=False, interaction=True)
            router.add("DELETE", hook + suffix, self.delete_message, authenticated=False, interaction=True)

    # ---- callback --------------------------------------------------------------------------------------

    def callback(self, ctx: RequestContext) -> RestResult:
        interaction = self._deps.interactions.by_id.get(ctx.snowflake("interaction_id"))
        if interaction is None or interaction.token != ctx.params["interaction_token"]:
            raise errors.unknown_interaction()
        now = trio.current_time()
        if interaction.acknowledged:
            raise errors.already_acknowledged()
        if interaction.failed or interaction.deadline_passed(now):
            interaction.fail()
            raise errors.unknown_interaction()
        body = ctx.json_object()
        kind = body.get("type")
        if not isinstance(kind, int) or kind not in _CALLBACK_TYPES:
            raise _type_error("Value must be a valid interaction callback type.")
        if kind not in _ALLOWED_CALLBACKS[interaction.type]:
            raise _type_error(
                f"Callback type {kind} is not valid for interaction type {int(interaction.type)}."
            )
        data = body.get("data") or {}
        if not isinstance(data, dict):
            raise errors.invalid_form_body(
                {"data": errors.field_error("DICT_TYPE_CONVERT", "Must be an object.")}
            )
        reply = self._answer(interaction, CallbackType(kind), data)
        interaction.reply = reply
        interaction.touch()
        if ctx.query.get("with_response", "").lower() in ("true", "1"):
            return RestResult(200, _callback_response(interaction, reply))
        return RestResult(204)

    def _answer(self, interaction: Interaction, kind: CallbackType, data: JSONObject) -> InteractionReply:
        reply = InteractionReply(type=int(kind))
        if kind == CallbackType.CHANNEL_MESSAGE_WITH_SOURCE:
            validate_message_body(data)
            reply.message = self._create_message(interaction, data, original=True)
        elif kind == CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE:
            flags = (errors.int_field(data.get("flags") or 0, "flags") & EPHEMERAL) | LOADING
            reply.deferred = True
            reply.message = self._create_message(interaction, {"content": "", "flags": flags}, original=True)
        elif kind == CallbackType.DEFERRED_UPDATE_MESSAGE:
            reply.deferred = True
            reply.message = interaction.source_message
        elif kind == CallbackType.UPDATE_MESSAGE:
            source = interaction.source_message
            if source is None:
                raise _type_error("This interaction has no message to update.")
            validate_message_body(data, require_content=False)
            reply.message = self._edit(source, data)
        elif kind == CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT:
            choices = data.get("choices")
            if not isinstance(choices, list) or len(choices) > 25:
                raise errors.invalid_form_body(
                    {
                        "data": {
                            "choices": errors.field_error(
                                "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
                            )
                        }
                    }
                )
            reply.choices = choices
        elif kind == CallbackType.MODAL:
            problems = _modal_problems(data)
            if problems:
                raise errors.invalid_form_body({"data": problems})
            reply.modal = data
        reply.sync_from_message()
        if kind == CallbackType.DEFERRED_UPDATE_MESSAGE:
            reply.loading = False
        return reply

    def _create_message(self, interaction: Interaction, body: JSONObject, *, original: bool) -> JSONObject:
        state = self._state
        metadata = {
            "id": str(interaction.id),
            "type": int(interaction.type),
            "user": state.users[interaction.user_id].to_payload(),
            "authorizing_integration_owners": interaction.payload.get("authorizing_integration_owners", {}),
        }
        if interaction.source_message is not None:
            metadata["interacted_message_id"] = interaction.source_message["id"]
        message_type = 0
        if interaction.type == InteractionType.APPLICATION_COMMAND and original:
            command_type = int(interaction.payload["data"].get("type", 1))
            message_type = 20 if command_type == 1 else 23
        message = build_message(
            state,
            channel_id=interaction.channel_id,
            author=state.bot_user,
            body=body,
            webhook_id=state.application.id,
            interaction_metadata=metadata,
            message_type=message_type,
        )
        self._store(message)
        return message

    def _store(self, message: JSONObject) -> None:
        if int(message.get("flags") or 0) & EPHEMERAL:
            self._state.ephemeral_messages[int(message["id"])] = message
            return
        channel_id = int(message["channel_id"])
        self._state.channel_messages(channel_id)[int(message["id"])] = message
        channel = self._state.channels.get(channel_id)
        if channel is not None:
            channel.last_message_id = int(message["id"])
        self._emit_message("MESSAGE_CREATE", message)

    def _emit_message(self, event: str, message: JSONObject) -> None:
        if int(message.get("flags") or 0) & EPHEMERAL:
            return
        guild_id = message.get("guild_id")
        self._deps.emit(None if guild_id is None else int(guild_id), event, message)

    def _edit(self, message: JSONObject, body: JSONObject) -> JSONObject:
        edited = apply_edit(message, body, edited_at=iso_timestamp(self._state.snowflakes.next()))
        edited["flags"] = int(edited.get("flags") or 0) & ~LOADING  # any edit ends "thinking"
        self._emit_message("MESSAGE_UPDATE", edited)
        return edited

    # ---- webhooks (follow-ups and @original) -------------------------------------------------------------

    def _interaction_for(self, ctx: RequestContext) -> Interaction | None:
        interaction = self._deps.interactions.by_token.get(ctx.params["webhook_token"])
        if interaction is None:
            return None
        if ctx.snowflake("webhook_id") != self._state.application.id:
            raise errors.unknown_webhook()
        if interaction.token_expired(trio.current_time()):
            raise errors.invalid_webhook_token()
        return interaction

    def execute(self, ctx: RequestContext) -> RestResult:
        interaction = self._interaction_for(ctx)
        if interaction is None:
            return self._execute_plain_webhook(ctx)
        if interaction.reply is None:
            raise errors.unknown_webhook()
        body = ctx.json_object()
        validate_message_body(body)
        reply = interaction.reply
        original = reply.message
        if (
            reply.loading
            and original is not None
            and reply.type == CallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
        ):
            # The first follow-up after a deferred reply replaces the "thinking" message.
            body = dict(body, flags=int(original.get("flags") or 0) & EPHEMERAL)
            message = self._edit(original, body)
        else:
            message = self._create_message(interaction, body, original=False)
            reply.followups.append(message)
        reply.sync_from_message()
        interaction.touch()
        return RestResult(200, message)

    def _execute_plain_webhook(self, ctx: RequestContext) -> RestResult:
        webhook = self._state.webhooks.get(ctx.snowflake("webhook_id"))
        if webhook is None or webhook.token != ctx.params["webhook_token"]:
            raise errors.unknown_webhook()
        body = ctx.json_object()
        validate_message_body(body)
        author = User(id=webhook.id, username=webhook.name, bot=True)
        message = build_message(
            self._state, channel_id=webhook.channel_id, author=author, body=body, webhook_id=webhook.id
        )
        self._store(message)
        if ctx.query.get("wait", "").lower() in ("true", "1"):
            return RestResult(200, message)
        return RestResult(204)

    def _target(self, ctx: RequestContext) -> tuple[Interaction, JSONObject]:
        interaction = self._interaction_for(ctx)
        if interaction is None:
            raise errors.unknown_webhook()
        reply = interaction.reply
        if reply is None:
            raise errors.unknown_message()
        if "message_id" not in ctx.params:
            if reply.message is None or reply.deleted:
                raise errors.unknown_message()
            return interaction, reply.message
        wanted = ctx.params["message_id"]
        for message in reply.all_messages():
            if message["id"] == wanted:
                return interaction, message
        raise errors.unknown_message()

    def get_message(self, ctx: RequestContext) -> RestResult:
        return RestResult(200, self._target(ctx)[1])

    def edit_message(self, ctx: RequestContext) -> RestResult:
        interaction, message = self._target(ctx)
        body = ctx.json_object()
        validate_message_body(body, require_content=False)
        edited = self._edit(message, body)
        reply = interaction.reply
        assert reply is not None
        reply.edits += 1
        reply.sync_from_message()
        interaction.touch()
        return RestResult(200, edited)

    def delete_message(self, ctx: RequestContext) -> RestResult:
        interaction, message = self._target(ctx)
        reply = interaction.reply
        assert reply is not None
        message_id = int(message["id"])
        channel_id = int(message["channel_id"])
        self._state.ephemeral_messages.pop(message_id, None)
        if self._state.channel_messages(channel_id).pop(message_id, None) is not None:
            payload: JSONObject = {"id": str(message_id), "channel_id": str(channel_id)}
            if "guild_id" in message:
                payload["guild_id"] = message["guild_id"]
            self._deps.emit(
                None if "guild_id" not in message else int(message["guild_id"]), "MESSAGE_DELETE", payload
            )
        if reply.message is message:
            reply.deleted = True
        else:
            reply.followups = [m for m in reply.followups if m is not message]
        interaction.touch()
        return RestResult(204)
