"""Discord's JSON error bodies, raised by route handlers and rendered by the REST server.

Why an exception and not return values: a handler finds a problem several calls deep (an unknown channel
inside a permission check inside a message edit) and Discord answers every such problem the same way, with a
status and a JSON body ``{"message", "code"[, "errors"]}``. One exception type carries that to the server.
The constructors below name the codes the bot is expected to handle, so tests read like the docs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON = Any


class DiscordHTTPError(Exception):
    """A REST failure rendered as Discord renders it."""

    def __init__(
        self, status: int, code: int, message: str, errors: Mapping[str, JSON] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, JSON]:
        payload: dict[str, JSON] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            payload["errors"] = dict(self.errors)
        return payload


def field_error(code: str, message: str) -> dict[str, JSON]:
    """One entry of a 50035 ``errors`` tree: ``{"_errors": [{"code", "message"}]}``."""
    return {"_errors": [{"code": code, "message": message}]}


def invalid_form_body(errors: Mapping[str, JSON]) -> DiscordHTTPError:
    return DiscordHTTPError(400, 50035, "Invalid Form Body", errors)


def snowflake_field(value: object, field: str) -> int:
    """A snowflake from a body field (int or numeric string); 50035 naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid_form_body(
            {field: field_error("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')}
        )
    try:
        number = int(value)
    except ValueError:
        raise invalid_form_body(
            {field: field_error("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')}
        ) from None
    if number < 0:
        raise invalid_form_body(
            {field: field_error("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')}
        )
    return number


def int_field(value: object, field: str) -> int:
    """An integer body field (``flags``, ``type``); 50035 naming ``field`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid_form_body({field: field_error("NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')})
    return value


def unauthorized() -> DiscordHTTPError:
    return DiscordHTTPError(401, 0, "401: Unauthorized")


def not_found() -> DiscordHTTPError:
    return DiscordHTTPError(404, 0, "404: Not Found")


def method_not_allowed() -> DiscordHTTPError:
    return DiscordHTTPError(405, 0, "405: Method Not Allowed")


def unknown_channel() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10003, "Unknown Channel")


def unknown_guild() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10004, "Unknown Guild")


def unknown_member() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10007, "Unknown Member")


def unknown_message() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10008, "Unknown Message")


def unknown_role() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10011, "Unknown Role")


def unknown_user() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10013, "Unknown User")


def unknown_ban() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10026, "Unknown Ban")


def unknown_emoji() -> DiscordHTTPError:
    return DiscordHTTPError(400, 10014, "Unknown Emoji")


def unknown_webhook() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10015, "Unknown Webhook")


def unknown_application_command() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10063, "Unknown application command")


def unknown_interaction() -> DiscordHTTPError:
    return DiscordHTTPError(404, 10062, "Unknown interaction")


def already_acknowledged() -> DiscordHTTPError:
    return DiscordHTTPError(400, 40060, "Interaction has already been acknowledged.")


def empty_message() -> DiscordHTTPError:
    return DiscordHTTPError(400, 50006, "Cannot send an empty message")


def missing_permissions() -> DiscordHTTPError:
    return DiscordHTTPError(403, 50013, "Missing Permissions")


def invalid_webhook_token() -> DiscordHTTPError:
    return DiscordHTTPError(401, 50027, "Invalid Webhook Token")


def malformed_json() -> DiscordHTTPError:
    return DiscordHTTPError(400, 50109, "The request body contains invalid JSON.")


def missing_access() -> DiscordHTTPError:
    return DiscordHTTPError(403, 50001, "Missing Access")


def cannot_message_user() -> DiscordHTTPError:
    return DiscordHTTPError(403, 50007, "Cannot send messages to this user")
