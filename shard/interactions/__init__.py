"""The command framework: registry, router, options, permissions, cooldowns, components, pagination, sync.

Wiring (the application does this once)::

    registry = CommandRegistry()
    core.register(registry, heartbeat_latency=gateway.latency)  # each feature module
    executor = CommandExecutor()  # actors.executor, run under supervision
    router = InteractionRouter(
        registry, rest, codec=CustomIdCodec(secret), permissions=PermissionResolver(owner_ids, settings),
        spawner=executor, errors=ErrorReporter(error_sink, telemetry), audit=audit_log, telemetry=telemetry,
    )
    # gateway / guild actor, per INTERACTION_CREATE:
    executor_ref.tell(Execute(functools.partial(router.handle, payload, received_at=trio.current_time())))
"""

from shard.interactions.context import InteractionContext, Phase, Spawner, disable_components, message_body
from shard.interactions.cooldowns import NO_COOLDOWN, Cooldown, CooldownBucket, CooldownTracker
from shard.interactions.custom_ids import CustomIdCodec
from shard.interactions.errors import (
    CommandError,
    ConflictError,
    CooldownError,
    ErrorRecord,
    ErrorReporter,
    ErrorSink,
    ExternalServiceError,
    ForgedCustomIdError,
    NotFoundError,
    PermissionDeniedError,
    StorageUnavailableError,
    ValidationError,
)
from shard.interactions.options import Choice, DefinitionError, Mentionable, Option
from shard.interactions.pagination import Page, Pagination, pages_from_lines
from shard.interactions.permissions import (
    GuildRoles,
    GuildRoleSettings,
    PermissionLevel,
    PermissionResolver,
    default_member_permissions_for,
)
from shard.interactions.registry import (
    CommandGroup,
    CommandRegistry,
    ComponentRoute,
    ContextMenuCommand,
    SlashCommand,
)
from shard.interactions.rest import DiscordRest
from shard.interactions.router import AuditSink, CommandSettings, CommandSettingsSource, InteractionRouter
from shard.interactions.sync import CommandDiff, CommandSyncer, SyncResult, diff_commands, normalise_command

__all__ = [
    "NO_COOLDOWN",
    "AuditSink",
    "Choice",
    "CommandDiff",
    "CommandError",
    "CommandGroup",
    "CommandRegistry",
    "CommandSettings",
    "CommandSettingsSource",
    "CommandSyncer",
    "ComponentRoute",
    "ConflictError",
    "ContextMenuCommand",
    "Cooldown",
    "CooldownBucket",
    "CooldownError",
    "CooldownTracker",
    "CustomIdCodec",
    "DefinitionError",
    "DiscordRest",
    "ErrorRecord",
    "ErrorReporter",
    "ErrorSink",
    "ExternalServiceError",
    "ForgedCustomIdError",
    "GuildRoleSettings",
    "GuildRoles",
    "InteractionContext",
    "InteractionRouter",
    "Mentionable",
    "NotFoundError",
    "Option",
    "Page",
    "Pagination",
    "PermissionDeniedError",
    "PermissionLevel",
    "PermissionResolver",
    "Phase",
    "SlashCommand",
    "Spawner",
    "StorageUnavailableError",
    "SyncResult",
    "ValidationError",
    "default_member_permissions_for",
    "diff_commands",
    "disable_components",
    "message_body",
    "normalise_command",
    "pages_from_lines",
]
