"""Fuzzing every REST route with arbitrary JSON bodies and path values: the emulator answers each with a
Discord-style status (never a 500 from a handler bug), and the server state stays usable."""

from __future__ import annotations

from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.emulator import Emulator, EmulatorConfig, RouteLimit
from tests.fixtures.emulator import call_rest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
message_like = st.fixed_dictionaries(
    {},
    optional={
        "content": st.one_of(st.text(max_size=30), st.integers(-(2**40), 2**40), st.none()),
        "embeds": st.one_of(st.lists(json_values, max_size=3), st.text(max_size=3)),
        "components": st.one_of(st.lists(json_values, max_size=3), st.integers(-5, 5)),
        "flags": st.one_of(st.integers(-5, 1 << 20), st.text(max_size=3)),
        "type": st.integers(-1, 12),
        "data": json_values,
        "name": st.text(max_size=40),
        "description": st.text(max_size=120),
        "options": st.lists(json_values, max_size=3),
        "messages": st.lists(st.one_of(st.integers(0, 10), st.text(max_size=4)), max_size=3),
        "recipient_id": json_values,
        "roles": st.one_of(st.lists(st.integers(0, 5), max_size=3), json_values),
        "nick": json_values,
        "message_reference": json_values,
    },
)
bodies = st.one_of(message_like, json_values)

# No rate limits: every request must reach its handler.
UNLIMITED = RouteLimit(10**9, 1.0)
CONFIG = EmulatorConfig(
    global_limit_per_second=10**9,
    default_route_limit=UNLIMITED,
    interaction_route_limit=UNLIMITED,
    route_limits={},
    record_requests=False,
)


def fresh_emulator() -> Emulator:
    """A new world per example, so a deleted channel or a ban does not starve later examples."""
    emu = Emulator(CONFIG)
    sandbox = emu.sandbox_guild
    emu.users.send_message(sandbox.general.id, sandbox.owner.id, "a message to act on")
    return emu


def concrete_path(template: str, emu: Emulator, choice: int) -> str:
    sandbox = emu.sandbox_guild
    message_ids = list(emu.state.channel_messages(sandbox.general.id)) or [1]
    interaction = next(iter(emu.state.interactions.by_id.values()), None)
    values = {
        "channel_id": [str(sandbox.general.id), "1", "abc"][choice % 3],
        "guild_id": [str(sandbox.id), "2"][choice % 2],
        "user_id": [str(sandbox.members[0].id), "3", "@me"][choice % 3],
        "role_id": [str(sandbox.self_assignable_roles[0].id), "4"][choice % 2],
        "message_id": [str(message_ids[0]), "5"][choice % 2],
        "application_id": [str(emu.application_id), "6"][choice % 2],
        "command_id": "7",
        "emoji_name": ["%F0%9F%91%8D", "x:1", ""][choice % 3],
        "interaction_id": str(interaction.id) if interaction else "8",
        "interaction_token": interaction.token if interaction else "t",
        "webhook_id": str(emu.application_id),
        "webhook_token": interaction.token if interaction else "t",
    }
    parts = []
    for segment in template.strip("/").split("/"):
        parts.append(values.get(segment[1:-1], "9") if segment.startswith("{") else segment)
    return "/" + "/".join(parts)


queries = st.sampled_from(
    ["", "limit=abc", "limit=5&before=x", "after=1&limit=-3", "with_response=true", "wait=1"]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route_index=st.integers(0, 10_000), choice=st.integers(0, 5), body=bodies, query=queries)
def test_no_route_fails_internally_on_any_body(route_index: int, choice: int, body: Any, query: str) -> None:
    emu = fresh_emulator()
    routes = emu.router.routes()
    route = routes[route_index % len(routes)]

    async def run() -> int:
        if not emu.state.interactions.by_id:
            emu.interactions.slash(emu.sandbox_guild.id, emu.sandbox_guild.owner.id, "ping")
        path = concrete_path(route.template, emu, choice)
        answer = await call_rest(
            emu, route.method, path, body if route.method in ("POST", "PUT", "PATCH") else None
        )
        return answer.status

    status = trio.run(run)
    assert emu.rest.internal_errors == [], (route.method, route.template, body)
    assert status < 500
    assert status != 429
