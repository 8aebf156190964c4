"""Sharding (guild routing by Discord's formula, READY per shard, identify records) and gateway faults
(op 7, op 9, op 1 from the server, ACK drops, malformed frames, close codes)."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.emulator import Emulator, EmulatorConfig
from protocol.emulator.snowflakes import shard_for_guild
from tests.fixtures.emulator import GatewayClosedError, RawGatewayClient


async def identify_shard(emu: Emulator, shard: tuple[int, int]) -> tuple[RawGatewayClient, dict[str, Any]]:
    client = await RawGatewayClient.connect(emu.gateway_url)
    ready = await client.identify(emu.token, shard=shard)
    for _ in ready["d"]["guilds"]:
        assert (await client.receive())["t"] == "GUILD_CREATE"
    return client, ready


async def test_guilds_and_dispatches_are_routed_by_the_shard_formula() -> None:
    async with Emulator.running(EmulatorConfig(shard_count=2, seed_sandbox=False)) as emu:
        on_zero = await emu.add_guild("zero", shard=(0, 2), announce=False)
        on_one = await emu.add_guild("one", shard=(1, 2), announce=False)
        assert shard_for_guild(on_zero.id, 2) == 0 and shard_for_guild(on_one.id, 2) == 1

        shard0, ready0 = await identify_shard(emu, (0, 2))
        shard1, ready1 = await identify_shard(emu, (1, 2))
        assert [g["id"] for g in ready0["d"]["guilds"]] == [str(on_zero.id)]
        assert [g["id"] for g in ready1["d"]["guilds"]] == [str(on_one.id)]
        assert ready1["d"]["shard"] == [1, 2]

        await emu.dispatch(on_one.id, "GUILD_UPDATE", {"id": str(on_one.id), "guild_id": str(on_one.id)})
        await emu.dispatch(on_zero.id, "GUILD_UPDATE", {"id": str(on_zero.id), "guild_id": str(on_zero.id)})
        await emu.dispatch(None, "USER_UPDATE", {"id": "1"})  # not guild-bound: shard 0
        got1 = await shard1.receive()
        got0 = [await shard0.receive(), await shard0.receive()]
        assert got1["d"]["id"] == str(on_one.id)
        assert [p["t"] for p in got0] == ["GUILD_UPDATE", "USER_UPDATE"]
        assert got0[0]["d"]["id"] == str(on_zero.id)

        assert [(r.shard_id, r.shard_count) for r in emu.gateway.identifies] == [(0, 2), (1, 2)]
        assert emu.gateway.identifies[0].time <= emu.gateway.identifies[1].time

        # a guild joined later is announced to its shard only
        late = await emu.add_guild("late", shard=(1, 2))
        announced = await shard1.receive()
        assert (announced["t"], announced["d"]["id"]) == ("GUILD_CREATE", str(late.id))
        await shard0.close()
        await shard1.close()


async def test_gateway_bot_reports_shards_and_session_starts() -> None:
    async with Emulator.running(
        EmulatorConfig(shard_count=3, max_concurrency=2, session_start_limit_total=10)
    ) as emu:
        client, _ = await identify_shard(emu, (0, 3))
        from tests.fixtures.emulator import call_rest

        answer = await call_rest(emu, "GET", "/gateway/bot")
        assert answer.body["shards"] == 3
        assert answer.body["session_start_limit"] == {
            "total": 10,
            "remaining": 9,
            "reset_after": 86_400_000,
            "max_concurrency": 2,
        }
        await client.close()


async def test_reconnect_op7_then_resume(emulator: Emulator) -> None:
    client, ready = await identify_shard(emulator, (0, 1))
    assert emulator.faults.reconnect() == 1
    assert await client.receive() == {"op": 7, "d": None}
    await client.close(4000)
    again = await RawGatewayClient.connect(ready["d"]["resume_gateway_url"])
    await again.receive()
    await again.send(
        {"op": 6, "d": {"token": emulator.token, "session_id": ready["d"]["session_id"], "seq": 2}}
    )
    assert (await again.receive())["t"] == "RESUMED"
    await again.close()


@pytest.mark.parametrize("resumable", [True, False])
async def test_invalid_session_op9(emulator: Emulator, resumable: bool) -> None:
    client, ready = await identify_shard(emulator, (0, 1))
    emulator.faults.invalidate_session(resumable)
    assert await client.receive() == {"op": 9, "d": resumable}
    known = emulator.gateway.registry.get(ready["d"]["session_id"]) is not None
    assert known is resumable
    await client.close(4000)


async def test_server_heartbeat_request_and_dropped_acks(emulator: Emulator) -> None:
    client, _ = await identify_shard(emulator, (0, 1))
    emulator.faults.request_heartbeat()
    assert await client.receive() == {"op": 1, "d": None}
    emulator.faults.drop_acks(2)
    for _ in range(3):
        await client.send({"op": 1, "d": 2})
    # two heartbeats go unanswered (a zombie connection); the third is acknowledged
    assert await client.receive() == {"op": 11}
    assert emulator.gateway.attached_connections()[0].heartbeats_received == 3
    await client.close()


@pytest.mark.parametrize("compress", [None, "zlib-stream"])
async def test_malformed_frame_reaches_the_client(emulator: Emulator, compress: str | None) -> None:
    client = await RawGatewayClient.connect(emulator.gateway_url, compress=compress)
    await client.identify(emulator.token)
    await client.receive()  # GUILD_CREATE
    emulator.faults.malformed_frame()
    with pytest.raises(ValueError):  # orjson.JSONDecodeError is a ValueError
        await client.receive()
    # the stream is still usable afterwards
    await emulator.dispatch(None, "USER_UPDATE", {"id": "1"})
    assert (await client.receive())["t"] == "USER_UPDATE"
    await client.close()


async def test_corrupt_compressed_frame_breaks_the_inflater(emulator: Emulator) -> None:
    import zlib

    client = await RawGatewayClient.connect(emulator.gateway_url, compress="zlib-stream")
    await client.identify(emulator.token)
    await client.receive()
    emulator.faults.malformed_frame("compression")
    with pytest.raises(zlib.error):
        await client.receive()
    await client.close()


@pytest.mark.parametrize("code", [4000, 4009, 1001])
async def test_close_on_demand_with_any_code(emulator: Emulator, code: int) -> None:
    client, ready = await identify_shard(emulator, (0, 1))
    assert emulator.faults.close(code, "bye") == 1
    with pytest.raises(GatewayClosedError) as closed:
        await client.receive()
    assert closed.value.code == code
    await emulator.gateway.wait_until(lambda: not emulator.gateway.connections)
    # 4009 (session timed out) ends the session; the others leave it resumable
    still_known = emulator.gateway.registry.get(ready["d"]["session_id"]) is not None
    assert still_known is (code != 4009)


async def test_big_initial_load_streams_before_any_other_dispatch() -> None:
    async with Emulator.running(EmulatorConfig(seed_sandbox=False)) as emu:
        guilds = [emu.builder.guild(f"guild {i}", members=3) for i in range(120)]
        client = await RawGatewayClient.connect(emu.gateway_url, compress="zlib-stream")
        ready = await client.identify(emu.token, intents=1 | (1 << 9))
        assert len(ready["d"]["guilds"]) == 120
        # an event raised while the load is still streaming waits behind it
        await emu.dispatch(
            guilds[0].id, "GUILD_UPDATE", {"id": str(guilds[0].id), "guild_id": str(guilds[0].id)}
        )
        payloads = await client.receive_until(lambda p: p.get("t") == "GUILD_UPDATE")
        assert [p["t"] for p in payloads] == ["GUILD_CREATE"] * 120 + ["GUILD_UPDATE"]
        assert [p["s"] for p in payloads] == list(range(2, 123))
        # without GUILD_MEMBERS, a GUILD_CREATE lists only the bot's own member
        assert [m["user"]["id"] for m in payloads[0]["d"]["members"]] == [str(emu.bot_user.id)]
        assert payloads[0]["d"]["member_count"] == 5
        await client.close()


async def test_identify_rate_is_enforced_per_bucket_when_asked() -> None:
    config = EmulatorConfig(
        shard_count=2, max_concurrency=1, enforce_identify_rate=True, identify_interval=30.0
    )
    async with Emulator.running(config) as emu:
        first, _ = await identify_shard(emu, (0, 2))
        second = await RawGatewayClient.connect(emu.gateway_url)
        await second.receive()
        await second.send({"op": 2, "d": {"token": emu.token, "intents": 1, "shard": [1, 2]}})
        assert await second.receive() == {"op": 9, "d": False}
        assert [(r.shard_id, r.shard_count) for r in emu.gateway.rejected_identifies] == [(1, 2)]
        await first.close()
        await second.close()
    # with max_concurrency 2 the two shards are in different buckets
    async with Emulator.running(
        EmulatorConfig(shard_count=2, max_concurrency=2, enforce_identify_rate=True)
    ) as emu:
        clients = [(await identify_shard(emu, (shard, 2)))[0] for shard in (0, 1)]
        assert emu.gateway.rejected_identifies == []
        for client in clients:
            await client.close()


async def test_session_start_limit_refuses_identify_when_spent() -> None:
    async with Emulator.running(EmulatorConfig(session_start_limit_total=1)) as emu:
        first, _ = await identify_shard(emu, (0, 1))
        again = await RawGatewayClient.connect(emu.gateway_url)
        await again.receive()
        await again.send({"op": 2, "d": {"token": emu.token, "intents": 1}})
        assert await again.receive() == {"op": 9, "d": False}
        await first.close()
        await again.close()


async def test_silent_client_is_closed_resumably_when_heartbeats_are_enforced() -> None:
    config = EmulatorConfig(heartbeat_interval_ms=100, heartbeat_timeout_factor=1.5)
    async with Emulator.running(config) as emu:
        client, ready = await identify_shard(emu, (0, 1))
        with pytest.raises(GatewayClosedError) as closed:
            await client.receive(timeout=5)
        assert closed.value.code == 4000
        await emu.gateway.wait_until(lambda: not emu.gateway.connections)
        assert emu.gateway.registry.get(ready["d"]["session_id"]) is not None


async def test_dropped_requests_and_guild_outages(emulator: Emulator) -> None:
    import httpx

    emulator.faults.drop_requests(1)
    headers = {"Authorization": f"Bot {emulator.token}"}
    async with httpx.AsyncClient(base_url=emulator.api_base, headers=headers) as http:
        with pytest.raises(httpx.TransportError):
            await http.get("/users/@me")
        assert (await http.get("/users/@me")).status_code == 200
    assert [r.status for r in emulator.requests[-2:]] == [0, 200]

    client, _ = await identify_shard(emulator, (0, 1))
    sandbox = emulator.sandbox_guild
    assert emulator.faults.guild_unavailable(sandbox.id) == 1
    outage = await client.receive()
    assert (outage["t"], outage["d"]) == ("GUILD_DELETE", {"id": str(sandbox.id), "unavailable": True})
    assert emulator.faults.guild_available(sandbox.id) == 1
    back = await client.receive()
    assert (back["t"], back["d"]["id"], back["d"]["unavailable"]) == ("GUILD_CREATE", str(sandbox.id), False)
    await client.close()


async def test_faults_can_target_one_shard() -> None:
    async with Emulator.running(EmulatorConfig(shard_count=2, seed_sandbox=False)) as emu:
        shard0, _ = await identify_shard(emu, (0, 2))
        shard1, _ = await identify_shard(emu, (1, 2))
        assert emu.faults.close(4000, shard_id=1) == 1
        with pytest.raises(GatewayClosedError):
            await shard1.receive()
        assert emu.faults.request_heartbeat(shard_id=0) == 1
        assert await shard0.receive() == {"op": 1, "d": None}
        await shard0.close()
