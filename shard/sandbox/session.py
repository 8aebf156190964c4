"""``shard sandbox``: the emulator, the bot pointed at it, and the console, in one process.

Why one process: the sandbox is for trying the bot without Discord, so it must start with one command and
leave nothing behind. The emulator binds loopback on a free port; the bot gets a copy of the configuration
whose token, REST base and application id are the emulator's (DESIGN §3: the base URL is how the bot is
pointed anywhere), and whose health endpoints use a free port so a sandbox never collides with a running bot.
Everything lives in one nursery: leaving the console shuts the bot down gracefully, then stops the emulator.

Without a terminal (a service manager, CI), `run_sandbox` runs headless: the emulator and the bot keep
running, operator endpoints included, until SIGINT/SIGTERM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import attrs
import trio

from shard.bot import FeatureRegistrar, RunningBot, register_features, serve
from shard.config import Config, Secret
from shard.features.links import seed_example_links
from shard.health_http import BoundAddress
from shard.sandbox.console import SandboxConsole, read_stdin_line
from storage.errors import StorageError
from storage.repositories.links import LinkRepository
from supervision import Runtime, render_text

if TYPE_CHECKING:
    from protocol.emulator import Emulator

__all__ = ["run_sandbox", "sandbox_config"]

log = logging.getLogger(__name__)


def sandbox_config(config: Config, api_base: str, token: str, application_id: int) -> Config:
    """`config` pointed at an emulator, with the health endpoints on a free port."""
    discord = attrs.evolve(
        config.discord, token=Secret(token), api_base=api_base, application_id=application_id
    )
    return attrs.evolve(config, discord=discord, health=attrs.evolve(config.health, port=0))


async def run_sandbox(
    config: Config,
    *,
    script: Iterable[str] | None = None,
    interactive: bool = True,
    features: Sequence[FeatureRegistrar] = (register_features,),
    write: Callable[[str], None] = print,
    reply_timeout_s: float = 10.0,
    emulator: Emulator | None = None,
) -> int:
    """Run the sandbox; the exit status is non-zero when a scripted command failed or the bot crashed.

    ``emulator`` runs the sandbox against an emulator that is already running (tests attach the OpenAPI
    request check to theirs); by default the sandbox starts its own.
    """
    from protocol.emulator import Emulator

    run = partial(
        _run_against,
        config=config,
        script=script,
        interactive=interactive,
        features=features,
        write=write,
        reply_timeout_s=reply_timeout_s,
    )
    if emulator is not None:
        return await run(emulator)
    async with Emulator.running() as emu:
        return await run(emu)


async def _run_against(
    emu: Emulator,
    *,
    config: Config,
    script: Iterable[str] | None,
    interactive: bool,
    features: Sequence[FeatureRegistrar],
    write: Callable[[str], None],
    reply_timeout_s: float,
) -> int:
    bot_config = sandbox_config(config, emu.api_base, emu.token, emu.application_id)
    bound = BoundAddress()
    async with trio.open_nursery() as nursery:
        start = partial(serve, bot_config, features=features, health_bound=bound, announce=write)
        bot: RunningBot = await nursery.start(start)
        rt: Runtime = bot.runtime
        with trio.fail_after(10):
            await bound.bound.wait()
        write(f"sandbox: emulator at {emu.api_base}, health endpoints at {bound.url}/health.txt")
        await _seed_links(emu, bot)
        if script is None and not interactive:
            return await _headless(rt)
        console = SandboxConsole(
            emu,
            write,
            health_text=lambda: render_text(rt.health()),
            bot_failure=lambda: None if rt.failure is None else str(rt.failure),
            reply_timeout_s=reply_timeout_s,
        )
        status = 0
        with trio.CancelScope() as console_scope:
            nursery.start_soon(_cancel_when_finished, rt, console_scope)
            if script is not None:
                status = await console.run_script(script)
            else:
                status = await console.interactive(read_stdin_line)
        if console_scope.cancelled_caught:  # a signal stopped the bot under the console
            status = 1 if rt.failure is not None else status
        await rt.shutdown()
    return status


async def _seed_links(emu: Emulator, bot: RunningBot) -> None:
    """Example links for the sandbox guild (only when it has none), so `/link get title:discord` works."""
    if emu.sandbox is None:
        return
    guild = emu.sandbox
    try:
        added = await seed_example_links(LinkRepository(bot.assembly.db), guild.id, guild.owner.id)
    except StorageError as exc:
        log.warning("could not seed the sandbox's example links: %s", exc)
        return
    if added:
        log.info("seeded %d example links in the sandbox guild", added)


async def _cancel_when_finished(rt: Runtime, scope: trio.CancelScope) -> None:
    await rt.finished.wait()
    scope.cancel()


async def _headless(rt: Runtime) -> int:
    await rt.finished.wait()
    return 1 if rt.failure is not None else 0
