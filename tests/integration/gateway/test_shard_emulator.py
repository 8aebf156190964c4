"""The gateway shard against the local Discord emulator: real REST for /gateway/bot, real gateway, faults.

Each test runs the shard as a worker under the real supervision runtime with per-guild actors, so the path is
the production one: emulator -> websocket -> inflate/decode -> session -> router -> guild actor.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import attrs
import pytest
import trio

from actors.gateway_shard import (
    DispatchRouter,
    GatewayBotCache,
    GatewayCommand,
    GatewayFatalError,
    GatewayFleet,
    GatewayShard,
    GetShardStatus,
    gateway_child,
    shard_for_guild,
)
from actors.guild import GetChannels, GetGuild, GetMemberPermissions, GuildActor, Listener, guilds_spec
from protocol.emulator import Emulator, EmulatorConfig
from protocol.gateway.frames import Frame
from protocol.gateway.identify import InMemoryIdentifyQueue, SessionStartLimitError
from protocol.gateway.identity import BotIdentity
from protocol.gateway.intents import Intents
from protocol.rest.client import RestClient
from protocol.rest.limiter import LocalRateLimiter
from supervision import (
    ChildSpec,
    KeyedSupervisorSpec,
    Restart,
    Runtime,
    SupervisorEscalation,
    SupervisorSpec,
    open_runtime,
)
from supervision.telemetry import Telemetry
from tests.fixtures.tls import SelfSigned

INTENTS = Intents.GUILDS | Intents.GUILD_MESSAGES | Intents.MESSAGE_CONTENT | Intents.GUILD_MEMBERS


async def wait_for(predicate: Callable[[], bool], timeout: float = 8.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.005)


@attrs.define
class Bot:
    emu: Emulator
    shard: GatewayShard
    rt: Runtime
    identity: BotIdentity
    telemetry: Telemetry
    guild_events: list[Frame]
    other_events: list[Frame]

    def message_seqs(self) -> list[int]:
        return [f.s for f in self.guild_events if f.t == "MESSAGE_CREATE" and f.s is not None]

    def contents(self) -> list[str]:
        return [f.d["content"] for f in self.guild_events if f.t == "MESSAGE_CREATE"]

    async def say(self, content: str) -> None:
        sandbox = self.emu.sandbox_guild
        await self.emu.send_user_message(sandbox.general.id, sandbox.owner.id, content)

    async def connected(self) -> None:
        await wait_for(lambda: self.shard.status().phase == "connected")


@asynccontextmanager
async def running_bot(
    *,
    compression: str | None = "zlib-stream",
    token: str | None = None,
    identify_interval: float = 5.0,
    prepare: Callable[[Emulator], Awaitable[None]] | None = None,
    shard_options: dict[str, Any] | None = None,
    **config: Any,
) -> AsyncIterator[Bot]:
    async with Emulator.running(EmulatorConfig(**config)) as emu:
        if prepare is not None:
            await prepare(emu)  # the world as it is before the bot connects
        identity = BotIdentity()
        telemetry = Telemetry()
        guild_events: list[Frame] = []
        other_events: list[Frame] = []
        listeners: list[Listener] = [guild_events.append]
        async with RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest:
            shard = GatewayShard(
                token=token or emu.token,
                intents=INTENTS,
                fetch_gateway_bot=rest.get_gateway_bot,
                router=DispatchRouter(guilds_path="root/guilds", others=other_events.append),
                compression=compression,
                identity=identity,
                telemetry=telemetry,
                random=lambda: 0.01,
                identify_queue=InMemoryIdentifyQueue(interval=identify_interval),
                **(shard_options or {}),
            )

            def guild_child(key: Hashable) -> ChildSpec:
                return ChildSpec(
                    id=str(key),
                    factory=lambda: GuildActor(int(str(key)), identity=identity, listeners=listeners),
                )

            spec = SupervisorSpec(
                id="root",
                children=[
                    KeyedSupervisorSpec(id="guilds", child=guild_child, idle_timeout=None),
                    ChildSpec(id="gateway", run=shard.run, restart=Restart.TEMPORARY),
                ],
            )
            async with open_runtime(spec) as rt:
                yield Bot(emu, shard, rt, identity, telemetry, guild_events, other_events)


@pytest.mark.parametrize("compression", ["zlib-stream", "zstd-stream", None])
async def test_identify_ready_guild_create_fills_the_guild_actor(compression: str | None) -> None:
    async with running_bot(compression=compression) as bot:
        await bot.connected()
        sandbox = bot.emu.sandbox_guild
        guilds = bot.rt.keyed("root/guilds")
        await wait_for(lambda: any(f.t == "GUILD_CREATE" for f in bot.guild_events))
        guild = await guilds.ref(sandbox.id).call(GetGuild())
        assert guild.name == sandbox.guild.name
        names = {c.name for c in await guilds.ref(sandbox.id).call(GetChannels())}
        assert {sandbox.general.name, sandbox.mod_log.name} <= names
        assert await guilds.ref(sandbox.id).call(GetMemberPermissions()) is not None
        await bot.say("hello inn")
        await wait_for(lambda: bot.contents() == ["hello inn"])
        assert bot.identity.user_id == bot.emu.bot_user.id
        assert [f.t for f in bot.other_events][:1] == ["READY"]
        log = bot.emu.gateway.connection_log
        assert "v=10" in log[0].query and "encoding=json" in log[0].query
        assert (f"compress={compression}" in log[0].query) == (compression is not None)


FAULTS: dict[str, Callable[[Emulator], object]] = {
    "tcp_drop": lambda emu: emu.faults.drop_tcp(),
    "op7_reconnect": lambda emu: emu.faults.reconnect(),
    "op9_resumable": lambda emu: emu.faults.invalidate_session(True),
    "close_4000": lambda emu: emu.faults.close(4000),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
async def test_resume_after_fault_loses_and_duplicates_nothing(fault: str) -> None:
    async with running_bot() as bot:
        await bot.connected()
        for i in range(5):
            await bot.say(f"before {i}")
        await wait_for(lambda: len(bot.contents()) == 5)
        FAULTS[fault](bot.emu)
        # events that happen while the shard is away must be replayed by the resume
        for i in range(5):
            await bot.say(f"during {i}")
        await wait_for(lambda: bot.shard.status().reconnects == 1 and bot.shard.status().phase == "connected")
        for i in range(5):
            await bot.say(f"after {i}")
        await wait_for(lambda: len(bot.contents()) >= 15)
        await trio.sleep(0.05)
        identifies = len(bot.emu.gateway.identifies)
    expected = [f"{stage} {i}" for stage in ("before", "during", "after") for i in range(5)]
    assert bot.contents() == expected
    seqs = bot.message_seqs()
    assert seqs == sorted(set(seqs))
    assert identifies == 1  # resumed, not re-identified
    reconnects = bot.telemetry.counter("shard_gateway_reconnects_total", "", ["kind"])
    assert reconnects.value("resume") == 1


async def test_zombie_connection_resumes() -> None:
    async with running_bot(heartbeat_interval_ms=200) as bot:
        await bot.connected()
        await bot.say("before")
        bot.emu.faults.drop_acks(1)
        await wait_for(lambda: bot.shard.status().reconnects == 1 and bot.shard.status().phase == "connected")
        await bot.say("after")
        await wait_for(lambda: bot.contents() == ["before", "after"])
        assert len(bot.emu.gateway.identifies) == 1
        assert bot.shard.heartbeat_latency is not None


async def test_op9_not_resumable_identifies_a_new_session() -> None:
    async with running_bot(identify_interval=0.5) as bot:
        await bot.connected()
        first_session = bot.shard.status().session_id
        bot.emu.faults.invalidate_session(False)
        await wait_for(
            lambda: len(bot.emu.gateway.identifies) == 2 and bot.shard.status().phase == "connected"
        )
        assert bot.shard.status().session_id != first_session
        await bot.say("fresh")
        await wait_for(lambda: "fresh" in bot.contents())


async def test_op1_heartbeat_request_is_answered() -> None:
    async with running_bot() as bot:
        await bot.connected()
        ops_before = sum(1 for _, op in bot.emu.gateway.client_ops if op == 1)
        bot.emu.faults.request_heartbeat()
        await wait_for(lambda: sum(1 for _, op in bot.emu.gateway.client_ops if op == 1) > ops_before)
        assert bot.shard.status().reconnects == 0


@pytest.mark.parametrize("compression", ["zlib-stream", None])
async def test_malformed_json_frame_is_dropped_and_the_connection_kept(compression: str | None) -> None:
    async with running_bot(compression=compression) as bot:
        await bot.connected()
        bot.emu.faults.malformed_frame("json")
        await bot.say("still here")
        await wait_for(lambda: bot.contents() == ["still here"])
        assert bot.shard.status().reconnects == 0
        assert bot.telemetry.counter("shard_gateway_bad_frames_total", "").value() == 1


async def test_corrupt_compressed_stream_resumes_without_loss() -> None:
    # bytes that are not a continuation of the zlib stream: nothing after them can be inflated, so the shard
    # drops the connection and resumes on a new one (with a new inflater)
    async with running_bot() as bot:
        await bot.connected()
        await bot.say("before")
        await wait_for(lambda: bot.contents() == ["before"])
        bot.emu.faults.malformed_frame("compression")
        await wait_for(lambda: bot.shard.status().reconnects == 1)
        await bot.say("after")
        await wait_for(lambda: bot.contents() == ["before", "after"])
        await wait_for(lambda: bot.shard.status().phase == "connected")
        assert len(bot.emu.gateway.identifies) == 1
        assert bot.telemetry.counter("shard_gateway_bad_frames_total", "").value() == 1


async def test_fatal_4004_stops_cleanly_without_retry() -> None:
    async with Emulator.running() as emu, RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest:
        shard = GatewayShard(
            token="not-the-token",
            intents=INTENTS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=DispatchRouter(),
            random=lambda: 0.01,
        )
        with trio.fail_after(8), pytest.raises(GatewayFatalError, match="4004") as info:
            await shard.run()
        assert info.value.code == 4004
        await trio.sleep(0.2)
        assert len(emu.gateway.connection_log) == 1  # no retry loop


async def test_a_rejected_gateway_certificate_stops_at_the_first_attempt(self_signed: SelfSigned) -> None:
    """Like a fatal close code: a wss:// gateway whose certificate fails verification is not retried (a
    reconnect loop would only hide the reason), and the error says what to check."""
    handshakes = 0

    async def refuse(stream: trio.SSLStream[trio.SocketStream]) -> None:
        nonlocal handshakes
        handshakes += 1
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.receive_some(1)  # the client aborts its handshake

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, refuse, 0, self_signed.server_context(), host="127.0.0.1")
        )
        port = listeners[0].transport_listener.socket.getsockname()[1]

        async def fetch_gateway_bot() -> dict[str, Any]:
            limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            return {"url": f"wss://127.0.0.1:{port}", "shards": 1, "session_start_limit": limit}

        shard = GatewayShard(
            token="token",
            intents=INTENTS,
            fetch_gateway_bot=fetch_gateway_bot,
            router=DispatchRouter(),
            random=lambda: 0.01,
        )
        with trio.fail_after(8), pytest.raises(GatewayFatalError, match="certificate") as info:
            await shard.run()
        assert "not reconnecting" in str(info.value) and "127.0.0.1" in str(info.value)
        assert info.value.code is None
        await trio.sleep(0.2)
        assert handshakes == 1  # no retry loop
        with pytest.raises(GatewayFatalError):  # a restart by a supervisor re-raises without connecting
            await shard.run()
        assert handshakes == 1
        nursery.cancel_scope.cancel()


async def test_fatal_4014_from_a_live_session_stops() -> None:
    async with running_bot() as bot:
        await bot.connected()
        bot.emu.faults.close(4014)
        await wait_for(lambda: bot.shard.fatal_error is not None)
        await trio.sleep(0.2)
        assert len(bot.emu.gateway.connection_log) == 1
        assert "disallowed intents" in str(bot.shard.fatal_error)
        assert "4014" in str(bot.rt.health())


async def test_outbound_limit_holds_commands_and_keeps_room_for_heartbeats() -> None:
    """The emulator closes with 4008 past 10 commands per second; 16 presence updates through the shard's
    mailbox must all arrive, without a 4008, with heartbeats still going out between them."""
    async with (
        Emulator.running(
            EmulatorConfig(gateway_send_limit=10, gateway_send_window=1.0, heartbeat_interval_ms=400)
        ) as emu,
        RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest,
    ):
        shard = GatewayShard(
            token=emu.token,
            intents=INTENTS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=DispatchRouter(),
            random=lambda: 0.01,
            command_limit=10,
            command_window=1.0,
            heartbeat_reserve=3,
        )
        spec = SupervisorSpec(id="root", children=[ChildSpec(id="gateway", run=shard.run)])
        async with open_runtime(spec) as rt:
            await wait_for(lambda: shard.status().phase == "connected")
            gateway = rt.ref("root/gateway")
            for i in range(16):
                assert gateway.tell(GatewayCommand(3, {"since": None, "activities": [], "status": "online",
                                                       "afk": False, "n": i}))  # fmt: skip
            ops = emu.gateway.client_ops
            await wait_for(lambda: sum(1 for _, op in ops if op == 3) == 16, timeout=10)
            assert shard.status().reconnects == 0
            presence_positions = [i for i, (_, op) in enumerate(ops) if op == 3]
            heartbeats_between = [
                i
                for i, (_, op) in enumerate(ops)
                if op == 1 and presence_positions[0] < i < presence_positions[-1]
            ]
            assert heartbeats_between  # heartbeats were not starved by the command burst
            assert len(emu.gateway.connection_log) == 1


async def test_two_shards_share_one_identify_queue_and_one_gateway_bot_fetch() -> None:
    async with (
        Emulator.running(EmulatorConfig(shard_count=2, max_concurrency=1)) as emu,
        RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest,
    ):
        fetches = 0

        async def counting_fetch() -> Any:
            nonlocal fetches
            fetches += 1
            return await rest.get_gateway_bot()

        cache = GatewayBotCache(counting_fetch, shards_to_start=2)
        granted: list[tuple[int, float]] = []

        class RecordingQueue(InMemoryIdentifyQueue):
            async def acquire(self, shard_id: int) -> None:
                await super().acquire(shard_id)
                granted.append((shard_id, trio.current_time()))

        queue = RecordingQueue(max_concurrency=1, interval=0.3)
        shards = [
            GatewayShard(
                token=emu.token,
                intents=INTENTS,
                fetch_gateway_bot=cache,
                router=DispatchRouter(),
                shard_id=shard_id,
                identify_queue=queue,
                random=lambda: 0.01,
            )
            for shard_id in (0, 1)
        ]
        async with trio.open_nursery() as nursery:
            for shard in shards:
                nursery.start_soon(shard.run)
            await wait_for(lambda: all(s.status().phase == "connected" for s in shards))
            nursery.cancel_scope.cancel()
    assert sorted((r.shard_id, r.shard_count) for r in emu.gateway.identifies) == [(0, 2), (1, 2)]
    assert sorted(shard_id for shard_id, _ in granted) == [0, 1]
    assert granted[1][1] - granted[0][1] >= 0.3  # one bucket: one identify per interval
    assert fetches == 1


async def test_gateway_bot_cache_refuses_when_the_start_budget_is_short() -> None:
    async def fetch() -> dict[str, Any]:
        return {
            "url": "wss://gateway.example",
            "shards": 4,
            "session_start_limit": {
                "total": 1000,
                "remaining": 3,
                "reset_after": 60_000,
                "max_concurrency": 1,
            },
        }

    with pytest.raises(SessionStartLimitError, match="4 shard"):
        await GatewayBotCache(fetch, shards_to_start=4)()


async def test_a_restarted_shard_resumes_its_session() -> None:
    """A worker that dies (here: cancelled from outside, as a supervisor does) closes with a resumable code;
    running the same shard again resumes the session instead of identifying, and replays what was missed."""
    async with Emulator.running() as emu, RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest:
        seen: list[Frame] = []
        shard = GatewayShard(
            token=emu.token,
            intents=INTENTS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=DispatchRouter(others=seen.append),
            random=lambda: 0.01,
        )
        sandbox = emu.sandbox_guild

        def contents() -> list[str]:
            return [f.d["content"] for f in seen if f.t == "MESSAGE_CREATE"]

        with trio.CancelScope() as first_run:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(shard.run)
                await wait_for(lambda: shard.status().phase == "connected")
                await emu.send_user_message(sandbox.general.id, sandbox.owner.id, "one")
                await wait_for(lambda: contents() == ["one"])
                first_run.cancel()
        await emu.send_user_message(sandbox.general.id, sandbox.owner.id, "while down")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(shard.run)
            await wait_for(lambda: contents() == ["one", "while down"])
            await wait_for(lambda: shard.status().phase == "connected")
            nursery.cancel_scope.cancel()
        assert len(emu.gateway.identifies) == 1
        assert [f.t for f in seen].count("RESUMED") == 1


async def test_fleet_runs_every_recommended_shard_under_the_runtime() -> None:
    async with (
        Emulator.running(EmulatorConfig(shard_count=2)) as emu,
        RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest,
    ):
        identity = BotIdentity()
        seen: list[Frame] = []
        fleet = GatewayFleet(
            token=emu.token,
            intents=INTENTS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=DispatchRouter(guilds_path="root/guilds"),
            identity=identity,
            identify_queue=InMemoryIdentifyQueue(max_concurrency=2),
            random=lambda: 0.01,
        )
        spec = SupervisorSpec(
            id="root",
            children=[
                guilds_spec(identity=identity, listeners=[seen.append]),
                ChildSpec(id="gateway", run=fleet.run, restart=Restart.TRANSIENT),
            ],
        )
        async with open_runtime(spec) as rt:
            await wait_for(lambda: len(fleet.shards) == 2 and all(s.status().connected for s in fleet.shards))
            statuses = await rt.ref("root/gateway").call(GetShardStatus())
            assert [(s.shard_id, s.shard_count) for s in statuses] == [(0, 2), (1, 2)]
            sandbox = emu.sandbox_guild
            owner = fleet.shard_of(sandbox.id)
            assert owner is not None and owner.shard_id == shard_for_guild(sandbox.id, 2)
            await emu.send_user_message(sandbox.general.id, sandbox.owner.id, "across the fleet")
            await wait_for(lambda: any(f.t == "MESSAGE_CREATE" for f in seen))
            guild = await rt.keyed("root/guilds").ref(sandbox.id).call(GetGuild())
            assert guild.name == sandbox.guild.name
            presence = {"since": None, "activities": [], "status": "idle", "afk": False}
            await rt.ref("root/gateway").call(GatewayCommand(3, presence, shard_id=1))
            assert fleet.heartbeat_latency is None or fleet.heartbeat_latency >= 0
        assert sorted(r.shard_id for r in emu.gateway.identifies) == [0, 1]


async def test_fleet_stops_with_the_fatal_error_of_its_shards() -> None:
    async with (
        Emulator.running(EmulatorConfig(shard_count=2)) as emu,
        RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest,
    ):
        fleet = GatewayFleet(
            token="not-the-token",
            intents=INTENTS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=DispatchRouter(),
            identify_queue=InMemoryIdentifyQueue(max_concurrency=2),
            random=lambda: 0.01,
        )
        with trio.fail_after(8), pytest.raises(GatewayFatalError, match="4004"):
            await fleet.run()
        with pytest.raises(GatewayFatalError):  # a restart does not reconnect
            await fleet.run()
        assert len(emu.gateway.connection_log) <= 2


async def test_fatal_close_under_the_runtime_ends_it_with_the_reason() -> None:
    """gateway_child + a bad token: the runtime stops (escalation) and the cause names the fatal code."""
    async with Emulator.running() as emu, RestClient(emu.api_base, emu.token, LocalRateLimiter()) as rest:
        identity = BotIdentity()
        fleet = GatewayFleet(
            token="not-the-token",
            intents=INTENTS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=DispatchRouter(guilds_path="root/guilds"),
            identity=identity,
            random=lambda: 0.01,
        )
        spec = SupervisorSpec(
            id="root", children=[guilds_spec(identity=identity, listeners=[]), gateway_child(fleet)]
        )
        with trio.fail_after(20), pytest.raises(SupervisorEscalation) as info:
            async with open_runtime(spec):
                await trio.sleep_forever()
        causes = []
        error: BaseException | None = info.value
        while error is not None:
            causes.append(error)
            error = error.__cause__ or error.__context__
        assert any(isinstance(e, GatewayFatalError) and e.code == 4004 for e in causes), causes
        assert len(emu.gateway.connection_log) == 1  # restarts never reconnected


# ------------------------------------------------------------------------------------------ the guild load


@attrs.define
class LoadEvents:
    """A `GuildLoadListener` that records what it is told."""

    calls: list[tuple[str, int]] = attrs.field(factory=list)

    def load_started(self, shard_id: int) -> None:
        self.calls.append(("started", shard_id))

    def load_finished(self, shard_id: int) -> None:
        self.calls.append(("finished", shard_id))


async def _add_guilds(emu: Emulator, count: int) -> list[int]:
    return [(await emu.add_guild(f"guild {n}", text_channels=2, announce=False)).id for n in range(count)]


async def test_the_shard_reports_its_guild_load_from_ready_to_the_last_guild() -> None:
    added: list[int] = []

    async def world(emu: Emulator) -> None:
        added.extend(await _add_guilds(emu, 40))
        emu.faults.guild_unavailable(added[0])  # an outage: accounted for by a GUILD_DELETE

    listener = LoadEvents()
    options = {"guild_load_listener": listener}
    async with running_bot(prepare=world, shard_options=options) as bot:
        seen_frames = bot.guild_events
        await bot.connected()
        await wait_for(lambda: len(listener.calls) == 2)
        assert listener.calls == [("started", 0), ("finished", 0)]
        status = bot.shard.status()
        assert status.guilds is not None
        assert status.guilds.startswith("41 guilds loaded in ")  # the sandbox guild and the 40 added
        load = bot.shard.guild_load
        assert load is not None and load.done and not load.timed_out and load.pending == set()
        # every guild actor got its dispatch: 40 GUILD_CREATE and the outage's GUILD_DELETE
        await wait_for(lambda: len([f for f in seen_frames if f.t in ("GUILD_CREATE", "GUILD_DELETE")]) == 41)
        assert [f.t for f in seen_frames if f.d.get("id") == str(added[0])] == ["GUILD_DELETE"]
        # a guild joined later is not part of the load and reports nothing more
        await bot.emu.add_guild("joined later")
        await wait_for(lambda: len([f for f in seen_frames if f.t == "GUILD_CREATE"]) == 41)
        assert len(listener.calls) == 2


async def test_a_stalled_guild_load_ends_after_the_idle_timeout(
    autojump_clock: trio.testing.MockClock,
) -> None:
    missing: list[int] = []

    async def world(emu: Emulator) -> None:
        guild_ids = await _add_guilds(emu, 5)
        missing.extend(guild_ids[:2])
        emu.faults.withhold_initial_guilds(*missing)

    listener = LoadEvents()
    options = {"guild_load_listener": listener, "guild_load_idle_timeout": 10.0}
    async with running_bot(prepare=world, shard_options=options) as bot:
        await bot.connected()
        await wait_for(lambda: len(listener.calls) == 2, timeout=30)
        assert listener.calls == [("started", 0), ("finished", 0)]
        status = bot.shard.status().guilds
        assert status is not None and status.endswith("; 2 did not arrive")
        assert status.startswith("4 of 6 guilds loaded in ")
        load = bot.shard.guild_load
        assert load is not None and load.timed_out and load.finished_at is not None
        assert load.pending == {str(g) for g in missing}
        # it waited the idle timeout after the last guild that did arrive, and not longer
        assert load.finished_at - load.last_progress_at == pytest.approx(10.0, abs=0.01)
