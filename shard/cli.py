"""The ``shard`` command line: run the bot, ask a running bot for its health, inspect the configuration.

Why click and this shape: subcommands with ``--help`` everywhere, and global ``--config``/``--profile``
options that every subcommand shares through one lazily loaded `Config` (a command that never needs the
configuration, like ``--help``, never fails on a bad one). Other areas add their own groups
(``shard/cli_storage.py``, ``shard/cli_commands.py``) with ``main.add_command(...)``; they get the
configuration with ``ctx.find_object(CliState).config()``.

Exit codes are part of the interface for scripts: 0 success; 1 "not ready / out of date"; 2 usage or
configuration errors (the message names the key, the value's problem and its source); 3 the bot is
unreachable; 4 the bot stopped because its supervision tree gave up (restart intensity exceeded).
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import TextIO

import attrs
import click

from shard.config import PROFILES, Config, ConfigError, load_config, render_docs, render_show

__all__ = ["EXIT_NOT_READY", "EXIT_UNREACHABLE", "CliState", "main"]

EXIT_NOT_READY = 1
EXIT_CONFIG = 2
EXIT_UNREACHABLE = 3
EXIT_FAILED = 4
DOCS_PATH = Path("docs") / "configuration.md"


class ConfigProblemExit(click.ClickException):
    exit_code = EXIT_CONFIG


@attrs.define
class CliState:
    """Global options, and the configuration loaded on first use."""

    config_path: Path | None = None
    profile: str | None = None
    _config: Config | None = None

    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.config_path, profile=self.profile)
            except ConfigError as exc:
                raise ConfigProblemExit(str(exc)) from None
        return self._config


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML configuration file (default: $SHARD_CONFIG, else ./shard.toml if present).",
)
@click.option(
    "--profile",
    type=click.Choice(PROFILES),
    help="Configuration profile (default: $SHARD_PROFILE, else the file's, else development).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, profile: str | None) -> None:
    """Twi Bot Shard: The Wandering Inn's Discord bot on an actor runtime."""
    ctx.obj = CliState(config_path=config_path, profile=profile)


def _warnings_only(config: Config) -> Config:
    """``config`` with its logs kept to warnings, so that a console on the same terminal stays readable."""
    return attrs.evolve(config, logging=attrs.evolve(config.logging, level="WARNING"))


@main.command()
@click.pass_obj
def run(state: CliState) -> None:
    """Run the bot until SIGINT/SIGTERM (a second signal forces the stop).

    With no DISCORD_TOKEN it runs the offline sandbox instead: the local emulator and the bot pointed at it,
    with the console when started from a terminal (headless otherwise).
    """
    import trio

    from shard import gc_policy
    from shard import logging as shard_logging
    from shard.bot import serve
    from supervision import SupervisorEscalation

    config = state.config()
    interactive = sys.stdin.isatty()
    if config.discord.token is None and interactive:
        # The console shares the terminal with the logs: keep them to warnings, as `shard sandbox` does.
        config = _warnings_only(config)
    shard_logging.setup(config)
    gc_policy.apply(config.runtime.gc_gen0_threshold)
    try:
        if config.discord.token is None:
            click.echo("DISCORD_TOKEN is not set: running the offline sandbox (local emulator).", err=True)
            from shard.sandbox.session import run_sandbox

            sys.exit(trio.run(partial(run_sandbox, config, interactive=interactive, write=click.echo)))
        trio.run(partial(serve, config))
    except SupervisorEscalation as exc:
        click.echo(f"the bot stopped because its supervision tree gave up: {exc}", err=True)
        sys.exit(EXIT_FAILED)


@main.command()
@click.option(
    "--script",
    type=click.File("r", encoding="utf-8"),
    help="Run the console lines in FILE ('-' for stdin) instead of prompting; exit 1 if any command fails.",
)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait for each reply.")
@click.option("--verbose", is_flag=True, help="Log at the configured level (default: warnings only).")
@click.pass_obj
def sandbox(state: CliState, script: TextIO | None, timeout: float, verbose: bool) -> None:
    """The bot offline: the local emulator, the bot pointed at it, and a console.

    Type slash commands as in Discord (/link get title:discord), then :click N, :select N VALUE, :as NAME,
    :health, :help, :quit.
    """
    import trio

    from shard import logging as shard_logging
    from shard.sandbox.session import run_sandbox

    config = state.config()
    if not verbose:
        config = _warnings_only(config)
    shard_logging.setup(config)
    lines = script.read().splitlines() if script is not None else None
    run = partial(run_sandbox, config, script=lines, write=click.echo, reply_timeout_s=timeout)
    sys.exit(trio.run(run))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the JSON snapshot instead of the text tree.")
@click.option("--url", help="Base URL of the endpoints (default: from the health.host/health.port settings).")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait for the answer.")
@click.pass_obj
def health(state: CliState, as_json: bool, url: str | None, timeout: float) -> None:
    """Print the supervision tree of a running bot; exit 1 when it is not ready, 3 when unreachable."""
    import httpx

    if url is None:
        config = state.config()
        url = f"http://{config.health.host}:{config.health.port}"
    target = url.rstrip("/") + ("/health" if as_json else "/health.txt")
    try:
        response = httpx.get(target, timeout=timeout)
    except httpx.HTTPError as exc:
        click.echo(
            f"cannot reach the bot at {target}: {exc or type(exc).__name__}\n"
            "Is it running? (`shard run`; the address comes from health.host/health.port, or pass --url)",
            err=True,
        )
        sys.exit(EXIT_UNREACHABLE)
    click.echo(response.text.rstrip("\n"))
    if response.status_code == 503:
        click.echo("bot is NOT READY (critical children are not all running)", err=True)
        sys.exit(EXIT_NOT_READY)
    if response.status_code != 200:
        click.echo(f"unexpected answer from {target}: HTTP {response.status_code}", err=True)
        sys.exit(EXIT_UNREACHABLE)


@main.group(name="config")
def config_group() -> None:
    """Inspect the configuration and regenerate its documentation."""


@config_group.command(name="show")
@click.pass_obj
def config_show(state: CliState) -> None:
    """Print the effective configuration (secrets masked) and where each value came from."""
    click.echo(render_show(state.config()), nl=False)


@config_group.command(name="docs")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DOCS_PATH,
    show_default=True,
    help="Where to write the reference.",
)
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the file is out of date.")
def config_docs(output: Path, check: bool) -> None:
    """Write docs/configuration.md from the configuration schema."""
    text = render_docs()
    current = output.read_text(encoding="utf-8") if output.exists() else None
    if check:
        if current != text:
            click.echo(f"{output} is out of date: run `shard config docs`", err=True)
            sys.exit(EXIT_NOT_READY)
        click.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}" + (" (unchanged)" if current == text else ""))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback).")
@click.option("--port", type=int, default=0, show_default=True, help="Port to bind (0: any free port).")
@click.option("--shards", type=int, default=1, show_default=True, help="Shard count /gateway/bot returns.")
@click.option("--token", default=None, help="Bot token to accept (default: a fixed test token).")
@click.option("--no-sandbox", is_flag=True, help="Do not seed the sandbox guild.")
def emulator(host: str, port: int, shards: int, token: str | None, no_sandbox: bool) -> None:
    """Run the local Discord emulator (gateway + REST v10) until Ctrl-C.

    It prints DISCORD_API_BASE and DISCORD_TOKEN: export both to point `shard run` (or a peer library in the
    benchmarks) at it.
    """
    import trio

    from protocol.emulator.__main__ import serve
    from protocol.emulator.config import EmulatorConfig

    config = EmulatorConfig(
        host=host, port=port, shard_count=shards, seed_sandbox=not no_sandbox, token=token
    )
    try:
        trio.run(serve, config)
    except KeyboardInterrupt:
        click.echo("stopped")


def _register_command_groups() -> None:
    """The command groups other areas own (storage maintenance, application commands)."""
    from shard import cli_commands, cli_storage

    cli_storage.register(main)
    cli_commands.register(main)


_register_command_groups()


if __name__ == "__main__":  # pragma: no cover
    main()
