"""``shard commands``: list the registered commands, diff them against Discord's, and sync them.

Why a CLI step and not an automatic sync on connect: a bulk overwrite is rate limited and makes Discord
re-propagate every command; writing on every reconnect turns a flapping connection into a rate-limit storm.
So the operator (or the start-up code, once) runs the diff, and ``sync`` writes only when it is not empty.

Scope: ``--guild ID`` syncs one guild (instant, for development), ``--global`` syncs globally; without
either, the development profile uses ``commands.dev_guild_id`` when it is set and everything else syncs
globally. Exit codes follow ``shard``'s: 0 up to date / written, 1 out of date (``diff``), 2 configuration.

The registry comes from a factory the application passes to `register` (it knows every feature and its
dependencies); the default registers the built-in commands only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import trio

from shard.interactions import CommandDiff, CommandRegistry, CommandSyncer
from shard.interactions.rest import DiscordRest

RegistryFactory = Callable[[Any], CommandRegistry]
EXIT_OUT_OF_DATE = 1


def core_registry(config: Any) -> CommandRegistry:
    """The bot's command set (exactly what `shard.bot.register_features` registers), without a database."""
    from shard.bot import definitions_only

    return definitions_only(config)


def _config(ctx: click.Context) -> Any:
    from shard.cli import CliState

    state = ctx.find_object(CliState)
    if state is None:
        raise click.UsageError("shard commands must run under the shard CLI")
    return state.config()


def _scope(config: Any, guild: int | None, use_global: bool) -> int | None:
    from shard.interactions.wiring import sync_scope

    if guild is not None and use_global:
        raise click.UsageError("use either --guild or --global, not both")
    if guild is not None:
        return guild
    return None if use_global else sync_scope(config)


async def _with_rest(config: Any, job: Callable[[DiscordRest, int], Any]) -> Any:
    from protocol.rest import LocalRateLimiter, RestClient

    if config.discord.token is None:
        raise click.ClickException("DISCORD_TOKEN is not set: nothing to compare against")
    async with RestClient(config.discord.api_base, config.discord.token.reveal(), LocalRateLimiter()) as rest:
        application_id = config.discord.application_id
        if application_id is None:
            application = await rest.get_current_application()
            application_id = int(application["id"])
        return await job(rest, application_id)


def register(cli: click.Group, registry_factory: RegistryFactory | None = None) -> None:
    """Add the ``commands`` group (list, diff, sync) to the ``shard`` CLI."""
    factory = registry_factory or core_registry

    @cli.group("commands")
    def commands() -> None:
        """Application commands: list them, diff them against Discord's, sync them."""

    @commands.command("list")
    @click.pass_context
    def list_commands(ctx: click.Context) -> None:
        """Print every registered command with its permission level (no network)."""
        from shard.features.core import display_name

        registry = factory(_config(ctx))
        for command in sorted(registry.runnables(), key=lambda c: (c.category, c.qualified_name)):
            name = display_name(command)
            click.echo(f"{command.category:<12} {name:<32} {command.level.label:<10} {command.description}")

    scope_options = [
        click.option(
            "--guild", type=int, default=None, help="Compare with / write to this guild's commands."
        ),
        click.option("--global", "use_global", is_flag=True, help="Compare with / write to global commands."),
    ]

    def with_scope(fn: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(scope_options):
            fn = option(fn)
        return fn

    @commands.command("diff")
    @with_scope
    @click.pass_context
    def diff(ctx: click.Context, guild: int | None, use_global: bool) -> None:
        """Show what a sync would change; exit 1 when Discord's commands are out of date."""
        config = _config(ctx)
        payloads = factory(config).payloads()
        scope = _scope(config, guild, use_global)

        async def job(rest: DiscordRest, application_id: int) -> CommandDiff:
            return await CommandSyncer(rest, application_id).diff(payloads, scope)

        result: CommandDiff = trio.run(_with_rest, config, job)
        click.echo(result.render())
        if not result.empty:
            ctx.exit(EXIT_OUT_OF_DATE)

    @commands.command("sync")
    @with_scope
    @click.pass_context
    def sync(ctx: click.Context, guild: int | None, use_global: bool) -> None:
        """Write the commands with one bulk overwrite, only if they differ from Discord's."""
        config = _config(ctx)
        payloads = factory(config).payloads()
        scope = _scope(config, guild, use_global)

        async def job(rest: DiscordRest, application_id: int) -> Any:
            return await CommandSyncer(rest, application_id).sync(payloads, scope)

        result = trio.run(_with_rest, config, job)
        click.echo(result.diff.render())
        click.echo(f"wrote {len(payloads)} commands" if result.written else "nothing written")
