"""Fuzzing the gateway's handling of client payloads: whatever a client sends, the emulator answers with
protocol (a payload or a close code) and never fails inside its own code."""

from __future__ import annotations

from typing import Any

import orjson
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.emulator import Emulator
from protocol.emulator.gateway_connection import GatewayConnection
from protocol.emulator.http_server import HttpRequest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "token": st.one_of(st.just("TOKEN"), json_values),
        "intents": st.one_of(st.integers(-2, 1 << 26), json_values),
        "shard": st.one_of(st.lists(st.integers(-2, 4), max_size=3), json_values),
        "session_id": json_values,
        "seq": st.one_of(st.integers(-2, 10), json_values),
        "guild_id": st.one_of(st.just("GUILD"), json_values),
        "query": json_values,
        "limit": json_values,
        "user_ids": json_values,
        "nonce": json_values,
    },
)
payloads = st.fixed_dictionaries(
    {
        "op": st.one_of(
            st.sampled_from([1, 2, 3, 6, 8, 8, 8]), st.sampled_from([0, 4, 7, 9, 10, 11, 31, 99]), json_values
        )
    },
    optional={"d": st.one_of(fields, json_values)},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(payloads, min_size=1, max_size=4), st.booleans())
def test_any_client_payload_sequence_is_handled(sequence: list[dict[str, Any]], identify_first: bool) -> None:
    emu = Emulator()
    if identify_first:
        sequence = [{"op": 2, "d": {"token": "TOKEN", "intents": 3}}, *sequence]

    async def run() -> None:
        _client, server_side = trio.testing.memory_stream_pair()
        request = HttpRequest("GET", "/", {}, {}, b"")
        connection = GatewayConnection(emu.gateway, server_side, request)
        for payload in sequence:
            d = payload.get("d")
            if isinstance(d, dict) and d.get("token") == "TOKEN":
                d["token"] = emu.token
            if isinstance(d, dict) and d.get("guild_id") == "GUILD":
                d["guild_id"] = str(emu.sandbox_guild.id)
            connection._receive_payload(orjson.dumps(payload))

    trio.run(run)
