"""REST routes for application commands, global and per guild, with Discord's validation.

Why validate as strictly as Discord: command sync is where bots fail at deploy time (a 33-character name, a
description over 100 characters, a required option after an optional one, 26 choices). The emulator answers
such a body with the same 50035 error tree Discord sends, so the command system's tests catch it before a
real deploy does. Bulk overwrite keeps a command's id when its name and type are unchanged and bumps its
``version`` only when its content changed, which is what lets the sync code detect "nothing to do".
"""

from __future__ import annotations

import re
from typing import Any

from protocol.emulator import errors
from protocol.emulator.rest_router import RequestContext, RestResult, Router
from protocol.emulator.route_deps import RouteDeps
from protocol.emulator.state import JSONObject

_NAME = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")
CHAT_INPUT = 1
MAX_OPTIONS = 25
MAX_CHOICES = 25
_COMPARED_FIELDS = (
    "name",
    "name_localizations",
    "description",
    "description_localizations",
    "options",
    "default_member_permissions",
    "nsfw",
    "contexts",
    "integration_types",
    "type",
)


def validate_command(body: Any) -> dict[str, Any] | None:
    """The 50035 error tree for an invalid command body, or None."""
    if not isinstance(body, dict):
        return errors.field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    problems: dict[str, Any] = {}
    command_type = body.get("type", CHAT_INPUT)
    if command_type not in (1, 2, 3, 4):
        problems["type"] = errors.field_error("BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4}.")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        problems["name"] = errors.field_error("BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    elif command_type == CHAT_INPUT and (not _NAME.match(name) or name != name.lower()):
        problems["name"] = errors.field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    description = body.get("description", "")
    if command_type == CHAT_INPUT:
        if not isinstance(description, str) or not 1 <= len(description) <= 100:
            problems["description"] = errors.field_error(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
            )
    elif description:
        problems["description"] = errors.field_error(
            "APPLICATION_COMMAND_CONTEXT_MENU_DESCRIPTION", "Context menu commands cannot have description"
        )
    options = body.get("options")
    if options is not None:
        option_problems = _validate_options(options, depth=0)
        if option_problems:
            problems["options"] = option_problems
    return problems or None


def _validate_options(options: Any, depth: int) -> dict[str, Any] | None:
    if not isinstance(options, list):
        return errors.field_error("BASE_TYPE_LIST", "Must be a list.")
    if len(options) > MAX_OPTIONS:
        return errors.field_error("BASE_TYPE_MAX_LENGTH", f"Must be {MAX_OPTIONS} or fewer in length.")
    problems: dict[str, Any] = {}
    seen_optional = False
    names: set[str] = set()
    for index, option in enumerate(options):
        if not isinstance(option, dict):
            problems[str(index)] = errors.field_error("DICT_TYPE_CONVERT", "Only dictionaries may be used")
            continue
        here = _option_problems(option, depth, names)
        if option.get("type") not in (1, 2):
            if option.get("required") and seen_optional:
                here["required"] = errors.field_error(
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
            seen_optional = seen_optional or not option.get("required")
        if here:
            problems[str(index)] = here
    return problems or None


def _option_problems(option: dict[str, Any], depth: int, names: set[str]) -> dict[str, Any]:
    """Problems of one option on its own (ordering rules are checked by the caller)."""
    here: dict[str, Any] = {}
    kind = option.get("type")
    if not isinstance(kind, int) or not 1 <= kind <= 11:
        here["type"] = errors.field_error("BASE_TYPE_CHOICES", "Value must be one of 1..11.")
    name = option.get("name")
    if not isinstance(name, str) or not _NAME.match(name) or name != name.lower():
        here["name"] = errors.field_error("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    elif name in names:
        here["name"] = errors.field_error(
            "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"
        )
    else:
        names.add(name)
    description = option.get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= 100:
        here["description"] = errors.field_error(
            "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    if kind in (1, 2):
        if depth >= (1 if kind == 2 else 2):
            here["type"] = errors.field_error(
                "APPLICATION_COMMAND_SUBCOMMAND_DEPTH", "Subcommands nested too deeply"
            )
        nested = option.get("options")
        nested_problems = None if nested is None else _validate_options(nested, depth + 1)
        if nested_problems:
            here["options"] = nested_problems
        return here
    choices = option.get("choices")
    if isinstance(choices, list) and len(choices) > MAX_CHOICES:
        here["choices"] = errors.field_error("BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    if choices and option.get("autocomplete"):
        here["autocomplete"] = errors.field_error(
            "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID", "Autocomplete cannot be used with choices"
        )
    return here


def _normalised(body: JSONObject) -> JSONObject:
    return {field: body.get(field) for field in _COMPARED_FIELDS}


class CommandRoutes:
    """Handlers for ``/applications/{application_id}[/guilds/{guild_id}]/commands[/{command_id}]``."""

    def __init__(self, deps: RouteDeps) -> None:
        self._deps = deps
        self._state = deps.state

    def register(self, router: Router) -> None:
        for base in (
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ):
            router.add("GET", base, self.list_commands)
            router.add("PUT", base, self.bulk_overwrite)
            router.add("POST", base, self.create)
            router.add("GET", base + "/{command_id}", self.get_one)
            router.add("PATCH", base + "/{command_id}", self.edit)
            router.add("DELETE", base + "/{command_id}", self.delete)
        guild_base = "/applications/{application_id}/guilds/{guild_id}/commands"
        router.add("GET", guild_base + "/permissions", self.list_permissions)
        router.add("GET", guild_base + "/{command_id}/permissions", self.get_permissions)

    def _table(self, ctx: RequestContext) -> tuple[dict[int, JSONObject], int | None]:
        if ctx.snowflake("application_id") != self._state.application.id:
            raise errors.missing_access()
        if "guild_id" in ctx.params:
            guild_id = ctx.snowflake("guild_id")
            self._deps.guild(guild_id)
            return self._state.guild_commands.setdefault(guild_id, {}), guild_id
        return self._state.global_commands, None

    def _build(self, body: JSONObject, guild_id: int | None, existing: JSONObject | None) -> JSONObject:
        snowflakes = self._state.snowflakes
        command_type = int(body.get("type", CHAT_INPUT))
        command: JSONObject = {
            "id": existing["id"] if existing else str(snowflakes.next()),
            "application_id": str(self._state.application.id),
            "version": existing["version"] if existing else str(snowflakes.next()),
            "default_member_permissions": body.get("default_member_permissions"),
            "type": command_type,
            "name": body["name"],
            "name_localizations": body.get("name_localizations"),
            "description": body.get("description", "") if command_type == CHAT_INPUT else "",
            "description_localizations": body.get("description_localizations"),
            "dm_permission": body.get("dm_permission", True),
            "contexts": body.get("contexts"),
            "integration_types": body.get("integration_types", [0]),
            "nsfw": bool(body.get("nsfw", False)),
        }
        if body.get("options"):
            command["options"] = body["options"]
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
        if existing is not None and _normalised(existing) != _normalised(command):
            command["version"] = str(snowflakes.next())
        return command

    def list_commands(self, ctx: RequestContext) -> RestResult:
        commands, _ = self._table(ctx)
        return RestResult(200, list(commands.values()))

    def bulk_overwrite(self, ctx: RequestContext) -> RestResult:
        commands, guild_id = self._table(ctx)
        body = ctx.body
        if not isinstance(body, list):
            raise errors.invalid_form_body(
                {"_errors": [{"code": "BASE_TYPE_LIST", "message": "Must be a list."}]}
            )
        problems: dict[str, Any] = {
            str(i): p for i, c in enumerate(body) if (p := validate_command(c)) is not None
        }
        if problems:
            raise errors.invalid_form_body(problems)
        keys = [(c.get("name"), c.get("type", CHAT_INPUT)) for c in body]
        if len(set(keys)) != len(keys):
            duplicate = {
                "code": "APPLICATION_COMMANDS_DUPLICATE_NAME",
                "message": "Command names must be unique",
            }
            raise errors.invalid_form_body({"_errors": [duplicate]})
        if len(body) > 100:
            raise errors.invalid_form_body(
                {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 100 or fewer in length."}]}
            )
        by_key = {(c["name"], c["type"]): c for c in commands.values()}
        fresh = [self._build(c, guild_id, by_key.get((c["name"], c.get("type", CHAT_INPUT)))) for c in body]
        commands.clear()
        commands.update({int(c["id"]): c for c in fresh})
        return RestResult(200, fresh)

    def create(self, ctx: RequestContext) -> RestResult:
        commands, guild_id = self._table(ctx)
        body = ctx.json_object()
        problems = validate_command(body)
        if problems:
            raise errors.invalid_form_body(problems)
        wanted = (body["name"], body.get("type", CHAT_INPUT))
        existing = next((c for c in commands.values() if (c["name"], c["type"]) == wanted), None)
        command = self._build(body, guild_id, existing)
        commands[int(command["id"])] = command
        return RestResult(200 if existing else 201, command)

    def _find(self, ctx: RequestContext) -> tuple[dict[int, JSONObject], JSONObject, int | None]:
        commands, guild_id = self._table(ctx)
        command = commands.get(ctx.snowflake("command_id"))
        if command is None:
            raise errors.unknown_application_command()
        return commands, command, guild_id

    def get_one(self, ctx: RequestContext) -> RestResult:
        return RestResult(200, self._find(ctx)[1])

    def edit(self, ctx: RequestContext) -> RestResult:
        commands, command, guild_id = self._find(ctx)
        merged = {**command, **ctx.json_object()}
        problems = validate_command(merged)
        if problems:
            raise errors.invalid_form_body(problems)
        updated = self._build(merged, guild_id, command)
        commands[int(updated["id"])] = updated
        return RestResult(200, updated)

    def list_permissions(self, ctx: RequestContext) -> RestResult:
        """No per-command permission overwrites exist in the emulator: an empty list."""
        self._table(ctx)
        return RestResult(200, [])

    def get_permissions(self, ctx: RequestContext) -> RestResult:
        self._find(ctx)
        raise errors.DiscordHTTPError(404, 10066, "Unknown application command permissions")

    def delete(self, ctx: RequestContext) -> RestResult:
        commands, command, _ = self._find(ctx)
        del commands[int(command["id"])]
        return RestResult(204)
