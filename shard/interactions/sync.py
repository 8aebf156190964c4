"""Command sync: compare the commands we define with Discord's, and write only when they differ.

Why diff instead of overwriting at every start: a bulk overwrite counts against a tight daily limit on
command creates, makes Discord re-propagate every command, and — done on every reconnect, as some bots do —
turns a flapping connection into a rate-limit storm. So sync is an explicit step (at start-up, or
``shard commands sync``), never wired to the gateway's READY.

Discord answers with fields we never send (ids, versions, localisations, defaults filled in) and omits
fields that equal their defaults, so both sides are first *normalised*: every key we may send is present
with its default, everything else is dropped, options are compared in order (order is meaningful to
Discord), choices too. Two command sets are equal iff their normalised forms are equal; the diff lists
added, removed and changed commands (with the changed keys) for ``shard commands diff``.

The development profile syncs to one test guild (guild commands update instantly); production syncs
globally. `CommandSyncer.sync` does both the diff and, when needed, the one ``PUT``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from shard.interactions.rest import GLOBAL_COMMANDS, GUILD_COMMANDS, DiscordRest

log = logging.getLogger(__name__)

_OPTION_DEFAULTS: dict[str, Any] = {
    "required": False,
    "choices": None,
    "options": None,
    "channel_types": None,
    "min_value": None,
    "max_value": None,
    "min_length": None,
    "max_length": None,
    "autocomplete": False,
}


def _normalise_option(option: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": option.get("type"),
        "name": option.get("name"),
        "description": option.get("description", ""),
    }
    for key, default in _OPTION_DEFAULTS.items():
        value = option.get(key)
        if value is None or value in ([], default):
            value = default
        if key == "options" and value:
            value = [_normalise_option(o) for o in value]
        elif key == "choices" and value:
            value = [{"name": c.get("name"), "value": c.get("value")} for c in value]
        elif key == "channel_types" and value:
            value = sorted(value)
        out[key] = value
    return out


def normalise_command(command: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable form of a command payload (ours or Discord's)."""
    options = command.get("options") or []
    permissions = command.get("default_member_permissions")
    contexts = command.get("contexts")
    return {
        "type": command.get("type") or 1,
        "name": command.get("name"),
        "description": command.get("description") or "",
        "options": [_normalise_option(o) for o in options],
        "default_member_permissions": None if permissions is None else str(permissions),
        "nsfw": bool(command.get("nsfw", False)),
        "contexts": None if contexts is None else sorted(contexts),
    }


@attrs.frozen
class CommandDiff:
    """What a sync would change in one scope (global, or one guild)."""

    scope: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def render(self) -> str:
        if self.empty:
            return f"{self.scope}: up to date"
        lines = [f"{self.scope}:"]
        lines += [f"  + {name}" for name in self.added]
        lines += [f"  - {name}" for name in self.removed]
        lines += [f"  ~ {name} ({', '.join(keys)})" for name, keys in self.changed]
        return "\n".join(lines)


def _key(command: Mapping[str, Any]) -> str:
    kind = command["type"]
    prefix = {1: "/", 2: "user:", 3: "message:"}.get(kind, f"type{kind}:")
    return f"{prefix}{command['name']}"


def diff_commands(
    scope: str, local: Sequence[Mapping[str, Any]], remote: Sequence[Mapping[str, Any]]
) -> CommandDiff:
    ours = {_key(n): n for n in map(normalise_command, local)}
    theirs = {_key(n): n for n in map(normalise_command, remote)}
    changed = []
    for name in sorted(ours.keys() & theirs.keys()):
        keys = tuple(k for k in ours[name] if ours[name][k] != theirs[name][k])
        if keys:
            changed.append((name, keys))
    return CommandDiff(
        scope=scope,
        added=tuple(sorted(ours.keys() - theirs.keys())),
        removed=tuple(sorted(theirs.keys() - ours.keys())),
        changed=tuple(changed),
    )


@attrs.frozen
class SyncResult:
    diff: CommandDiff
    written: bool


class CommandSyncer:
    """Diffs and (when different) bulk-overwrites the application's commands in one scope."""

    def __init__(self, rest: DiscordRest, application_id: int) -> None:
        self._rest = rest
        self._application_id = application_id

    async def _remote(self, guild_id: int | None) -> list[Mapping[str, Any]]:
        if guild_id is None:
            answer = await self._rest.request("GET", GLOBAL_COMMANDS, application_id=self._application_id)
        else:
            answer = await self._rest.request(
                "GET", GUILD_COMMANDS, application_id=self._application_id, guild_id=guild_id
            )
        return [c for c in answer or [] if isinstance(c, Mapping)]

    async def diff(self, payloads: Sequence[Mapping[str, Any]], guild_id: int | None = None) -> CommandDiff:
        scope = "global" if guild_id is None else f"guild {guild_id}"
        return diff_commands(scope, payloads, await self._remote(guild_id))

    async def sync(self, payloads: Sequence[Mapping[str, Any]], guild_id: int | None = None) -> SyncResult:
        """Write ``payloads`` with one bulk overwrite if (and only if) they differ from Discord's."""
        diff = await self.diff(payloads, guild_id)
        if diff.empty:
            log.info("commands %s: up to date, nothing written", diff.scope)
            return SyncResult(diff, written=False)
        body = [dict(p) for p in payloads]
        if guild_id is None:
            await self._rest.request("PUT", GLOBAL_COMMANDS, json=body, application_id=self._application_id)
        else:
            await self._rest.request(
                "PUT", GUILD_COMMANDS, json=body, application_id=self._application_id, guild_id=guild_id
            )
        log.info("commands %s: wrote %d commands\n%s", diff.scope, len(body), diff.render())
        return SyncResult(diff, written=True)
