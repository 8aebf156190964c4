"""The gateway shard worker end to end against a scripted loopback gateway: reconnect rules on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import trio

from actors.gateway_shard import DispatchRouter, GatewayFatalError, GatewayShard, GetShardStatus, ShardStatus
from actors.guild import GetGuild, GuildActor, Listener
from protocol.gateway.frames import Frame
from protocol.gateway.identify import InMemoryIdentifyQueue, SessionStartLimitError
from protocol.gateway.identity import BotIdentity
from supervision import ChildSpec, KeyedSupervisorSpec, Restart, SupervisorSpec, open_runtime
from supervision.telemetry import Telemetry
from tests.integration.gateway.fake_gateway import FakeGateway, fake_gateway


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.005)


class Collected:
    def __init__(self) -> None:
        self.others: list[Frame] = []
        self.interactions: list[Frame] = []

    def seqs(self) -> list[int]:
        return sorted(f.s for f in self.others + self.interactions if f.s is not None)

    def names(self) -> list[str]:
        return [f.t or "" for f in self.others]


def make_shard(
    gw: FakeGateway, collected: Collected, *, token: str = "test-token", remaining: int = 1000, **kwargs: Any
) -> GatewayShard:
    async def fetch_gateway_bot() -> dict[str, Any]:
        return gw.gateway_bot(remaining=remaining)

    router = DispatchRouter(interactions=collected.interactions.append, others=collected.others.append)
    return GatewayShard(
        token=token,
        intents=513,
        fetch_gateway_bot=fetch_gateway_bot,
        router=router,
        random=lambda: 0.01,
        **kwargs,
    )


@asynccontextmanager
async def running(shard: GatewayShard) -> AsyncIterator[None]:
    async with trio.open_nursery() as nursery:
        nursery.start_soon(shard.run)
        yield
        nursery.cancel_scope.cancel()


async def connected(gw: FakeGateway, shard: GatewayShard, sessions: int = 1) -> None:
    await wait_for(lambda: len(gw.identifies) >= sessions and shard.status().phase == "connected")


async def test_identify_ready_and_routing_through_the_runtime() -> None:
    identity = BotIdentity()
    seen_by_guild: list[Frame] = []
    listeners: list[Listener] = [seen_by_guild.append]
    telemetry = Telemetry()
    collected = Collected()

    async with fake_gateway() as gw:

        async def fetch_gateway_bot() -> dict[str, Any]:
            return gw.gateway_bot()

        shard = GatewayShard(
            token="test-token",
            intents=513,
            fetch_gateway_bot=fetch_gateway_bot,
            router=DispatchRouter(
                guilds_path="root/guilds",
                interactions=collected.interactions.append,
                others=collected.others.append,
            ),
            identity=identity,
            telemetry=telemetry,
            random=lambda: 0.01,
        )

        def guild_child(key: Hashable) -> ChildSpec:
            return ChildSpec(
                id=str(key), factory=lambda: GuildActor(int(str(key)), identity=identity, listeners=listeners)
            )

        spec = SupervisorSpec(
            id="root",
            children=[
                KeyedSupervisorSpec(id="guilds", child=guild_child, idle_timeout=None),
                ChildSpec(id="gateway", run=shard.run, restart=Restart.TRANSIENT),
            ],
        )
        async with open_runtime(spec) as rt:
            await connected(gw, shard)
            await gw.dispatch("GUILD_CREATE", {"id": "1000", "name": "The Wandering Inn", "owner_id": "1",
                                               "roles": [], "channels": [], "members": []})  # fmt: skip
            await gw.dispatch("MESSAGE_CREATE", {"guild_id": "1000", "content": "hello"})
            await gw.dispatch("INTERACTION_CREATE", {"id": "5", "guild_id": "1000", "type": 2})
            await gw.dispatch("USER_UPDATE", {"id": "42"})
            await wait_for(lambda: len(seen_by_guild) == 2 and len(collected.interactions) == 1)
            guild = await rt.keyed("root/guilds").ref(1000).call(GetGuild())
            assert guild.name == "The Wandering Inn"
            assert telemetry.gauge("shard_gateway_connected", "", ["shard"]).value("0") == 1
            status: ShardStatus = await rt.ref("root/gateway").call(GetShardStatus())
            assert status.connected and status.session_id == "session-1"
            await wait_for(lambda: collected.names() == ["READY", "USER_UPDATE"])

    assert [f.t for f in seen_by_guild] == ["GUILD_CREATE", "MESSAGE_CREATE"]
    assert identity.user_id == 42 and identity.application_id == 4242
    identify = gw.identifies[0]
    assert identify["token"] == "test-token" and identify["intents"] == 513 and identify["shard"] == [0, 1]
    assert parse_qs(urlsplit(gw.connections[0].path).query) == {} and gw.connections[0].query == {
        "v": ["10"],
        "encoding": ["json"],
        "compress": ["zlib-stream"],
    }
    assert telemetry.gauge("shard_gateway_connected", "", ["shard"]).value("0") == 0  # stopped
    events = telemetry.counter("shard_gateway_events_total", "", ["event"])
    assert events.value("MESSAGE_CREATE") == 1 and events.value("READY") == 1
    assert gw.client_close_codes[-1] == 1000  # graceful stop closes the session on purpose


@pytest.mark.parametrize("compression", ["zlib-stream", None])
async def test_resume_after_tcp_drop_loses_and_duplicates_nothing(compression: str | None) -> None:
    collected = Collected()
    telemetry = Telemetry()
    async with fake_gateway() as gw:
        shard = make_shard(gw, collected, compression=compression, telemetry=telemetry)
        async with running(shard):
            await connected(gw, shard)
            for i in range(2, 5):
                await gw.dispatch("MESSAGE_CREATE", {"content": f"m{i}"})
            await wait_for(lambda: collected.seqs() == [1, 2, 3, 4])
            gw.lose("MESSAGE_CREATE", {"content": "in flight 5"})
            gw.lose("MESSAGE_CREATE", {"content": "in flight 6"})
            gw.replay_overlap = 2  # the server also replays 3 and 4, which were delivered already
            await gw.live.drop()
            await wait_for(lambda: len(gw.resumes) == 1 and shard.status().phase == "connected")
            await gw.dispatch("MESSAGE_CREATE", {"content": "after"})
            await wait_for(lambda: 8 in collected.seqs())
    path, resume = gw.resumes[0]
    assert path == "/resume"
    assert resume == {"token": "test-token", "session_id": "session-1", "seq": 4}
    assert gw.connections[1].query == gw.connections[0].query  # same query string on the resume URL
    assert collected.seqs() == list(range(1, 9))  # 7 is RESUMED
    assert len(gw.identifies) == 1
    dropped = telemetry.counter("shard_gateway_replayed_dispatches_dropped_total", "")
    assert dropped.value() == 2
    reconnects = telemetry.counter("shard_gateway_reconnects_total", "", ["kind"])
    assert reconnects.value("resume") == 1


async def test_op7_closes_with_resumable_code_and_resumes() -> None:
    collected = Collected()
    async with fake_gateway() as gw:
        shard = make_shard(gw, collected)
        async with running(shard):
            await connected(gw, shard)
            await gw.dispatch("MESSAGE_CREATE", {})
            await wait_for(lambda: collected.seqs() == [1, 2])
            await gw.live.send_payload({"op": 7, "d": None})
            await wait_for(lambda: len(gw.resumes) == 1 and shard.status().phase == "connected")
    assert gw.client_close_codes[0] not in (1000, 1001)
    assert gw.resumes[0][1]["seq"] == 2
    assert collected.seqs() == [1, 2, 3]


async def test_op9_true_resumes_and_op9_false_reidentifies_after_1_to_5_s() -> None:
    collected = Collected()
    async with fake_gateway() as gw:
        shard = make_shard(gw, collected, identify_queue=InMemoryIdentifyQueue(interval=0.5))
        async with running(shard):
            await connected(gw, shard)
            await gw.live.send_payload({"op": 9, "d": True})
            await wait_for(lambda: len(gw.resumes) == 1 and shard.status().phase == "connected")
            assert len(gw.identifies) == 1
            await gw.dispatch("MESSAGE_CREATE", {})
            start = trio.current_time()
            await gw.live.send_payload({"op": 9, "d": False})
            await connected(gw, shard, sessions=2)
            waited = trio.current_time() - start
    assert 1.0 <= waited < 5.5
    assert len(gw.resumes) == 1  # no resume attempt for a dead session
    assert shard.status().session_id == "session-2"
    # sequence restarted with the new session: READY of session 2 (s=1) was delivered, not dropped
    assert [f.s for f in collected.others if f.t == "READY"] == [1, 1]


async def test_zombie_connection_is_closed_and_resumed() -> None:
    collected = Collected()
    async with fake_gateway(heartbeat_interval_ms=150) as gw:
        shard = make_shard(gw, collected)
        async with running(shard):
            await connected(gw, shard)
            await wait_for(lambda: len(gw.heartbeats) >= 2)  # ACKed beats keep it alive
            gw.ack_heartbeats = False
            await wait_for(lambda: len(gw.resumes) == 1)
            gw.ack_heartbeats = True
            await wait_for(lambda: shard.status().phase == "connected")
            await wait_for(lambda: gw.heartbeats[-1] == 2)  # the new connection beats with RESUMED's seq
            assert shard.heartbeat_latency is not None
    assert gw.client_close_codes[0] not in (1000, 1001)
    # heartbeats carry the last sequence: null before READY, then READY=1, then RESUMED=2
    assert set(gw.heartbeats) <= {None, 1, 2}


async def test_server_heartbeat_request_is_answered_at_once() -> None:
    collected = Collected()
    async with fake_gateway() as gw:
        shard = make_shard(gw, collected)
        async with running(shard):
            await connected(gw, shard)
            await gw.dispatch("MESSAGE_CREATE", {})
            await wait_for(lambda: collected.seqs() == [1, 2])
            before = len(gw.heartbeats)
            await gw.live.send_payload({"op": 1, "d": None})
            await wait_for(lambda: len(gw.heartbeats) > before, timeout=2.0)
    assert gw.heartbeats[-1] == 2


async def test_non_fatal_close_code_resumes() -> None:
    collected = Collected()
    async with fake_gateway() as gw:
        shard = make_shard(gw, collected)
        async with running(shard):
            await connected(gw, shard)
            await gw.live.close(4000)
            await wait_for(lambda: len(gw.resumes) == 1 and shard.status().phase == "connected")
    assert shard.status().reconnects == 1


async def test_fatal_4004_stops_with_clear_error_and_never_retries() -> None:
    collected = Collected()
    async with fake_gateway() as gw:
        shard = make_shard(gw, collected, token="wrong-token")
        with trio.fail_after(5), pytest.raises(GatewayFatalError, match=r"4004.*token") as info:
            await shard.run()
        assert info.value.code == 4004
        # a supervisor restarting the worker must not reconnect
        with pytest.raises(GatewayFatalError):
            await shard.run()
        await trio.sleep(0.1)
    assert len(gw.identifies) == 1 and len(gw.connections) == 1
    assert shard.status().fatal_error is not None


async def test_session_start_limit_refuses_before_connecting() -> None:
    collected = Collected()
    async with fake_gateway() as gw:
        shard = make_shard(gw, collected, remaining=0)
        with pytest.raises(SessionStartLimitError, match="only 0 more session starts"):
            await shard.run()
    assert gw.connections == []


async def test_connect_failure_backs_off_and_retries() -> None:
    collected = Collected()
    async with fake_gateway() as gw:
        real_url = gw.url
        listener = trio.socket.socket()
        await listener.bind(("127.0.0.1", 0))
        dead_port = listener.getsockname()[1]
        listener.close()
        gw.url = f"ws://127.0.0.1:{dead_port}"
        shard = make_shard(gw, collected)
        async with running(shard):
            await wait_for(lambda: shard.status().reconnects >= 2)
            assert gw.connections == []
    assert real_url != gw.url
