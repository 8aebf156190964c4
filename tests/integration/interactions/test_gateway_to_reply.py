"""Dispatch in, REST out: the emulator's gateway delivers INTERACTION_CREATE to the real gateway shard, whose
sink hands it to the supervised executor, whose router answers through the real REST client."""

from __future__ import annotations

import trio

from actors.executor import CommandExecutor
from actors.gateway_shard import DispatchRouter, GatewayShard
from protocol.emulator import Emulator
from protocol.gateway.identity import BotIdentity
from protocol.gateway.intents import Intents
from protocol.rest import LocalRateLimiter, RestClient
from shard.features import core
from shard.interactions import (
    CommandRegistry,
    CommandSyncer,
    CustomIdCodec,
    InteractionRouter,
    PermissionResolver,
)
from shard.interactions.wiring import EXECUTOR_PATH, executor_child, interaction_sink
from supervision import ChildSpec, Restart, SupervisorSpec, open_runtime
from tests.fixtures.interactions import SECRET, Pagination, register_test_commands


async def test_slash_commands_arrive_over_the_gateway_and_are_answered(emulator: Emulator) -> None:
    guild = emulator.sandbox_guild
    registry = CommandRegistry()
    register_test_commands(registry, Pagination(registry), slow_seconds=0.5)
    executor = CommandExecutor()
    async with RestClient(emulator.api_base, emulator.token, LocalRateLimiter()) as rest:
        router = InteractionRouter(
            registry,
            rest,
            codec=CustomIdCodec(SECRET),
            permissions=PermissionResolver([guild.owner.id]),
            spawner=executor,
            auto_defer_after=0.2,
        )
        runtime_box: list[object] = []
        sink = interaction_sink(lambda: runtime_box[0].ref(EXECUTOR_PATH), router)  # type: ignore[attr-defined]
        shard = GatewayShard(
            token=emulator.token,
            intents=Intents.GUILDS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=DispatchRouter(interactions=sink),
            identity=BotIdentity(),
            random=lambda: 0.01,
        )
        core.register(registry, heartbeat_latency=lambda: shard.heartbeat_latency)
        await CommandSyncer(rest, emulator.application_id).sync(registry.payloads(), guild_id=guild.id)
        spec = SupervisorSpec(
            id="root",
            children=[
                executor_child(executor),
                ChildSpec(id="gateway", run=shard.run, restart=Restart.TEMPORARY),
            ],
        )
        async with open_runtime(spec) as runtime:
            runtime_box.append(runtime)
            await emulator.wait_for_sessions(1)
            echo = await emulator.invoke_slash(
                guild.id, guild.members[0].id, "echo", {"text": "over the wire"}
            )
            assert (await echo.response()).content == "over the wire"
            slow = await emulator.invoke_slash(guild.id, guild.members[0].id, "slow")
            final = await slow.final()
            assert final.deferred and final.content == "finally" and not slow.failed
            denied = await emulator.invoke_slash(guild.id, guild.admin.id, "shutdown")
            refused = await denied.response()
            assert refused.ephemeral and "bot owner" in (refused.content or "")
            with trio.fail_after(5):
                while shard.heartbeat_latency is None:
                    await trio.sleep(0.05)
            ping = await emulator.invoke_slash(guild.id, guild.members[0].id, "ping")
            pong = await ping.final()
            assert pong.content is not None and "Gateway heartbeat: n/a" not in pong.content
