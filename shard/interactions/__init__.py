"""The command framework: registry, router, options, permissions, cooldowns, components, pagination, sync.

Writing a feature (one module under ``shard/features/``, registered in one place)::

    def register(registry: CommandRegistry, *, links: LinkRepository, pagination: Pagination) -> None:
        group = registry.group("link", description="Saved links", category="Links")

        async def titles(ctx: InteractionContext, typed: str) -> list[str]:      # autocomplete
            return await links.titles_starting_with(ctx.guild_id, typed)

        @group.command("get", description="Show a saved link", examples=["/link get title:discord"])
        async def get(
            ctx: InteractionContext,
            title: Annotated[str, Option("The link's title", max_length=100, autocomplete=titles)],
        ) -> None:
            link = await links.get(ctx.guild_id, title)
            if link is None:
                raise NotFoundError(f"No link called {title}.")                  # -> ephemeral, with error id
            await ctx.reply(link.url)

        @group.command("delete", description="Delete a link", examples=["/link delete title:x"],
                       level=PermissionLevel.MODERATOR, cooldown=Cooldown(3, 60.0))
        async def delete(ctx: InteractionContext, title: Annotated[str, Option("Title")]) -> None:
            custom_id = ctx.custom_id("link.del", title)
            button = Button(style=ButtonStyle.DANGER, label="Delete", custom_id=custom_id)
            await ctx.reply("Sure?", components=[ActionRow(components=(button,))], view_timeout=60)

        @registry.component("link.del", level=PermissionLevel.MODERATOR)   # state comes back signed
        async def confirm(ctx: InteractionContext) -> None:
            await links.delete(ctx.guild_id, ctx.state[0])
            await ctx.update("Deleted.", components=[])

Handlers raise the errors in `errors` (ValidationError, NotFoundError, ...) instead of replying with errors
themselves; long lists go through `Pagination.send`. Never call a handler directly in tests: build an
interaction payload and give it to the router (``tests/fixtures/interactions.py``).

Wiring (the application does this once; see `wiring`)::

    registry = CommandRegistry()
    core.register(  # each feature module has one register(); core's takes its latency sources
        registry,
        heartbeat_latency=lambda: shard.heartbeat_latency,
        rest_latency=core.rest_latency_from(telemetry),
    )
    executor = CommandExecutor()  # actors.executor, run under supervision: executor_child(executor)
    router = build_router(config, registry, rest, executor, telemetry=telemetry, db=db)
    sink = interaction_sink(lambda: runtime.ref(EXECUTOR_PATH), router, direct=executor)
    DispatchRouter(interactions=sink, ...)
    await sync_at_startup(config, registry, rest, application_id)  # once per process, never per connect
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
from shard.interactions.router import (
    AuditSink,
    CommandSettings,
    CommandSettingsSource,
    HistorySink,
    InteractionRouter,
)
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
    "HistorySink",
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
