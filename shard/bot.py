"""Assembling the whole bot: storage, the REST client, the command system, the gateway, in one tree.

Why an async context manager and not just a list of child specs: three things the tree's children share must
be opened *before* the tree starts and closed *after* it stops — the database (embedded server, trio-asyncio
loop, pool), the pooled HTTP client, and the command registry/router built on both. `assemble` opens them in
that order, yields a `BotAssembly` whose `children` go to `shard.app.run_bot`, and closes them in reverse
order, so a graceful shutdown stops the gateway, drains the executor and flushes the storage writer while the
pool and the HTTP client are still open.

Why a `RuntimeSlot`: the REST client's limiter is the rate-limiter *actor*, addressed through a ref, and refs
come from the runtime — which exists only once the tree (that needs the REST client) is built. `run_bot`
hands the freshly constructed runtime to `RuntimeSlot.bind` before any child starts (refs are valid from
construction: supervision builds every node up front), so the first REST request, made by the gateway fleet
when it starts, already goes through the actor. A request made with no runtime bound is a programming error
and says so.

Children, in start order (stopped in reverse): storage writer → rate limiter → command executor → guild
supervisor → gateway fleet. The gateway comes last so nothing is routed to an actor that has not started, and
stops first so no new work arrives while the rest drains.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import attrs
import trio

from actors.executor import CommandExecutor
from actors.gateway_shard import DispatchRouter, GatewayFleet, gateway_child
from actors.guild import guilds_spec
from actors.ratelimiter import ActorRateLimiter, ratelimiter_child
from actors.storage_writer import StorageWriter, activity_listener, storage_writer_child
from protocol.gateway import BotIdentity, intents_from_names
from protocol.rest import RestClient
from protocol.rest.buckets import LimiterConfig
from protocol.rest.errors import HTTPError
from protocol.rest.limiter import Permit
from protocol.rest.routes import CompiledRoute
from shard import gc_policy
from shard.app import ROOT_ID, AnyChild, run_bot
from shard.cli_storage import storage_options, writer_settings
from shard.config import Config
from shard.features import core, links
from shard.health_http import BoundAddress
from shard.interactions import CommandRegistry, Pagination
from shard.interactions.storage import StoredAudit
from shard.interactions.wiring import (
    EXECUTOR_PATH,
    build_router,
    executor_child,
    interaction_sink,
    sync_at_startup,
)
from storage import Database, open_storage
from storage.repositories.activity import ActivityWriteModel
from storage.repositories.commands import AuditLogRepository
from storage.repositories.links import LinkRepository
from supervision import Runtime
from supervision.telemetry import Telemetry

__all__ = [
    "BotAssembly",
    "FeatureDeps",
    "RunningBot",
    "RuntimeSlot",
    "assemble",
    "register_features",
    "serve",
]

log = logging.getLogger(__name__)

RATELIMITER_ID = "ratelimiter"
GATEWAY_CONNECT_WAIT_S = 30.0
GUILDS_ID = "guilds"


class RuntimeSlot:
    """Holds the running `Runtime` for objects built before it (see the module docstring)."""

    __slots__ = ("_runtime",)

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    def bind(self, runtime: Runtime) -> None:
        self._runtime = runtime

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            raise RuntimeError("the supervision runtime is not running yet")
        return self._runtime


class SlotRateLimiter:
    """`protocol.rest.limiter.RateLimiter` through the rate-limiter actor, resolved on first use."""

    __slots__ = ("_config", "_delegate", "_path", "_slot")

    def __init__(self, slot: RuntimeSlot, path: str, config: LimiterConfig) -> None:
        self._slot = slot
        self._path = path
        self._config = config
        self._delegate: ActorRateLimiter | None = None

    @property
    def max_wait(self) -> float:
        return self._config.max_wait

    async def acquire(self, route: CompiledRoute) -> Permit:
        delegate = self._delegate
        if delegate is None:
            ref = self._slot.runtime.ref(self._path)
            delegate = self._delegate = ActorRateLimiter(ref, max_wait=self._config.max_wait)
        return await delegate.acquire(route)


@attrs.define
class BotAssembly:
    """Everything the tree needs, opened; `children` go to `shard.app.run_bot` in this order."""

    config: Config
    db: Database
    rest: RestClient
    registry: CommandRegistry
    fleet: GatewayFleet
    slot: RuntimeSlot
    children: list[AnyChild]

    async def sync_commands(self) -> None:
        """Diff the command set against Discord's once per process, writing only when it differs."""
        application_id = self.config.discord.application_id
        if application_id is None:
            application = await self.rest.get_current_application()
            application_id = int(application["id"])
        result = await sync_at_startup(self.config, self.registry, self.rest, application_id)
        log.info("command sync: %s", "written" if result.written else "already up to date")


FeatureRegistrar = Callable[[CommandRegistry, "FeatureDeps"], None]


@attrs.define(frozen=True)
class FeatureDeps:
    """What feature modules may use when they register their commands (constructor injection, no locator).

    ``db`` is None when only the command *definitions* are needed (`shard commands list|diff|sync`): handlers
    are never run then, so features get stores that answer "storage unavailable".
    """

    config: Config
    db: Database | None
    telemetry: Telemetry
    heartbeat_latency: Callable[[], float | None]


def register_features(registry: CommandRegistry, deps: FeatureDeps) -> None:
    """The one place feature modules are registered (each module exposes ``register``)."""
    core.register(
        registry,
        heartbeat_latency=deps.heartbeat_latency,
        rest_latency=core.rest_latency_from(deps.telemetry),
    )
    db = deps.db
    links.register(
        registry,
        links=LinkRepository(db) if db is not None else links.StorageNotOpen(),
        pagination=Pagination(registry),
        # a denied /link edit is audited like the router's denials
        audit=StoredAudit(AuditLogRepository(db)) if db is not None else None,
    )


def definitions_only(config: Config) -> CommandRegistry:
    """The bot's command set without opening anything (for the `shard commands` CLI)."""
    registry = CommandRegistry()
    register_features(registry, FeatureDeps(config, None, Telemetry(), lambda: None))
    return registry


@contextlib.asynccontextmanager
async def assemble(
    config: Config,
    *,
    telemetry: Telemetry,
    features: Sequence[FeatureRegistrar] = (register_features,),
    announce: Callable[[str], None] | None = None,
) -> AsyncIterator[BotAssembly]:
    """Open storage and the REST client, build the command system and the tree's children."""
    if config.discord.token is None:
        raise ValueError("assembling the bot needs a Discord token (the sandbox supplies the emulator's)")
    token = config.discord.token.reveal()
    slot = RuntimeSlot()
    storage_kwargs: dict[str, Any] = {"telemetry": telemetry}
    if announce is not None:
        storage_kwargs["announce"] = announce
    async with open_storage(storage_options(config.storage), **storage_kwargs) as storage:
        limiter_config = LimiterConfig.for_rate(
            config.rest.global_rate_per_s, max_wait=config.rest.max_rate_limit_wait_s
        )
        limiter = SlotRateLimiter(slot, f"{ROOT_ID}/{RATELIMITER_ID}", limiter_config)
        async with RestClient(
            config.discord.api_base, token, limiter, telemetry=telemetry, timeout=config.rest.timeout_s
        ) as rest:
            writer = StorageWriter(
                ActivityWriteModel(storage.db), settings=writer_settings(config.storage), telemetry=telemetry
            )
            executor = CommandExecutor(telemetry=telemetry)
            identity = BotIdentity()
            registry = CommandRegistry()
            router = build_router(
                config, registry, rest, executor, telemetry=telemetry, db=storage.db, history=writer
            )
            dispatch = DispatchRouter(
                interactions=interaction_sink(
                    lambda: slot.runtime.ref(EXECUTOR_PATH), router, direct=executor
                ),
                guilds_path=f"{ROOT_ID}/{GUILDS_ID}",
            )
            compression = None if config.discord.compression == "none" else config.discord.compression
            fleet = GatewayFleet(
                token=token,
                intents=int(intents_from_names(config.discord.intents)),
                fetch_gateway_bot=rest.get_gateway_bot,
                router=dispatch,
                shard_count=config.discord.shard_count,
                identity=identity,
                telemetry=telemetry,
                compression=compression,
                guild_load_listener=gc_policy.CollectorPausedDuringLoad(),
            )
            deps = FeatureDeps(config, storage.db, telemetry, lambda: fleet.heartbeat_latency)
            for register in features:
                register(registry, deps)
            children: list[AnyChild] = [
                storage_writer_child(writer),
                ratelimiter_child(limiter_config, telemetry=telemetry, child_id=RATELIMITER_ID),
                executor_child(executor),
                guilds_spec(identity=identity, listeners=[activity_listener(writer)], child_id=GUILDS_ID),
                gateway_child(fleet),
            ]
            yield BotAssembly(config, storage.db, rest, registry, fleet, slot, children)


@attrs.define
class RunningBot:
    """A started bot: its runtime and the opened pieces (for the sandbox console and tests)."""

    runtime: Runtime
    assembly: BotAssembly


async def serve(
    config: Config,
    *,
    telemetry: Telemetry | None = None,
    features: Sequence[FeatureRegistrar] = (register_features,),
    health_bound: BoundAddress | None = None,
    handle_signals: bool = True,
    announce: Callable[[str], None] | None = None,
    task_status: trio.TaskStatus[RunningBot] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the whole bot until SIGINT/SIGTERM (or until cancelled without `handle_signals`).

    ``await nursery.start(serve, config)`` returns a `RunningBot` once every child has started and the command
    set has been synced (once per process: reconnects never sync).
    """
    telemetry = telemetry if telemetry is not None else Telemetry()
    with gc_policy.PauseObserver(telemetry):
        async with (
            assemble(config, telemetry=telemetry, features=features, announce=announce) as bot,
            trio.open_nursery() as nursery,
        ):
            start = functools.partial(
                run_bot,
                config,
                telemetry=telemetry,
                children=bot.children,
                health_bound=health_bound,
                handle_signals=handle_signals,
                on_runtime=bot.slot.bind,
                readiness_checks=[bot.fleet.readiness],
            )
            runtime: Runtime = await nursery.start(start)
            try:
                await bot.sync_commands()
            except HTTPError as exc:
                log.error("command sync failed (the bot keeps running with Discord's current set): %s", exc)
            with trio.move_on_after(GATEWAY_CONNECT_WAIT_S) as waited:
                await bot.fleet.wait_connected()
            if waited.cancelled_caught:
                log.warning("the gateway has no session after %.0f s; still trying", GATEWAY_CONNECT_WAIT_S)
            task_status.started(RunningBot(runtime, bot))
