"""The router: one path for every interaction, from raw payload to a handler running with its context.

Every interaction — slash command, subcommand, context menu, autocomplete, button, select, modal — goes
through the same steps in the same order, so no kind of interaction can skip a check:

1. **parse** the payload into `protocol.models.Interaction` (a malformed one is logged, counted and, when
   its id and token are usable, answered with an ephemeral "could not read");
2. **route**: commands by (type, name, subcommand path) in the registry; components and modals by the route
   named in their custom_id, whose HMAC signature is verified first (a forged id never reaches a handler);
3. **permission check** against the one table of levels (`permissions.py`); a denial is answered ephemerally
   and written to the audit log;
4. **cooldown check** per user/channel/guild bucket, answered with "try again in N s";
5. **option conversion and validation** (`options.py`) against the same specs that built the payloads;
6. **run** the handler with an `InteractionContext`; if it has not answered after ``auto_defer_after``
   seconds (2.5 by default, under Discord's 3 s deadline) the router defers for it (`autodefer.py`);
7. **errors** from any step go to the one `ErrorReporter`, which answers ephemerally with an error id;
8. **history**: each finished invocation (command, outcome, duration, error id, option names but never
   their values) goes to the `HistorySink` — the storage writer, which batches it into PostgreSQL — keyed by
   the interaction's id (`invocation_id_for`), so an interaction is one history row however often recorded.

`handle` is what the command executor actor (`actors.executor`) runs for each interaction; it never
raises, so one bad interaction cannot take the executor down. Metrics: ``shard_commands_total{command,
outcome}``, ``shard_command_seconds{command}``; errors are counted by the reporter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

import attrs
import trio

from protocol.models import (
    ApplicationCommandData,
    ApplicationCommandType,
    ComponentData,
    EntitySelect,
    Interaction,
    InteractionCallbackType,
    InteractionOption,
    InteractionType,
    ModalSubmitData,
    ModelError,
    OptionType,
    StringSelect,
    TextInput,
    iter_components,
    parse,
)
from shard.interactions.autodefer import AutoDeferrer
from shard.interactions.context import InteractionContext, Spawner, message_body
from shard.interactions.cooldowns import Cooldown, CooldownTracker
from shard.interactions.custom_ids import CustomIdCodec
from shard.interactions.errors import (
    CooldownError,
    ErrorReporter,
    ForgedCustomIdError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from shard.interactions.options import as_choices, convert_options, focused_option
from shard.interactions.permissions import PermissionLevel, PermissionResolver
from shard.interactions.registry import (
    CommandGroup,
    CommandRegistry,
    ComponentRoute,
    ContextMenuCommand,
    SlashCommand,
)
from shard.interactions.rest import CALLBACK, DiscordRest
from storage.repositories.commands import CommandInvocation, invocation_id_for
from supervision import logfields
from supervision.telemetry import Telemetry

log = logging.getLogger(__name__)

#: Discord's deadline for the first answer to an interaction (receiving-and-responding).
ANSWER_DEADLINE_S = 3.0

AUTO_DEFER_AFTER = 2.5


class AuditSink(Protocol):
    """The audit log (storage's AuditLogRepository in production)."""

    async def record(
        self, guild_id: int | None, actor_id: int | None, action: str, target: str, details: Mapping[str, Any]
    ) -> None: ...


@attrs.frozen
class CommandSettings:
    enabled: bool = True
    cooldown: Cooldown | None = None


class HistorySink(Protocol):
    """Where finished invocations go (the storage writer's ``submit``: non-blocking, bounded)."""

    def submit(self, record: Any) -> bool: ...


class CommandSettingsSource(Protocol):
    """Per-guild overrides: a command disabled in a guild, or a guild-specific cooldown."""

    async def command_settings(self, guild_id: int, command: str) -> CommandSettings | None: ...


Target = SlashCommand | ContextMenuCommand | ComponentRoute


@attrs.frozen
class Routed:
    target: Target
    options: tuple[InteractionOption, ...] = ()
    state: tuple[str, ...] = ()


class InteractionRouter:
    """Parses, routes, checks and runs interactions (see the module docstring for the order)."""

    def __init__(
        self,
        registry: CommandRegistry,
        rest: DiscordRest,
        *,
        codec: CustomIdCodec,
        permissions: PermissionResolver,
        spawner: Spawner,
        errors: ErrorReporter | None = None,
        audit: AuditSink | None = None,
        settings: CommandSettingsSource | None = None,
        cooldowns: CooldownTracker | None = None,
        telemetry: Telemetry | None = None,
        auto_defer_after: float = AUTO_DEFER_AFTER,
        default_cooldown: Cooldown | None = None,
        history: HistorySink | None = None,
    ) -> None:
        self.registry = registry
        self.rest = rest
        self.codec = codec
        self.permissions = permissions
        self.spawner = spawner
        telemetry = telemetry or Telemetry()
        self.errors = errors or ErrorReporter(telemetry=telemetry)
        self.audit = audit
        self.settings = settings
        self.cooldowns = cooldowns or CooldownTracker()
        #: Applied to commands that declare no cooldown of their own (`NO_COOLDOWN` opts out).
        self.default_cooldown = default_cooldown
        self.history = history
        self._deferrer = AutoDeferrer(spawner, auto_defer_after)
        self._outcomes = telemetry.counter(
            "shard_commands_total", "Interactions handled, by command and outcome.", ["command", "outcome"]
        )
        self._seconds = telemetry.histogram(
            "shard_command_seconds", "Time from interaction received to handler done.", ["command"]
        )

    # -- entry point ------------------------------------------------------------------------------------
    async def handle(
        self, payload: Mapping[str, Any] | Interaction, *, received_at: float | None = None
    ) -> None:
        """Run one interaction end to end. Never raises (except cancellation).

        An interaction that waited in the executor's mailbox past Discord's 3 s answer deadline is dropped
        unread (counted as ``expired``): its token can no longer be answered, and working through a backlog of
        dead interactions under overload would make every fresh one late too.
        """
        now = trio.current_time()
        started = now if received_at is None else received_at
        if now - started >= ANSWER_DEADLINE_S:
            self._outcomes.inc("expired", "expired")
            log.debug("dropped an interaction that waited %.1f s (past the deadline)", now - started)
            return
        try:
            interaction = payload if isinstance(payload, Interaction) else parse(Interaction, payload)
        except ModelError as exc:
            self._outcomes.inc("malformed", "malformed")
            self.errors.count("malformed_interaction")
            log.warning("malformed interaction: %s", exc)
            if isinstance(payload, Mapping):
                await self._answer_malformed(payload)
            return
        if interaction.type is InteractionType.PING:
            return
        with logfields.bind(guild_id=interaction.guild_id, interaction_id=interaction.id):
            await self._handle(interaction, started)

    async def _answer_malformed(self, payload: Mapping[str, Any]) -> None:
        """Still answer (ephemerally) when the id and token are usable, so the user is not left hanging."""
        ident, token = payload.get("id"), payload.get("token")
        if not (isinstance(ident, str) and ident.isdigit() and isinstance(token, str) and token):
            return
        body = {
            "type": int(InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE),
            "data": message_body("I could not read that interaction.", ephemeral=True),
        }
        try:
            await self.rest.request(
                "POST", CALLBACK, json=body, interaction_id=int(ident), interaction_token=token
            )
        except Exception:
            log.info("could not answer a malformed interaction", exc_info=True)

    async def _handle(self, interaction: Interaction, started: float) -> None:
        name = "unknown"
        ctx: InteractionContext | None = None
        outcome = "ok"
        error_id: str | None = None
        try:
            routed = self._route(interaction)
            name = routed.target.qualified_name
            with logfields.bind(command=name):
                level = await self.permissions.level_of(interaction)
                ctx = self._context(interaction, routed, level, started)
                outcome = await self._checked_run(ctx, routed)
        except trio.Cancelled:
            raise
        except Exception as exc:  # every failure becomes an ephemeral answer with an error id
            outcome = self._outcome_of(exc)
            error_id = await self._fail(interaction, ctx, name, exc)
        finally:
            elapsed = trio.current_time() - started
            self._outcomes.inc(name, outcome)
            self._seconds.observe(elapsed, name)
        if self.history is not None and ctx is not None and outcome != "autocomplete":
            self._record_history(ctx, outcome, elapsed, error_id)

    def _record_history(
        self, ctx: InteractionContext, outcome: str, elapsed: float, error_id: str | None
    ) -> None:
        """Command history for usage statistics: option *names* only, never what the user typed."""
        interaction = ctx.interaction
        data = interaction.data
        options = (
            _option_names(data.options) if isinstance(data, ApplicationCommandData) and data.options else {}
        )
        record = CommandInvocation(
            command=ctx.name,
            user_id=ctx.user_id,
            started_at=datetime.fromtimestamp(time.time() - elapsed, UTC),
            outcome=outcome,
            guild_id=interaction.guild_id,
            channel_id=interaction.channel_id,
            options=options,
            duration_ms=round(elapsed * 1000, 3),
            error_id=error_id,
            invocation_id=invocation_id_for(interaction.id),
        )
        if self.history is not None and not self.history.submit(record):
            log.debug("command history record dropped (writer full or closed)")

    @staticmethod
    def _outcome_of(exc: BaseException) -> str:
        if isinstance(exc, PermissionDeniedError):
            return "denied"
        if isinstance(exc, CooldownError):
            return "cooldown"
        if isinstance(exc, ValidationError | ForgedCustomIdError | NotFoundError):
            return "rejected"
        return "error"

    # -- routing ----------------------------------------------------------------------------------------
    def _route(self, interaction: Interaction) -> Routed:
        data = interaction.data
        if isinstance(data, ApplicationCommandData):
            return self._route_command(data)
        if isinstance(data, ComponentData | ModalSubmitData):
            route_name, state = self.codec.decode(data.custom_id)
            route = self.registry.route(route_name)
            is_modal = isinstance(data, ModalSubmitData)
            if route is None or route.modal != is_modal:
                raise NotFoundError("This button or form is no longer available.")
            return Routed(route, state=state)
        raise NotFoundError("This kind of interaction is not supported.")

    def _route_command(self, data: ApplicationCommandData) -> Routed:
        top = self.registry.get_top(data.type, data.name)
        if top is None:
            raise NotFoundError("This command is not available any more.")
        if isinstance(top, ContextMenuCommand):
            return Routed(top)
        node: SlashCommand | CommandGroup = top
        options = data.options
        while isinstance(node, CommandGroup):
            sub = next(
                (o for o in options if o.type in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP)), None
            )
            child = node.children.get(sub.name) if sub is not None else None
            if sub is None or child is None:
                raise NotFoundError("This command is not available any more.")
            node, options = child, sub.options
        return Routed(node, options=options)

    def _context(
        self, interaction: Interaction, routed: Routed, level: PermissionLevel, started: float
    ) -> InteractionContext:
        data = interaction.data
        target = routed.target
        values: tuple[str, ...] = data.values if isinstance(data, ComponentData) else ()
        fields: dict[str, str] = {}
        selections: dict[str, tuple[str, ...]] = {}
        if isinstance(data, ModalSubmitData):
            for component in iter_components(data.components):
                if isinstance(component, TextInput) and component.value is not None:
                    fields[component.custom_id] = component.value
                elif isinstance(component, StringSelect | EntitySelect) and component.values is not None:
                    selections[component.custom_id] = component.values
        return InteractionContext(
            interaction=interaction,
            rest=self.rest,
            codec=self.codec,
            spawner=self.spawner,
            level=level,
            name=target.qualified_name,
            received_at=started,
            ephemeral_default=getattr(target, "ephemeral", False),
            state=routed.state,
            values=values,
            fields=fields,
            selections=selections,
        )

    # -- checks and run ---------------------------------------------------------------------------------
    async def _checked_run(self, ctx: InteractionContext, routed: Routed) -> str:
        target = routed.target
        interaction = ctx.interaction
        autocomplete = interaction.type is InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE
        if ctx.level < target.level:
            if autocomplete:  # never reveal anything to someone who may not run the command
                await ctx.autocomplete([])
                return "denied"
            await self._audit_denial(ctx, target)
            raise PermissionDeniedError(f"You need the {target.level.label} level to use this.")
        if autocomplete:
            await self._autocomplete(ctx, routed)
            return "autocomplete"
        cooldown: Cooldown | None = None
        if not isinstance(target, ComponentRoute):
            cooldown = self.default_cooldown if target.cooldown is None else target.cooldown
            if ctx.guild_id is not None and self.settings is not None:
                settings = await self.settings.command_settings(ctx.guild_id, target.qualified_name)
                if settings is not None:
                    if not settings.enabled:
                        raise NotFoundError("This command is disabled in this server.")
                    cooldown = settings.cooldown or cooldown
        if cooldown is not None and not cooldown.exempt:
            bucket = self.cooldowns.bucket_id(
                cooldown, user_id=ctx.user_id, channel_id=ctx.channel_id, guild_id=ctx.guild_id
            )
            retry_after = self.cooldowns.hit(target.qualified_name, cooldown, bucket, trio.current_time())
            if retry_after is not None:
                raise CooldownError(retry_after)
        kwargs = self._arguments(ctx, routed)
        await self._run(ctx, target, kwargs)
        return "ok"

    def _arguments(self, ctx: InteractionContext, routed: Routed) -> dict[str, Any]:
        target = routed.target
        if isinstance(target, SlashCommand):
            return convert_options(target.options, routed.options, ctx.resolved)
        if isinstance(target, ContextMenuCommand):
            data = ctx.interaction.data
            target_id = data.target_id if isinstance(data, ApplicationCommandData) else None
            resolved = ctx.resolved
            found: object = None
            if target_id is not None:
                if target.kind is ApplicationCommandType.MESSAGE:
                    found = resolved.messages.get(target_id)
                else:
                    member = resolved.members.get(target_id)
                    user = resolved.users.get(target_id)
                    found = attrs.evolve(member, user=member.user or user) if member is not None else user
            if found is None:
                raise ValidationError("I cannot see what this was used on.")
            return {"target": found}
        return {}

    async def _autocomplete(self, ctx: InteractionContext, routed: Routed) -> None:
        target = routed.target
        focused = focused_option(routed.options)
        spec = None
        if isinstance(target, SlashCommand) and focused is not None:
            spec = next((s for s in target.options if s.name == focused.name), None)
        if spec is None or spec.autocomplete is None:
            await ctx.autocomplete([])
            return
        suggestions = await spec.autocomplete(ctx, "" if focused is None else str(focused.value or ""))
        await ctx.autocomplete(as_choices(suggestions))

    async def _run(self, ctx: InteractionContext, target: Target, kwargs: dict[str, Any]) -> None:
        watch = self._deferrer.watch(ctx)
        try:
            await target.handler(ctx, **kwargs)
        finally:
            ctx.finished = True
            watch.done()

    async def _audit_denial(self, ctx: InteractionContext, target: Target) -> None:
        if self.audit is None:
            return
        try:
            await self.audit.record(
                ctx.guild_id,
                ctx.user_id,
                "permission_denied",
                target.qualified_name,
                {"required": target.level.label, "had": ctx.level.label},
            )
        except Exception:
            log.warning("could not write a permission denial to the audit log", exc_info=True)

    # -- failure ----------------------------------------------------------------------------------------
    async def _fail(
        self, interaction: Interaction, ctx: InteractionContext | None, name: str, exc: BaseException
    ) -> str:
        """Report ``exc``, answer the user ephemerally with the error id, and return that id."""
        report = await self.errors.report(
            exc, command=name, guild_id=interaction.guild_id, user_id=interaction.invoker_id
        )
        if interaction.type is InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
            return report.error_id
        if ctx is None:
            ctx = InteractionContext(
                interaction=interaction,
                rest=self.rest,
                codec=self.codec,
                spawner=self.spawner,
                level=PermissionLevel.EVERYONE,
                name=name,
                received_at=trio.current_time(),
            )
        try:
            await ctx.reply(report.reply_text, ephemeral=True)  # never public (see InteractionContext.reply)
        except Exception:
            log.warning("could not send the error reply [%s]", report.error_id, exc_info=True)
        return report.error_id


def _option_names(options: tuple[InteractionOption, ...]) -> dict[str, str]:
    """The leaf options the user filled in, as name -> option type (values are left out on purpose)."""
    names: dict[str, str] = {}
    for option in options:
        if option.options:
            names.update(_option_names(option.options))
        elif option.type not in (OptionType.SUB_COMMAND, OptionType.SUB_COMMAND_GROUP):
            names[option.name] = option.type.name.lower()
    return names
