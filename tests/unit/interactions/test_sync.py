"""Command sync: diff against Discord's commands, write only when different."""

from __future__ import annotations

from typing import Any

from shard.interactions import CommandSyncer, diff_commands, normalise_command
from tests.fixtures.interactions import APP_ID, GUILD_ID, Bot, RecordingRest


def _writes(rest: RecordingRest) -> list[Any]:
    return [c for c in rest.calls if c.method == "PUT"]


async def test_first_sync_writes_then_nothing_when_unchanged(bot: Bot) -> None:
    rest = RecordingRest()
    syncer = CommandSyncer(rest, APP_ID)
    payloads = bot.registry.payloads()
    first = await syncer.sync(payloads)
    assert first.written and len(first.diff.added) == len(payloads)
    assert "/ping" in first.diff.added and "user:Inspect" in first.diff.added
    second = await syncer.sync(payloads)
    assert not second.written and second.diff.empty
    assert len(_writes(rest)) == 1
    assert second.diff.render() == "global: up to date"


async def test_a_changed_description_or_option_is_detected_and_written(bot: Bot) -> None:
    rest = RecordingRest()
    syncer = CommandSyncer(rest, APP_ID)
    payloads = bot.registry.payloads()
    await syncer.sync(payloads, guild_id=GUILD_ID)
    changed = [dict(p) for p in payloads]
    ping = next(p for p in changed if p["name"] == "ping")
    ping["description"] = "Something else"
    echo = next(p for p in changed if p["name"] == "echo")
    echo["options"] = [dict(echo["options"][0], max_length=30), *echo["options"][1:]]
    dropped = [p for p in changed if p["name"] != "shutdown"]
    diff = await syncer.diff(dropped, guild_id=GUILD_ID)
    assert diff.scope == f"guild {GUILD_ID}"
    assert diff.removed == ("/shutdown",)
    assert dict(diff.changed) == {"/echo": ("options",), "/ping": ("description",)}
    assert "~ /ping (description)" in diff.render()
    result = await syncer.sync(dropped, guild_id=GUILD_ID)
    assert result.written and len(_writes(rest)) == 2
    assert rest.commands[GUILD_ID] == dropped
    assert rest.commands.get(None) is None  # the guild sync never touched global commands


def test_discord_defaults_and_extra_fields_do_not_count_as_differences() -> None:
    ours = {
        "type": 1,
        "name": "x",
        "description": "d",
        "options": [{"type": 3, "name": "a", "description": "b"}],
    }
    theirs = {
        "id": "1",
        "application_id": "2",
        "version": "3",
        "name": "x",
        "description": "d",
        "description_localizations": None,
        "default_member_permissions": None,
        "nsfw": False,
        "options": [{"type": 3, "name": "a", "description": "b", "required": False, "autocomplete": False}],
        "integration_types": [0],
    }
    assert normalise_command(ours) == normalise_command(theirs)
    assert diff_commands("global", [ours], [theirs]).empty
    assert not diff_commands("global", [ours], [{**theirs, "default_member_permissions": "8"}]).empty
