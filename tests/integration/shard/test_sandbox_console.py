"""The sandbox console against the real emulator, with a small stand-in bot answering over its REST API.

The stand-in answers the way the command framework does (a reply with components, an in-place update after a
click, an ephemeral error reply carrying an error id), so these tests exercise the console end to end:
parse → emulator interaction → REST callback → recorded reply → rendered text and numbered components.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import trio

from protocol.emulator import Emulator, Interaction
from shard.sandbox.console import SandboxConsole

PING_COMPONENTS = [
    {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "again", "label": "Again"}]},
    {
        "type": 1,
        "components": [
            {
                "type": 3,
                "custom_id": "colour",
                "placeholder": "Pick a colour",
                "options": [{"label": "Red", "value": "red"}, {"label": "Blue", "value": "blue"}],
            }
        ],
    },
]


def answer_for(interaction: Interaction, username: str) -> dict[str, Any] | None:
    data = interaction.payload.get("data") or {}
    if interaction.type == 2:
        options = {o["name"]: o.get("value") for o in data.get("options") or []}
        match data.get("name"):
            case "ping":
                return {"type": 4, "data": {"content": f"Pong, {username}!", "components": PING_COMPONENTS}}
            case "echo":
                return {"type": 4, "data": {"content": f"echo: {options.get('text')}"}}
            case "fail":
                content = "Something went wrong (error id `deadbeef`)"
                return {"type": 4, "data": {"content": content, "flags": 64}}
            case "slow":
                return None
    if interaction.type == 3:
        if data.get("custom_id") == "again":
            return {"type": 7, "data": {"content": "Pong again!", "components": []}}
        if data.get("custom_id") == "colour":
            return {"type": 4, "data": {"content": f"You chose {', '.join(data['values'])}", "flags": 64}}
    return None


async def stand_in_bot(emu: Emulator) -> None:
    answered: set[int] = set()
    async with httpx.AsyncClient(base_url=emu.api_base, timeout=5) as client:
        while True:
            for interaction in emu.interaction_store.values():
                if interaction.id in answered or interaction.reply is not None:
                    continue
                answered.add(interaction.id)
                username = emu.state.users[interaction.user_id].username
                body = answer_for(interaction, username)
                if body is not None:
                    url = f"/interactions/{interaction.id}/{interaction.token}/callback"
                    response = await client.post(url, json=body)
                    assert response.status_code == 204, response.text
            await trio.sleep(0.005)


@pytest.fixture
async def emulator(nursery: trio.Nursery) -> AsyncIterator[Emulator]:
    async with Emulator.running() as emu:
        nursery.start_soon(stand_in_bot, emu)
        yield emu


def console_for(emu: Emulator, lines: list[str], **kwargs: Any) -> SandboxConsole:
    return SandboxConsole(emu, lines.append, reply_timeout_s=kwargs.pop("reply_timeout_s", 5.0), **kwargs)


async def test_script_with_commands_clicks_selects_and_members(emulator: Emulator) -> None:
    out: list[str] = []
    console = console_for(emulator, out, health_text=lambda: "root  one_for_one  RUNNING")
    script = [
        "# a comment",
        "/ping",
        ":select 2 Blue",
        ":click 1",
        ":as moderator",
        '/echo text:"Never trust a rat: or a Goblin"',
        "/echo text:Never trust a rat",
        ":health",
    ]
    status = await console.run_script(script)
    text = "\n".join(out)
    assert status == 0, text
    owner = emulator.sandbox_guild.owner.username
    moderator = emulator.sandbox_guild.moderator.username
    assert f"{owner}> /ping\nPong, {owner}!\n[1] Again\n[2] ▾ Pick a colour: Red (red), Blue (blue)" in text
    assert "(ephemeral)\nYou chose blue" in text  # the label was mapped to the option's value
    assert "Pong again!" in text
    assert f"(now acting as {moderator})" in text
    assert "echo: Never trust a rat: or a Goblin" in text
    assert "echo: Never trust a rat\n" in text
    assert "root  one_for_one  RUNNING" in text


async def test_error_replies_and_mistakes_make_the_script_fail(emulator: Emulator) -> None:
    out: list[str] = []
    console = console_for(emulator, out, reply_timeout_s=0.3)
    status = await console.run_script(
        [
            "/fail",
            ":click 1",
            ":as nobody",
            "/echo text:",
            "/slow",
            "/ping",
            ":click 9",
            ":select 2 green",
            ":click 1",  # the update removed the view ...
            ":click 1",  # ... so there is nothing left to click
        ]
    )
    text = "\n".join(out)
    assert status == 1
    assert "error id `deadbeef`" in text
    assert "there is no reply to act on yet" in text or "no component 1" in text
    assert "no member 'nobody'" in text
    assert "^ option has no value" in text
    assert "(no answer within 0.3 s)" in text
    assert "no component 9 on the last reply (available: 1, 2)" in text
    assert "'green' is not an option of select 2 (options: red, blue)" in text
    assert "Pong again!" in text and "(available: none)" in text
    assert console.failures == 8


async def test_quit_stops_the_script_and_a_crashed_bot_fails_it(emulator: Emulator) -> None:
    out: list[str] = []
    assert await console_for(emulator, out).run_script(["/ping", ":quit", "/fail"]) == 0
    assert not any("deadbeef" in line for line in out)

    crashed = console_for(emulator, [], bot_failure=lambda: "SupervisorEscalation: root gave up")
    assert await crashed.run_script(["/ping", "/ping"]) == 1
    assert crashed.failures == 1
