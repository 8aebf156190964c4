"""Our runtime without the application: the hot path of ``shard run`` minus storage and the features.

Why this exists: ``--bots ours`` measures the whole community bot (command history, the stats capture of
every message into PostgreSQL, permission and settings reads, telemetry, health endpoints), which the peer
bots do not do. This module starts only the components a minimal bot needs — `GatewayFleet` with its
`DispatchRouter`, the keyed guild supervisor (`actors.guild.guilds_spec`), the `CommandExecutor` with the
interaction router and the built-in ``/ping`` (`shard.features.core`), and one pooled `RestClient` — under
one root supervisor, so ``--bots ours-parts`` shows what the runtime itself costs next to the peers and
``ours`` minus ``ours-parts`` is what the application adds. ``ours`` is the row the targets are checked on.

``/ping`` gets the REST latency source (`rest_latency_from`), so it answers with one REST call; ``/count``
answers ``count=N`` with the events the guild actors' listener saw (for the event-stream check).

Environment: ``DISCORD_TOKEN``, ``DISCORD_API_BASE``.
"""

from __future__ import annotations

import logging
import os

import trio

from actors.executor import CommandExecutor
from actors.gateway_shard import DispatchRouter, GatewayFleet
from actors.guild import guilds_spec
from protocol.gateway.frames import Frame
from protocol.gateway.identity import BotIdentity
from protocol.models import Interaction, warm_up
from protocol.rest.client import RestClient
from protocol.rest.limiter import LocalRateLimiter
from shard import gc_policy
from shard.config import RuntimeConfig
from shard.features import core
from shard.interactions import NO_COOLDOWN, CommandRegistry, InteractionContext
from shard.interactions.custom_ids import CustomIdCodec
from shard.interactions.permissions import PermissionResolver
from shard.interactions.router import InteractionRouter
from shard.interactions.wiring import EXECUTOR_PATH, custom_id_secret, executor_child, interaction_sink
from supervision import ChildSpec, Restart, Runtime, SupervisorSpec, open_runtime
from supervision.telemetry import Telemetry

#: guilds | guild members | guild messages | reactions | typing, as the peers ask for.
INTENTS = (1 << 0) | (1 << 1) | (1 << 9) | (1 << 10) | (1 << 11)
COUNTED_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_REACTION_ADD", "TYPING_START", "GUILD_MEMBER_UPDATE"})


async def run(token: str, api_base: str) -> None:
    telemetry = Telemetry()
    counted = [0]

    def count_events(frame: Frame) -> None:
        if frame.t in COUNTED_EVENTS:
            counted[0] += 1

    async with RestClient(api_base, token, LocalRateLimiter(), telemetry=telemetry) as rest:
        registry = CommandRegistry()
        identity = BotIdentity()
        fleet_box: list[GatewayFleet] = []

        def heartbeat() -> float | None:
            return fleet_box[0].heartbeat_latency if fleet_box else None

        core.register(registry, heartbeat_latency=heartbeat, rest_latency=core.rest_latency_from(telemetry))

        @registry.slash(
            "count",
            description="How many events the guild actors' listener counted (benchmarks)",
            examples=["/count"],
            category="Benchmark",
            cooldown=NO_COOLDOWN,
        )
        async def count(ctx: InteractionContext) -> None:
            await ctx.reply(f"count={counted[0]}")

        executor = CommandExecutor(telemetry=telemetry)
        warm_up(Interaction)  # as `shard.interactions.wiring.build_router` does for `shard run`
        router = InteractionRouter(
            registry,
            rest,
            codec=CustomIdCodec(custom_id_secret(token)),
            permissions=PermissionResolver(()),
            spawner=executor,
            telemetry=telemetry,
        )
        runtime_box: list[Runtime] = []
        dispatch = DispatchRouter(
            interactions=interaction_sink(lambda: runtime_box[0].ref(EXECUTOR_PATH), router, direct=executor),
            guilds_path="root/guilds",
        )
        fleet = GatewayFleet(
            token=token,
            intents=INTENTS,
            fetch_gateway_bot=rest.get_gateway_bot,
            router=dispatch,
            identity=identity,
            telemetry=telemetry,
            guild_load_listener=gc_policy.CollectorPausedDuringLoad(),
        )
        fleet_box.append(fleet)
        tree = SupervisorSpec(
            "root",
            children=[
                executor_child(executor),
                guilds_spec(identity=identity, listeners=[count_events]),
                ChildSpec("gateway", run=fleet.run, restart=Restart.TRANSIENT),
            ],
        )
        async with open_runtime(tree) as runtime:
            runtime_box.append(runtime)
            await trio.sleep_forever()


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    gc_policy.apply(RuntimeConfig().gc_gen0_threshold)  # the runtime settings `shard run` applies
    trio.run(run, os.environ["DISCORD_TOKEN"], os.environ["DISCORD_API_BASE"])


if __name__ == "__main__":
    main()
