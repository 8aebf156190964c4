"""The emulator's gateway end to end over real sockets: sessions, sequence numbers, resume and replay,
close codes, intents, compression and the client send limit."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import trio

from protocol.emulator import Emulator, EmulatorConfig
from tests.fixtures.emulator import GatewayClosedError, RawGatewayClient

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
MESSAGE_CONTENT = 1 << 15


async def ready_client(
    emu: Emulator, compress: str | None = None, intents: int | None = None
) -> tuple[RawGatewayClient, dict[str, Any]]:
    client = await RawGatewayClient.connect(emu.gateway_url, compress=compress)
    if intents is None:
        ready = await client.identify(emu.token)
    else:
        ready = await client.identify(emu.token, intents=intents)
    guild_create = await client.receive()
    assert guild_create["t"] == "GUILD_CREATE"
    return client, ready


async def test_hello_identify_ready_guild_create_and_sequence_numbers(emulator: Emulator) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    hello = await client.receive()
    assert hello["op"] == 10
    assert hello["d"]["heartbeat_interval"] == emulator.config.heartbeat_interval_ms
    await client.send(
        {
            "op": 2,
            "d": {
                "token": emulator.token,
                "intents": GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT,
                "properties": {},
            },
        }
    )
    ready = await client.receive()
    assert (ready["op"], ready["t"], ready["s"]) == (0, "READY", 1)
    data = ready["d"]
    assert data["v"] == 10
    assert data["user"]["id"] == str(emulator.bot_user.id)
    assert data["shard"] == [0, 1]
    assert data["resume_gateway_url"].startswith(emulator.gateway_url)
    assert data["application"]["id"] == str(emulator.application_id)
    guild_create = await client.receive()
    assert (guild_create["t"], guild_create["s"]) == ("GUILD_CREATE", 2)
    assert guild_create["d"]["name"] == "The Wandering Inn (sandbox)"
    assert len(guild_create["d"]["channels"]) == 4
    sandbox = emulator.sandbox_guild
    for index in range(3):
        await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, f"message {index}")
    received = [await client.receive() for _ in range(3)]
    assert [p["s"] for p in received] == [3, 4, 5]
    assert [p["d"]["content"] for p in received] == ["message 0", "message 1", "message 2"]
    await client.close()


async def test_heartbeat_is_acknowledged_and_records_the_sequence(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator)
    await client.send({"op": 1, "d": 2})
    assert await client.receive() == {"op": 11}
    connection = emulator.gateway.attached_connections()[0]
    assert connection.heartbeats_received == 1
    assert connection.last_heartbeat_seq == 2
    await client.close()


@pytest.mark.parametrize(
    ("identify", "code"),
    [
        ({"token": "wrong", "intents": 1}, 4004),
        ({"token": None, "intents": 1, "shard": [2, 2]}, 4010),
        ({"token": None, "intents": 1, "shard": [0, 0]}, 4010),
        ({"token": None, "intents": 1 << 30}, 4013),
        ({"token": None}, 4013),
    ],
)
async def test_identify_rejections_close_with_the_documented_code(
    emulator: Emulator, identify: dict[str, Any], code: int
) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    await client.receive()
    payload = dict(identify)
    if payload.get("token") is None:
        payload["token"] = emulator.token
    await client.send({"op": 2, "d": payload})
    with pytest.raises(GatewayClosedError) as closed:
        await client.receive()
    assert closed.value.code == code
    await client.close()


async def test_disallowed_privileged_intents_close_with_4014() -> None:
    async with Emulator.running(EmulatorConfig(privileged_intents=GUILD_MEMBERS)) as emu:
        allowed = await RawGatewayClient.connect(emu.gateway_url)
        await allowed.identify(emu.token, intents=GUILDS | GUILD_MEMBERS)
        client = await RawGatewayClient.connect(emu.gateway_url)
        await client.receive()
        await client.send({"op": 2, "d": {"token": emu.token, "intents": GUILDS | MESSAGE_CONTENT}})
        with pytest.raises(GatewayClosedError) as closed:
            await client.receive()
        assert closed.value.code == 4014
        await allowed.close()


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"op": 3, "d": {}}', 4003),  # presence update before identify
        ('{"op": 99, "d": null}', 4001),
        ("{not json", 4002),
        ('["op", 1]', 4002),
    ],
)
async def test_bad_frames_before_identify(emulator: Emulator, frame: str, code: int) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    await client.receive()
    await client.send_text(frame)
    with pytest.raises(GatewayClosedError) as closed:
        await client.receive()
    assert closed.value.code == code


async def test_second_identify_is_4005(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator)
    await client.send({"op": 2, "d": {"token": emulator.token, "intents": 1}})
    with pytest.raises(GatewayClosedError) as closed:
        await client.receive()
    assert closed.value.code == 4005


@pytest.mark.parametrize("drop", ["tcp", "close_4000", "client_close_4900"])
async def test_resume_replays_missed_dispatches_once_in_order(emulator: Emulator, drop: str) -> None:
    client, ready = await ready_client(emulator, compress="zlib-stream")
    session_id = ready["d"]["session_id"]
    sandbox = emulator.sandbox_guild
    await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, "seen")
    seen = await client.receive()
    assert seen["s"] == 3
    if drop == "tcp":
        assert emulator.faults.drop_tcp() == 1
        with pytest.raises(GatewayClosedError):
            await client.receive()
    elif drop == "close_4000":
        emulator.faults.close(4000)
        with pytest.raises(GatewayClosedError) as closed:
            await client.receive()
        assert closed.value.code == 4000
    else:
        await client.close(4900)
    await emulator.gateway.wait_until(lambda: not emulator.gateway.connections)
    for index in range(3):
        await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, f"missed {index}")

    resumed = await RawGatewayClient.connect(ready["d"]["resume_gateway_url"], compress="zlib-stream")
    assert (await resumed.receive())["op"] == 10
    await resumed.send({"op": 6, "d": {"token": emulator.token, "session_id": session_id, "seq": 3}})
    payloads = await resumed.receive_until(lambda p: p.get("t") == "RESUMED")
    assert [(p["t"], p["s"]) for p in payloads] == [
        ("MESSAGE_CREATE", 4),
        ("MESSAGE_CREATE", 5),
        ("MESSAGE_CREATE", 6),
        ("RESUMED", 7),
    ]
    assert [p["d"]["content"] for p in payloads[:3]] == ["missed 0", "missed 1", "missed 2"]
    # the resume connection used the resume URL with the original query string
    record = emulator.gateway.connection_log[-1]
    assert record.path == "/resume"
    assert "compress=zlib-stream" in record.query
    await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, "live")
    live = await resumed.receive()
    assert (live["s"], live["d"]["content"]) == (8, "live")
    await resumed.close()


async def test_resume_of_unknown_or_ended_session_gets_op9_false(emulator: Emulator) -> None:
    client, ready = await ready_client(emulator)
    await client.close(1000)  # a clean close ends the session
    await emulator.gateway.wait_until(lambda: not emulator.gateway.connections)
    for session_id in (ready["d"]["session_id"], "no-such-session"):
        again = await RawGatewayClient.connect(emulator.gateway_url)
        await again.receive()
        await again.send({"op": 6, "d": {"token": emulator.token, "session_id": session_id, "seq": 2}})
        assert await again.receive() == {"op": 9, "d": False}
        await again.close()


async def test_resume_with_a_future_sequence_is_4007(emulator: Emulator) -> None:
    client, ready = await ready_client(emulator)
    emulator.faults.drop_tcp()
    with pytest.raises(GatewayClosedError):
        await client.receive()
    again = await RawGatewayClient.connect(emulator.gateway_url)
    await again.receive()
    await again.send(
        {"op": 6, "d": {"token": emulator.token, "session_id": ready["d"]["session_id"], "seq": 99}}
    )
    with pytest.raises(GatewayClosedError) as closed:
        await again.receive()
    assert closed.value.code == 4007


@pytest.mark.parametrize("compress", ["zlib-stream", "zstd-stream"])
async def test_transport_compression_sends_binary_frames(emulator: Emulator, compress: str) -> None:
    client, _ = await ready_client(emulator, compress=compress)
    sandbox = emulator.sandbox_guild
    await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, "compressed " * 50)
    message = await client.receive()
    assert message["d"]["content"].startswith("compressed")
    assert client.raw_frames and all(isinstance(frame, bytes) for frame in client.raw_frames)
    if compress == "zlib-stream":
        assert all(isinstance(f, bytes) and f.endswith(b"\x00\x00\xff\xff") for f in client.raw_frames)
    await client.close()


async def test_intents_filter_dispatches(emulator: Emulator) -> None:
    without_messages, _ = await ready_client(emulator, intents=GUILDS)
    sandbox = emulator.sandbox_guild
    await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, "hidden")
    # a GUILDS-only session gets channel events but no messages; send one to prove the order
    await emulator.dispatch(
        sandbox.id, "CHANNEL_UPDATE", {"id": str(sandbox.general.id), "guild_id": str(sandbox.id)}
    )
    assert (await without_messages.receive())["t"] == "CHANNEL_UPDATE"
    await without_messages.close()


async def test_message_content_is_stripped_without_the_privileged_intent(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator, intents=GUILDS | GUILD_MESSAGES)
    sandbox = emulator.sandbox_guild
    await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, "secret words")
    await emulator.send_user_message(sandbox.general.id, sandbox.owner.id, f"<@{emulator.bot_user.id}> hello")
    stripped = await client.receive()
    mentioned = await client.receive()
    assert stripped["d"]["content"] == ""
    assert mentioned["d"]["content"].endswith("hello")
    await client.close()


async def test_request_guild_members_answers_with_a_chunk(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator, intents=GUILDS | GUILD_MEMBERS)
    sandbox = emulator.sandbox_guild
    await client.send(
        {"op": 8, "d": {"guild_id": str(sandbox.id), "query": "zev", "limit": 0, "nonce": "n1"}}
    )
    chunk = await client.receive()
    assert chunk["t"] == "GUILD_MEMBERS_CHUNK"
    assert chunk["d"]["nonce"] == "n1"
    assert [m["user"]["username"] for m in chunk["d"]["members"]] == ["zevara"]
    await client.close()


async def test_client_send_limit_closes_with_4008() -> None:
    async with Emulator.running(EmulatorConfig(gateway_send_limit=5)) as emu:
        client, _ = await ready_client(emu)  # identify was send 1
        for _ in range(5):
            await client.send({"op": 1, "d": None})
        with pytest.raises(GatewayClosedError) as closed:
            await client.receive_until(lambda p: False)
        assert closed.value.code == 4008


async def test_dispatch_to_a_detached_session_is_buffered_not_lost(emulator: Emulator) -> None:
    client, ready = await ready_client(emulator)
    emulator.faults.drop_tcp()
    with pytest.raises(GatewayClosedError):
        await client.receive()
    await emulator.gateway.wait_until(lambda: not emulator.gateway.connections)
    sandbox = emulator.sandbox_guild
    reached = await emulator.dispatch(sandbox.id, "TYPING_START", {"guild_id": str(sandbox.id)})
    assert reached == 0  # no GUILD_MESSAGE_TYPING intent in the default test identify
    reached = await emulator.dispatch(
        sandbox.id, "GUILD_UPDATE", {"id": str(sandbox.id), "guild_id": str(sandbox.id)}
    )
    assert reached == 1
    session = emulator.gateway.registry.get(ready["d"]["session_id"])
    assert session is not None and session.connection is None and session.seq == 3


async def test_user_actions_dispatch_what_discord_sends(emulator: Emulator) -> None:
    client, _ = await ready_client(
        emulator, intents=GUILDS | GUILD_MEMBERS | GUILD_MESSAGES | (1 << 10) | (1 << 11)
    )
    sandbox = emulator.sandbox_guild
    users = emulator.users
    message = users.send_message(sandbox.general.id, sandbox.members[0].id, "hi")
    users.react(message, sandbox.members[1].id, "👍")
    users.react(message, sandbox.members[1].id, "👍", remove=True)
    users.start_typing(sandbox.general.id, sandbox.owner.id)
    newcomer = users.join(sandbox.id, "ryoka")
    users.set_roles(sandbox.id, newcomer.id, [sandbox.self_assignable_roles[0].id])
    users.leave(sandbox.id, newcomer.id)
    events = [await client.receive() for _ in range(7)]
    assert [e["t"] for e in events] == [
        "MESSAGE_CREATE",
        "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE",
        "TYPING_START",
        "GUILD_MEMBER_ADD",
        "GUILD_MEMBER_UPDATE",
        "GUILD_MEMBER_REMOVE",
    ]
    assert events[0]["d"]["member"]["roles"] == [str(sandbox.self_assignable_roles[0].id)]
    assert events[1]["d"]["member"]["user"]["id"] == str(sandbox.members[1].id)
    assert events[4]["d"]["user"]["username"] == "ryoka"
    assert newcomer.id not in sandbox.guild.members
    await client.close()


async def test_pre_encoded_dispatch_and_flush(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator)
    sandbox = emulator.sandbox_guild
    payload = b'{"id":"1","channel_id":"2","guild_id":"%d","content":"x"}' % sandbox.id
    for _ in range(100):
        assert emulator.dispatch_encoded(sandbox.id, "MESSAGE_CREATE", payload) == 1
    await emulator.wait_until_flushed()
    assert emulator.gateway.connections[0].queued == 0
    received = [await client.receive() for _ in range(100)]
    assert [p["s"] for p in received] == list(range(3, 103))
    assert received[0]["d"]["content"] == "x"
    await client.close()


@pytest.mark.parametrize(("query", "code"), [("v=8&encoding=json", 4012), ("v=10&encoding=etf", 4002)])
async def test_unsupported_connection_parameters_close(emulator: Emulator, query: str, code: int) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url, query=query)
    assert (await client.receive())["op"] == 10
    with pytest.raises(GatewayClosedError) as closed:
        await client.receive()
    assert closed.value.code == code


async def test_admin_actions_create_channels_and_roles(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator)
    sandbox = emulator.sandbox_guild
    channel = emulator.users.create_channel(sandbox.id, "announcements", topic="News")
    role = emulator.users.create_role(sandbox.id, "Patron", permissions=0)
    created = await client.receive()
    role_created = await client.receive()
    assert (created["t"], created["d"]["name"], created["d"]["guild_id"]) == (
        "CHANNEL_CREATE",
        "announcements",
        str(sandbox.id),
    )
    assert (role_created["t"], role_created["d"]["role"]["name"]) == ("GUILD_ROLE_CREATE", "Patron")
    assert int(channel["id"]) in sandbox.guild.channel_ids
    assert int(role["role"]["id"]) in sandbox.guild.roles
    await client.close()


async def test_presence_from_identify_and_op3_is_recorded(emulator: Emulator) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url)
    await client.receive()
    presence = {"status": "idle", "since": None, "activities": [{"name": "the inn", "type": 0}], "afk": False}
    await client.send({"op": 2, "d": {"token": emulator.token, "intents": 1, "presence": presence}})
    await client.receive_until(lambda p: p.get("t") == "GUILD_CREATE")
    (session,) = emulator.gateway.sessions()
    assert session.presence == presence
    await client.send({"op": 3, "d": dict(presence, status="dnd")})
    await client.send({"op": 1, "d": None})
    assert await client.receive() == {"op": 11}  # op 3 was handled before the heartbeat
    assert session.presence is not None and session.presence["status"] == "dnd"
    await client.close()


async def test_client_payload_over_4096_bytes_is_4002(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator)
    await client.send(
        {
            "op": 3,
            "d": {
                "status": "online",
                "since": None,
                "afk": False,
                "activities": [{"name": "x" * 4100, "type": 0}],
            },
        }
    )
    with pytest.raises(GatewayClosedError) as closed:
        await client.receive()
    assert closed.value.code == 4002


async def test_snapshotted_initial_load_is_fresh_until_the_guild_changes(emulator: Emulator) -> None:
    fresh_client, _ = await ready_client(emulator, compress="zlib-stream", intents=GUILDS | GUILD_MEMBERS)
    await fresh_client.close()
    sandbox = emulator.sandbox_guild
    fresh = emulator.state.guild_create_payload(sandbox.id, include_members=True)
    assert emulator.snapshot_initial_load() == len(emulator.state.guilds)
    # The snapshot is what IDENTIFY sends from now on: a change made without an event is not in it.
    emulator.state.guilds[sandbox.id].name = "changed without an event"
    client = await RawGatewayClient.connect(emulator.gateway_url, compress="zlib-stream")
    await client.identify(emulator.token, intents=GUILDS | GUILD_MEMBERS)
    snapshotted = await client.receive()
    assert snapshotted["t"] == "GUILD_CREATE" and snapshotted["d"] == fresh
    assert snapshotted["d"]["name"] != "changed without an event"
    await client.close()
    # An event for the guild drops its snapshot: the next IDENTIFY sees the change.
    created = emulator.users.create_channel(sandbox.id, "after-the-snapshot")
    client = await RawGatewayClient.connect(emulator.gateway_url, compress="zlib-stream")
    await client.identify(emulator.token, intents=GUILDS | GUILD_MEMBERS)
    changed = await client.receive()
    assert changed["t"] == "GUILD_CREATE"
    assert created["id"] in {channel["id"] for channel in changed["d"]["channels"]}
    assert changed["d"] == emulator.state.guild_create_payload(sandbox.id, include_members=True)
    await client.close()


async def test_pre_encoded_interaction_arrives_as_built(emulator: Emulator) -> None:
    client, _ = await ready_client(emulator)
    sandbox = emulator.sandbox_guild
    payload = emulator.interactions.slash(sandbox.id, sandbox.owner.id, "ping")
    interaction = emulator.invoke_nowait(payload, encoded=orjson.dumps(payload))
    received = await client.receive()
    assert (received["t"], received["d"]) == ("INTERACTION_CREATE", payload)
    assert interaction.delivered_to == 1
    assert interaction.created_at == pytest.approx(trio.current_time(), abs=1.0)
    await client.close()
