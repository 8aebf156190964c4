"""How the command system plugs into the bot: the executor's child spec, the gateway sink, the router.

Everything here is construction, kept in one place so `shard.app` adds the command system with three calls
and tests build exactly the same thing:

    executor = CommandExecutor(telemetry=telemetry)
    router = build_router(config, registry, rest, executor, telemetry=telemetry, db=db)
    children.append(executor_child(executor))                       # under the root supervisor
    DispatchRouter(interactions=interaction_sink(lambda: rt.ref(EXECUTOR_PATH), router, direct=executor), ...)
    await sync_at_startup(config, registry, rest, application_id)    # once per process

Why the executor instance outlives restarts (the spec's factory returns the same object): the router holds
it as its `Spawner` for view timeouts, and `CommandExecutor` keeps no state that a crash could corrupt —
each incarnation gets a fresh nursery through its context. Why interactions drop (not block) on a full
mailbox: the sink runs in the gateway's receive loop, which must never wait; a dropped interaction is a
counted dead letter (and the user sees Discord's "did not respond"), a blocked gateway is every guild stalled.

The custom_id signing secret is derived from the bot token when there is one (an HMAC with a fixed label, so
it is stable across restarts and never the token itself), and random per process otherwise (the sandbox).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from typing import Any, Protocol

import trio

from actors.executor import CommandExecutor, Execute
from protocol.models import Interaction, warm_up
from shard.interactions.cooldowns import Cooldown
from shard.interactions.custom_ids import CustomIdCodec
from shard.interactions.errors import ErrorReporter
from shard.interactions.permissions import PermissionResolver
from shard.interactions.registry import CommandRegistry
from shard.interactions.rest import DiscordRest
from shard.interactions.router import HistorySink, InteractionRouter
from shard.interactions.sync import CommandSyncer, SyncResult
from supervision import ChildSpec, MailboxSpec, Overflow, Restart
from supervision.telemetry import Telemetry

EXECUTOR_ID = "executor"
EXECUTOR_PATH = f"root/{EXECUTOR_ID}"
_SECRET_LABEL = b"twi-bot-shard custom_id v1"


class Tellable(Protocol):
    def tell(self, msg: Any) -> bool: ...


def custom_id_secret(token: str | None, configured: str | None = None) -> bytes:
    """The key that signs custom_ids: derived from the configured secret (``[commands] custom_id_secret``)
    when there is one, else from the token, else random (components then die with the process)."""
    source = configured or token
    if not source:
        return secrets.token_bytes(32)
    return hmac.new(source.encode(), _SECRET_LABEL, hashlib.sha256).digest()


def executor_child(executor: CommandExecutor, *, capacity: int = 4096) -> ChildSpec:
    """The command executor as a supervised, critical child."""
    return ChildSpec(
        id=EXECUTOR_ID,
        factory=lambda: executor,
        restart=Restart.PERMANENT,
        shutdown_timeout=10.0,
        mailbox=MailboxSpec(capacity=capacity, overflow=Overflow.DROP_NEWEST),
        critical=True,
        kind="executor",
    )


def interaction_sink(
    executor: Callable[[], Tellable],
    router: InteractionRouter,
    *,
    direct: CommandExecutor | None = None,
) -> Callable[[Any], object]:
    """A gateway ``EventSink``: each INTERACTION_CREATE frame becomes a job, without blocking.

    ``executor`` returns the executor's ref; it is called on the first interaction that needs it, once the
    runtime runs. With ``direct`` (the executor actor behind that ref) a job starts at once while a slot is
    free (`CommandExecutor.try_start`), and only goes through the mailbox as an `Execute` otherwise.
    """
    resolved: list[Tellable] = []

    def sink(frame: Any) -> object:
        job = functools.partial(router.handle, frame.d, received_at=trio.current_time())
        if direct is not None and direct.try_start(job):
            return True
        if not resolved:
            resolved.append(executor())
        return resolved[0].tell(Execute(job))

    return sink


def build_router(
    config: Any,
    registry: CommandRegistry,
    rest: DiscordRest,
    executor: CommandExecutor,
    *,
    telemetry: Telemetry | None = None,
    db: Any = None,
    history: HistorySink | None = None,
) -> InteractionRouter:
    """The router from the configuration (``shard.config.Config``), with storage when ``db`` is given and
    command history when ``history`` (the storage writer) is. The interaction parser's code is generated
    here, while the bot starts, rather than inside the first user's command."""
    warm_up(Interaction)
    telemetry = telemetry or Telemetry()
    token = config.discord.token.reveal() if config.discord.token is not None else None
    configured_key = config.commands.custom_id_secret  # a Secret, or None: derive from the token
    signing_key = configured_key.reveal() if configured_key is not None else None
    default_seconds = float(config.commands.default_cooldown_s)
    guild_roles = audit = settings = sink = None
    if db is not None:
        from shard.interactions.storage import (
            StoredAudit,
            StoredCommandSettings,
            StoredErrors,
            StoredGuildRoles,
        )
        from storage.repositories.commands import (
            AuditLogRepository,
            CommandErrorRepository,
            CommandSettingsRepository,
        )
        from storage.repositories.guild_settings import GuildSettingsRepository

        guild_roles = StoredGuildRoles(GuildSettingsRepository(db))
        audit = StoredAudit(AuditLogRepository(db))
        settings = StoredCommandSettings(CommandSettingsRepository(db))
        sink = StoredErrors(CommandErrorRepository(db))
    return InteractionRouter(
        registry,
        rest,
        codec=CustomIdCodec(custom_id_secret(token, signing_key)),
        permissions=PermissionResolver(config.commands.owner_ids, guild_roles),
        spawner=executor,
        errors=ErrorReporter(sink, telemetry),
        audit=audit,
        settings=settings,
        telemetry=telemetry,
        default_cooldown=Cooldown(1, default_seconds) if default_seconds > 0 else None,
        history=history,
    )


def sync_scope(config: Any) -> int | None:
    """Where start-up sync writes: the dev guild in the development profile (if set), else global."""
    dev_guild: int | None = config.commands.dev_guild_id
    return dev_guild if config.profile == "development" else None


async def sync_at_startup(
    config: Any, registry: CommandRegistry, rest: DiscordRest, application_id: int
) -> SyncResult:
    """Diff once at start-up and write only if different (call it once per process, never per connect)."""
    return await CommandSyncer(rest, application_id).sync(registry.payloads(), sync_scope(config))
