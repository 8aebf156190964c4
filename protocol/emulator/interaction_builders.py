"""Building real INTERACTION_CREATE payloads for tests: slash commands, components, modals, menus.

Why build from the registered commands: a slash invocation carries typed options (a user option arrives as
a snowflake string with ``resolved.users`` and ``resolved.members``, an integer as a JSON number, a
subcommand as a nested option of type 1 inside a group of type 2). When the bot has registered the command
(``PUT /applications/{id}/commands``), the builder reads the option types from that registration, so the
payload is exactly what Discord would send for the command the bot declared. When it has not, the types are
inferred from the Python values, which is enough for a quick test.

Building registers the interaction (so callbacks with its token are accepted) but does not dispatch it;
``Emulator.invoke`` and friends do both.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import trio

from protocol.emulator.config import EmulatorConfig
from protocol.emulator.interaction_records import (
    Interaction,
    InteractionReply,
    InteractionStore,
    InteractionType,
)
from protocol.emulator.state import EmulatorState, JSONObject

SUB_COMMAND = 1
SUB_COMMAND_GROUP = 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11

CHAT_INPUT, USER_COMMAND, MESSAGE_COMMAND = 1, 2, 3

BUTTON = 2
STRING_SELECT = 3
TEXT_INPUT = 4
USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT = 5, 6, 7, 8
SELECTS = frozenset({STRING_SELECT, USER_SELECT, ROLE_SELECT, MENTIONABLE_SELECT, CHANNEL_SELECT})
LABEL = 18


class ComponentDisabledError(Exception):
    """A script tried to use a component the message shows as disabled."""


class InteractionBuilder:
    """``emu.interactions``: builds and registers interaction payloads as a given user."""

    def __init__(self, state: EmulatorState, store: InteractionStore, config: EmulatorConfig) -> None:
        self._state = state
        self._store = store
        self._config = config
        self._fake_command_ids: dict[str, int] = {}

    # ---- public builders --------------------------------------------------------------------------------

    def slash(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, object] | None = None,
        *,
        channel_id: int | None = None,
        locale: str = "en-US",
    ) -> JSONObject:
        """A chat-input command invocation; ``name`` may be "cmd", "cmd sub" or "cmd group sub"."""
        interaction = self._slash(
            guild_id, user_id, name, options or {}, channel_id=channel_id, focused=None, locale=locale
        )
        return interaction.payload

    def autocomplete(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, object],
        focused: str,
        *,
        channel_id: int | None = None,
    ) -> JSONObject:
        """An autocomplete request while the user types ``options[focused]``."""
        return self._slash(
            guild_id, user_id, name, options, channel_id=channel_id, focused=focused, locale="en-US"
        ).payload

    def user_command(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        target_user_id: int,
        *,
        channel_id: int | None = None,
    ) -> JSONObject:
        resolved: JSONObject = {
            "users": {str(target_user_id): self._state.users[target_user_id].to_payload()}
        }
        if guild_id is not None and target_user_id in self._state.guilds[guild_id].members:
            member = self._state.member_payload(guild_id, target_user_id, with_user=False)
            member["permissions"] = str(self._state.guild_permissions(guild_id, target_user_id))
            resolved["members"] = {str(target_user_id): member}
        data = self._command_data(guild_id, name, USER_COMMAND)
        data.update(target_id=str(target_user_id), resolved=resolved)
        return self._register(
            InteractionType.APPLICATION_COMMAND, guild_id, user_id, channel_id=channel_id, data=data
        ).payload

    def message_command(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        message: JSONObject,
        *,
        channel_id: int | None = None,
    ) -> JSONObject:
        data = self._command_data(guild_id, name, MESSAGE_COMMAND)
        data.update(target_id=message["id"], resolved={"messages": {message["id"]: message}})
        channel = channel_id or int(message["channel_id"])
        return self._register(
            InteractionType.APPLICATION_COMMAND, guild_id, user_id, channel_id=channel, data=data
        ).payload

    def component(
        self,
        message: JSONObject | InteractionReply,
        custom_id: str,
        user_id: int,
        values: Sequence[str] | None = None,
        *,
        component_type: int | None = None,
    ) -> JSONObject:
        """A click on a button (or a choice in a select) of ``message`` by ``user_id``.

        The component type is read from the message; a custom_id that is not on the message (a forged one)
        is still sent, as a button unless ``component_type`` says otherwise. A disabled component raises
        `ComponentDisabledError`: a user cannot click it."""
        source = _message_of(message)
        found = _find_component(source.get("components") or [], custom_id)
        if found is not None and found.get("disabled"):
            raise ComponentDisabledError(
                f"component {custom_id!r} is disabled; Discord's client cannot use it"
            )
        kind = component_type or (int(found["type"]) if found is not None else BUTTON)
        data: JSONObject = {"custom_id": custom_id, "component_type": kind}
        if kind != BUTTON:
            data["values"] = [str(v) for v in values or []]
            resolved = self._resolve_select(kind, data["values"], _guild_of(source))
            if resolved:
                data["resolved"] = resolved
        guild_id = _guild_of(source)
        interaction = self._register(
            InteractionType.MESSAGE_COMPONENT,
            guild_id,
            user_id,
            channel_id=int(source["channel_id"]),
            data=data,
            source_message=source,
        )
        return interaction.payload

    def modal_submit(
        self,
        guild_id: int | None,
        user_id: int,
        custom_id: str,
        fields: Mapping[str, str | Sequence[str]],
        *,
        channel_id: int | None = None,
        message: JSONObject | None = None,
        modal: JSONObject | None = None,
    ) -> JSONObject:
        """A modal submitted with ``fields`` (component custom_id -> text, or values for a select).

        With the ``modal`` the bot opened, the submission mirrors its layout (Labels or Action Rows, text
        inputs and selects, with their ids) as Discord's client sends it; a field the modal does not have
        raises KeyError. Without it, each field is a text input in an Action Row."""
        resolved: JSONObject = {}
        if modal is not None:
            components = self._modal_answers(modal.get("components") or [], fields, guild_id, resolved)
        else:
            components = [
                {
                    "type": 1,
                    "components": [{"type": TEXT_INPUT, "id": index + 1, "custom_id": key, "value": value}],
                }
                for index, (key, value) in enumerate(fields.items())
            ]
        data: JSONObject = {"custom_id": custom_id, "components": components}
        if resolved:
            data["resolved"] = resolved
        return self._register(
            InteractionType.MODAL_SUBMIT,
            guild_id,
            user_id,
            channel_id=channel_id,
            data=data,
            source_message=message,
        ).payload

    def _modal_answers(
        self,
        layout: list[JSONObject],
        fields: Mapping[str, str | Sequence[str]],
        guild_id: int | None,
        resolved: JSONObject,
    ) -> list[JSONObject]:
        known = {c.get("custom_id") for c in _walk_components(layout) if c.get("custom_id")}
        unknown = set(fields) - known
        if unknown:
            raise KeyError(f"the modal has no component(s) {sorted(unknown)}")
        counter = iter(range(1, 10_000))

        def answer(component: JSONObject) -> JSONObject:
            kind = int(component.get("type", 0))
            given_id = component.get("id")
            out: JSONObject = {"type": kind, "id": given_id if given_id is not None else next(counter)}
            if kind == 1:
                out["components"] = [answer(child) for child in component.get("components") or []]
            elif kind == LABEL:
                out["component"] = answer(component.get("component") or {})
            elif kind == TEXT_INPUT:
                value = fields.get(str(component.get("custom_id")), component.get("value") or "")
                out.update(custom_id=component.get("custom_id"), value=str(value))
            elif kind in SELECTS:
                raw = fields.get(str(component.get("custom_id")), [])
                values = [raw] if isinstance(raw, str) else [str(v) for v in raw]
                out.update(custom_id=component.get("custom_id"), values=values)
                for key, entries in self._resolve_select(kind, values, guild_id).items():
                    resolved.setdefault(key, {}).update(entries)
            return out

        return [answer(component) for component in layout]

    # ---- lookups ---------------------------------------------------------------------------------------

    def get(self, payload: JSONObject) -> Interaction:
        return self._store.by_id[int(payload["id"])]

    # ---- internals --------------------------------------------------------------------------------------

    def _slash(
        self,
        guild_id: int | None,
        user_id: int,
        name: str,
        options: Mapping[str, object],
        *,
        channel_id: int | None,
        focused: str | None,
        locale: str,
    ) -> Interaction:
        path = name.split()
        data = self._command_data(guild_id, path[0], CHAT_INPUT)
        command = self._find_command(guild_id, path[0], CHAT_INPUT)
        definitions: list[JSONObject] = list(command.get("options") or []) if command else []
        nesting: list[tuple[str, int]] = []
        for part in path[1:]:
            definition = next((d for d in definitions if d.get("name") == part), None)
            if definition is not None:
                kind = int(definition["type"])
            else:
                kind = SUB_COMMAND_GROUP if len(path) == 3 and part == path[1] else SUB_COMMAND
            nesting.append((part, kind))
            definitions = list(definition.get("options") or []) if definition else []
        resolved: JSONObject = {}
        leaf = [
            self._option(
                key, value, definitions, guild_id=guild_id, resolved=resolved, focused=focused == key
            )
            for key, value in options.items()
        ]
        for part, kind in reversed(nesting):
            leaf = [{"name": part, "type": kind, "options": leaf}]
        if leaf:
            data["options"] = leaf
        if resolved:
            data["resolved"] = resolved
        kind = (
            InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE
            if focused
            else InteractionType.APPLICATION_COMMAND
        )
        return self._register(kind, guild_id, user_id, channel_id=channel_id, data=data, locale=locale)

    def _find_command(self, guild_id: int | None, name: str, command_type: int) -> JSONObject | None:
        for command in self._state.all_commands(guild_id):
            if command.get("name") == name and int(command.get("type", 1)) == command_type:
                return command
        return None

    def _command_data(self, guild_id: int | None, name: str, command_type: int) -> JSONObject:
        command = self._find_command(guild_id, name, command_type)
        if command is not None:
            command_id = int(command["id"])
        else:
            command_id = self._fake_command_ids.setdefault(
                f"{command_type}:{name}", self._state.snowflakes.next()
            )
        data: JSONObject = {"id": str(command_id), "name": name, "type": command_type}
        if command is not None and command.get("guild_id") is not None:
            data["guild_id"] = command["guild_id"]
        return data

    def _option(
        self,
        name: str,
        value: object,
        definitions: list[JSONObject],
        *,
        guild_id: int | None,
        resolved: JSONObject,
        focused: bool,
    ) -> JSONObject:
        definition = next((d for d in definitions if d.get("name") == name), None)
        kind = int(definition["type"]) if definition is not None else _infer_type(value)
        option: JSONObject = {"name": name, "type": kind}
        if focused:
            option["value"] = str(value)
            option["focused"] = True
            return option
        if kind == INTEGER:
            option["value"] = int(str(value))
        elif kind == NUMBER:
            option["value"] = float(str(value))
        elif kind == BOOLEAN:
            option["value"] = value if isinstance(value, bool) else str(value).lower() in ("true", "yes", "1")
        elif kind in (USER, CHANNEL, ROLE, MENTIONABLE):
            snowflake = int(str(value).strip("<@#&!>"))
            option["value"] = str(snowflake)
            self._resolve(kind, snowflake, guild_id, resolved)
        else:
            option["value"] = str(value)
        return option

    def _resolve(self, kind: int, snowflake: int, guild_id: int | None, resolved: JSONObject) -> None:
        state = self._state
        if kind in (USER, MENTIONABLE) and snowflake in state.users:
            resolved.setdefault("users", {})[str(snowflake)] = state.users[snowflake].to_payload()
            if guild_id is not None and snowflake in state.guilds[guild_id].members:
                member = state.member_payload(guild_id, snowflake, with_user=False)
                member["permissions"] = str(state.guild_permissions(guild_id, snowflake))
                resolved.setdefault("members", {})[str(snowflake)] = member
            return
        if kind in (ROLE, MENTIONABLE) and guild_id is not None:
            role = state.guilds[guild_id].roles.get(snowflake)
            if role is not None:
                resolved.setdefault("roles", {})[str(snowflake)] = role.to_payload()
            return
        if kind == CHANNEL and snowflake in state.channels:
            channel = state.channels[snowflake].to_payload()
            channel["permissions"] = str(state.channel_permissions(snowflake, state.bot_user.id))
            resolved.setdefault("channels", {})[str(snowflake)] = channel

    def _resolve_select(self, kind: int, values: list[str], guild_id: int | None) -> JSONObject:
        option_kind = {
            USER_SELECT: USER,
            ROLE_SELECT: ROLE,
            MENTIONABLE_SELECT: MENTIONABLE,
            CHANNEL_SELECT: CHANNEL,
        }
        if kind not in option_kind:
            return {}
        resolved: JSONObject = {}
        for value in values:
            self._resolve(option_kind[kind], int(value), guild_id, resolved)
        return resolved

    def _default_channel(self, guild_id: int | None, user_id: int) -> int:
        if guild_id is None:
            return self._state.dm_channel(user_id).id
        guild = self._state.guilds[guild_id]
        for channel_id in guild.channel_ids:
            if self._state.channels[channel_id].type == 0:
                return channel_id
        raise LookupError(f"guild {guild_id} has no text channel to invoke in")

    def _register(
        self,
        kind: InteractionType,
        guild_id: int | None,
        user_id: int,
        *,
        channel_id: int | None,
        data: JSONObject,
        source_message: JSONObject | None = None,
        locale: str = "en-US",
    ) -> Interaction:
        state = self._state
        channel = channel_id or self._default_channel(guild_id, user_id)
        interaction_id = state.snowflakes.next()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(48)
        payload: JSONObject = {
            "id": str(interaction_id),
            "application_id": str(state.application.id),
            "type": int(kind),
            "data": data,
            "channel_id": str(channel),
            "channel": state.channels[channel].to_payload(state.users),
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": str(state.channel_permissions(channel, state.bot_user.id)),
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if guild_id is not None:
            member = state.member_payload(guild_id, user_id)
            member["permissions"] = str(state.channel_permissions(channel, user_id))
            payload.update(
                guild_id=str(guild_id),
                guild={"id": str(guild_id), "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member,
                context=0,
                authorizing_integration_owners={"0": str(guild_id)},
            )
        else:
            payload.update(
                user=state.users[user_id].to_payload(),
                context=1,
                authorizing_integration_owners={"1": str(user_id)},
            )
        if source_message is not None:
            payload["message"] = source_message
        now = trio.current_time()
        interaction = Interaction(
            id=interaction_id,
            token=token,
            type=kind,
            payload=payload,
            guild_id=guild_id,
            channel_id=channel,
            user_id=user_id,
            created_at=now,
            deadline=self._config.interaction_deadline,
            token_lifetime=self._config.interaction_token_lifetime,
            source_message=source_message,
        )
        self._store.add(interaction)
        return interaction


def _infer_type(value: object) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    return STRING


def _message_of(message: JSONObject | InteractionReply) -> JSONObject:
    if isinstance(message, InteractionReply):
        if message.message is None:
            raise LookupError("this reply has no message to act on")
        return message.message
    return message


def _guild_of(message: JSONObject) -> int | None:
    guild_id = message.get("guild_id")
    return None if guild_id is None else int(guild_id)


def _walk_components(components: list[Any]) -> Iterator[JSONObject]:
    for component in components:
        if isinstance(component, dict):
            yield component
            yield from _walk_components(component.get("components") or [])
            for key in ("accessory", "component"):  # a Section's accessory, a Label's component
                child = component.get(key)
                if isinstance(child, dict):
                    yield from _walk_components([child])


def _find_component(components: list[Any], custom_id: str) -> JSONObject | None:
    return next((c for c in _walk_components(components) if c.get("custom_id") == custom_id), None)
