"""Built-in commands: /ping (the one latency report) and /help (generated from the registry).

Why /help is generated: the old bot's help was a hand-written catalogue of commands that mostly did not
exist (inventory §1). Here every command must declare a description, examples, options with descriptions
and a permission level, so /help reads the registry and can never drift from what is actually registered —
and it lists only the commands the invoker's permission level lets them run.

Why /ping takes callables: the heartbeat latency belongs to the gateway shard and the REST latency to the
REST client; passing ``Callable[[], float | None]`` keeps this module free of both (no service locator).
Without a REST latency source, /ping measures its own reply's round trip and edits the figure in.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Annotated

import trio

from protocol.models import ActionRow, Embed, EmbedField, OptionType, SelectOption, StringSelect
from shard.interactions import (
    NO_COOLDOWN,
    Choice,
    CommandRegistry,
    InteractionContext,
    NotFoundError,
    Option,
    PermissionLevel,
    SlashCommand,
)
from shard.interactions.registry import Runnable
from supervision.telemetry import Telemetry

CATEGORY = "Core"
HELP_CATEGORY_ROUTE = "help.cat"
HELP_COLOR = 0x5865F2

LatencySource = Callable[[], float | None]


REST_LATENCY_METRIC = "shard_rest_latency_seconds"
#: How long /ping may show a REST median before it is recomputed.
LATENCY_REFRESH_S = 0.25
CALLBACK_ROUTE = "POST /interactions/{interaction_id}/{interaction_token}/callback"


def rest_latency_from(
    telemetry: Telemetry,
    route: str = CALLBACK_ROUTE,
    *,
    refresh: float = LATENCY_REFRESH_S,
    clock: Callable[[], float] = time.monotonic,
) -> LatencySource:
    """A REST latency source reading the REST client's own histogram (median of ``route``'s round trips).

    With it, /ping answers with one REST call instead of measuring its own reply and editing it. The median
    is recomputed at most every ``refresh`` seconds (a walk over the histogram's buckets, which a /ping
    flood would otherwise pay on every answer); until the route has a sample it is looked up every time.
    """
    histogram = telemetry.histogram(REST_LATENCY_METRIC, "REST round trip by route", ["route"])
    series = histogram.labels(route)  # the one the REST client observes into; None until it has a sample
    cached: float | None = None
    refresh_at = 0.0

    def median() -> float | None:
        nonlocal cached, refresh_at
        now = clock()
        if cached is None or now >= refresh_at:
            cached = series.quantile(0.5)
            refresh_at = now + refresh
        return cached

    return median


def _ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:.0f} ms"


def ping_text(heartbeat: float | None, rest: float | None, processing: float) -> str:
    return (
        f"Pong! Gateway heartbeat: {_ms(heartbeat)} · REST round trip: {_ms(rest)} · "
        f"processing: {processing * 1000:.1f} ms"
    )


def _visible(registry: CommandRegistry, level: PermissionLevel) -> list[Runnable]:
    return [c for c in registry.runnables() if c.level <= level]


def display_name(command: Runnable) -> str:
    """``/name sub`` for slash commands, the bare name for context-menu commands."""
    return f"/{command.qualified_name}" if isinstance(command, SlashCommand) else command.qualified_name


def _option_line(command: SlashCommand) -> list[str]:
    lines = []
    for spec in command.options:
        kind = OptionType(spec.type).name.lower()
        limits = []
        if spec.min_value is not None or spec.max_value is not None:
            limits.append(f"{spec.min_value if spec.min_value is not None else ''}..{spec.max_value or ''}")
        if spec.max_length is not None:
            limits.append(f"max {spec.max_length} chars")
        if spec.choices:
            limits.append("one of " + ", ".join(c.name for c in spec.choices[:10]))
        extra = f" ({'; '.join(limits)})" if limits else ""
        needed = "required" if spec.required else "optional"
        lines.append(f"`{spec.name}` {kind}, {needed}{extra}: {spec.description}")
    return lines


def command_embed(command: Runnable) -> Embed:
    fields = [EmbedField("Permission", command.level.label, inline=True)]
    if command.cooldown is not None and not command.cooldown.exempt:
        cooldown = command.cooldown
        fields.append(
            EmbedField(
                "Cooldown", f"{cooldown.rate} per {cooldown.per:g} s per {cooldown.bucket.value}", True
            )
        )
    if isinstance(command, SlashCommand) and command.options:
        fields.append(EmbedField("Options", "\n".join(_option_line(command))[:1024]))
    fields.append(EmbedField("Examples", "\n".join(command.examples)[:1024]))
    return Embed(
        title=display_name(command),
        description=command.description,
        color=HELP_COLOR,
        fields=tuple(fields),
    )


def category_embed(category: str, commands: Sequence[Runnable]) -> Embed:
    lines = [f"**{display_name(c)}**: {c.description}" for c in commands]
    return Embed(title=f"Help: {category}", description="\n".join(lines)[:4000] or "(none)", color=HELP_COLOR)


def register(
    registry: CommandRegistry,
    *,
    heartbeat_latency: LatencySource,
    rest_latency: LatencySource | None = None,
) -> None:
    """Register /ping and /help (and the help category select)."""

    @registry.slash(
        "ping",
        description="Show the bot's gateway, REST and processing latency",
        examples=["/ping"],
        category=CATEGORY,
        cooldown=NO_COOLDOWN,  # a health probe (and the benchmark's command) is never throttled
    )
    async def ping(ctx: InteractionContext) -> None:
        processing = trio.current_time() - ctx.received_at
        heartbeat = heartbeat_latency()
        if rest_latency is not None:
            await ctx.reply(ping_text(heartbeat, rest_latency(), processing))
            return
        sent = trio.current_time()
        await ctx.reply(ping_text(heartbeat, None, processing))
        await ctx.edit(ping_text(heartbeat, trio.current_time() - sent, processing))

    def categories_menu(ctx: InteractionContext, chosen: str | None) -> tuple[ActionRow, ...]:
        names = sorted({c.category for c in _visible(registry, ctx.level)})
        options = tuple(SelectOption(label=n, value=n, default=n == chosen) for n in names[:25])
        select = StringSelect(
            custom_id=ctx.custom_id(HELP_CATEGORY_ROUTE), options=options, placeholder="Pick a category"
        )
        return (ActionRow(components=(select,)),)

    async def suggest_commands(ctx: InteractionContext, typed: str) -> list[Choice]:
        typed = typed.lower().lstrip("/")
        names = [c.qualified_name for c in _visible(registry, ctx.level)]
        return [Choice(name, name) for name in sorted(names) if typed in name.lower()][:25]

    @registry.slash(
        "help",
        description="List the commands you can use, or explain one",
        examples=["/help", "/help command:ping"],
        category=CATEGORY,
        ephemeral=True,
        cooldown=NO_COOLDOWN,
    )
    async def help_command(
        ctx: InteractionContext,
        command: Annotated[
            str | None, Option("A command to explain", max_length=100, autocomplete=suggest_commands)
        ] = None,
    ) -> None:
        visible = _visible(registry, ctx.level)
        if command is not None:
            wanted = command.strip().lstrip("/").lower()
            found = next((c for c in visible if c.qualified_name.lower() == wanted), None)
            if found is None:
                raise NotFoundError(f"There is no command `{command[:50]}` that you can use.")
            await ctx.reply(embeds=[command_embed(found)])
            return
        counts: dict[str, int] = {}
        for c in visible:
            counts[c.category] = counts.get(c.category, 0) + 1
        overview = Embed(
            title="Help",
            description="Pick a category below, or use `/help command:<name>` for details.",
            color=HELP_COLOR,
            fields=tuple(
                EmbedField(name, f"{n} command(s)", inline=True) for name, n in sorted(counts.items())
            ),
        )
        await ctx.reply(embeds=[overview], components=categories_menu(ctx, None), view_timeout=300.0)

    @registry.component(HELP_CATEGORY_ROUTE)
    async def help_category(ctx: InteractionContext) -> None:
        chosen = ctx.values[0] if ctx.values else ""
        commands = [c for c in _visible(registry, ctx.level) if c.category == chosen]
        if not commands:
            raise NotFoundError("That category has no commands you can use.")
        await ctx.update(embeds=[category_embed(chosen, commands)], components=categories_menu(ctx, chosen))
