"""Message bodies: validation with Discord's error shapes, and building stored message objects.

Why one module for both channel messages and interaction replies: Discord validates every message body the
same way wherever it is sent (content length, embed count, component rows, custom_id length), and a bot
that builds a bad body should get the same 50035 error from ``POST /channels/{id}/messages`` as from an
interaction callback. Stored messages keep Discord's wire shape so GET returns exactly what was created.
"""

from __future__ import annotations

import re
from typing import Any

from protocol.emulator import errors
from protocol.emulator.component_rules import components_problems
from protocol.emulator.message_flags import EPHEMERAL
from protocol.emulator.state import EmulatorState, JSONObject, User, iso_timestamp

MAX_CONTENT = 2000
MAX_EMBEDS = 10
_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def validate_message_body(body: JSONObject, *, require_content: bool = True) -> None:
    """Raise Discord's errors for an invalid message body."""
    problems: dict[str, Any] = {}
    flags = body.get("flags")
    if flags is not None and (isinstance(flags, bool) or not isinstance(flags, int) or flags < 0):
        problems["flags"] = errors.field_error("NUMBER_TYPE_COERCE", f'Value "{flags}" is not int.')
    content = body.get("content")
    if content is not None and not isinstance(content, str):
        problems["content"] = errors.field_error("BASE_TYPE_STRING", "Must be a string.")
    elif isinstance(content, str) and len(content) > MAX_CONTENT:
        problems["content"] = errors.field_error(
            "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT} or fewer in length."
        )
    embeds = body.get("embeds")
    if embeds is not None:
        embeds_problem = _embeds_problem(embeds)
        if embeds_problem:
            problems["embeds"] = embeds_problem
    components = body.get("components")
    if components is not None:
        component_problems = components_problems(components, flags if isinstance(flags, int) else 0)
        if component_problems:
            problems["components"] = component_problems
    if problems:
        raise errors.invalid_form_body(problems)
    if require_content and not (
        content
        or embeds
        or components
        or body.get("sticker_ids")
        or body.get("attachments")
        or body.get("poll")
    ):
        raise errors.empty_message()


def _embeds_problem(embeds: object) -> dict[str, Any] | None:
    if not isinstance(embeds, list):
        return errors.field_error("BASE_TYPE_LIST", "Must be a list.")
    if len(embeds) > MAX_EMBEDS:
        return errors.field_error("BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
    problems = {
        str(index): problem for index, embed in enumerate(embeds) if (problem := _embed_problem(embed))
    }
    return problems or None


def _embed_problem(embed: object) -> dict[str, Any] | None:
    if not isinstance(embed, dict):
        return errors.field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    limits = {"title": 256, "description": 4096}
    for key, limit in limits.items():
        value = embed.get(key)
        if isinstance(value, str) and len(value) > limit:
            return {key: errors.field_error("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")}
    fields = embed.get("fields")
    if isinstance(fields, list) and len(fields) > 25:
        return {"fields": errors.field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")}
    return None


def stored_embeds(embeds: list[JSONObject] | None) -> list[JSONObject]:
    """Embeds as Discord returns them: ``type`` "rich" unless given, every field with ``inline``."""
    stored = []
    for embed in embeds or []:
        copy = dict(embed, type=embed.get("type", "rich"))
        if "fields" in copy:
            copy["fields"] = [
                dict(field, inline=bool(field.get("inline", False))) for field in copy["fields"]
            ]
        stored.append(copy)
    return stored


def stored_components(components: list[JSONObject] | None) -> list[JSONObject]:
    """Components as Discord returns them: each gets a numeric ``id`` (depth first, from 1) when the bot
    gave none, as Discord assigns them."""
    counter = iter(range(1, 1_000_000))

    def number(component: JSONObject) -> JSONObject:
        copy = dict(component)
        copy.setdefault("id", next(counter))
        if isinstance(copy.get("components"), list):
            copy["components"] = [number(child) for child in copy["components"] if isinstance(child, dict)]
        if isinstance(copy.get("accessory"), dict):
            copy["accessory"] = number(copy["accessory"])
        return copy

    return [number(c) for c in components or [] if isinstance(c, dict)]


def build_message(
    state: EmulatorState,
    *,
    channel_id: int,
    author: User,
    body: JSONObject,
    message_id: int | None = None,
    webhook_id: int | None = None,
    interaction_metadata: JSONObject | None = None,
    message_type: int = 0,
) -> JSONObject:
    """A message object in Discord's shape from a create body."""
    mid = message_id or state.snowflakes.next()
    channel = state.channels.get(channel_id)
    content = body.get("content") or ""
    mentions = [
        state.users[int(uid)].to_payload() for uid in _MENTION.findall(content) if int(uid) in state.users
    ]
    message: JSONObject = {
        "id": str(mid),
        "type": message_type,
        "channel_id": str(channel_id),
        "author": author.to_payload(),
        "content": content,
        "timestamp": iso_timestamp(mid),
        "edited_timestamp": None,
        "tts": bool(body.get("tts", False)),
        "mention_everyone": "@everyone" in content,
        "mentions": mentions,
        "mention_roles": _ROLE_MENTION.findall(content),
        "attachments": list(body.get("attachments") or []),
        "embeds": stored_embeds(body.get("embeds")),
        "components": stored_components(body.get("components")),
        "pinned": False,
        "flags": int(body.get("flags") or 0),
    }
    if channel is not None and channel.guild_id is not None:
        message["guild_id"] = str(channel.guild_id)
    if webhook_id is not None:
        message["webhook_id"] = str(webhook_id)
    if interaction_metadata is not None:
        message["interaction_metadata"] = interaction_metadata
        message["application_id"] = str(state.application.id)
    reference = body.get("message_reference")
    if isinstance(reference, dict) and reference.get("message_id"):
        message["type"] = 19
        message["message_reference"] = {
            "type": 0,
            "message_id": str(reference["message_id"]),
            "channel_id": str(reference.get("channel_id", channel_id)),
        }
    if body.get("poll") is not None:
        message["poll"] = body["poll"]
    return message


def apply_edit(message: JSONObject, body: JSONObject, *, edited_at: str) -> JSONObject:
    """Apply a PATCH body to a stored message (fields absent from the body are kept)."""
    for key in ("content", "embeds", "components", "attachments", "flags", "poll"):
        if key in body:
            value = body[key]
            if key == "embeds":
                value = stored_embeds(value)
            elif key == "components":
                value = stored_components(value)
            elif key == "flags":
                value = (int(message.get("flags", 0)) & EPHEMERAL) | int(value or 0)
            message[key] = value if value is not None else ([] if key != "content" else "")
    message["edited_timestamp"] = edited_at
    return message
