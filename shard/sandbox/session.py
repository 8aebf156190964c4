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

import attrs
import trio

from shard.app import AnyChild, default_children, run_bot
from shard.config import Config, Secret
from shard.health_http import BoundAddress
from shard.sandbox.console import SandboxConsole, read_stdin_line
from supervision import Runtime, render_text

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
    children: Callable[[Config], Sequence[AnyChild]] = default_children,
    write: Callable[[str], None] = print,
    reply_timeout_s: float = 10.0,
) -> int:
    """Run the sandbox; the exit status is non-zero when a scripted command failed or the bot crashed."""
    from protocol.emulator import Emulator

    async with Emulator.running() as emu:
        bot_config = sandbox_config(config, emu.api_base, emu.token, emu.application_id)
        bot_children = list(children(bot_config))
        bound = BoundAddress()
        async with trio.open_nursery() as nursery:
            start = partial(run_bot, bot_config, children=bot_children, health_bound=bound)
            rt: Runtime = await nursery.start(start)
            with trio.fail_after(10):
                await bound.bound.wait()
            write(f"sandbox: emulator at {emu.api_base}, health endpoints at {bound.url}/health.txt")
            if not bot_children:
                write("sandbox: no gateway or command children are wired in yet; commands will go unanswered")
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


async def _cancel_when_finished(rt: Runtime, scope: trio.CancelScope) -> None:
    await rt.finished.wait()
    scope.cancel()


async def _headless(rt: Runtime) -> int:
    await rt.finished.wait()
    return 1 if rt.failure is not None else 0
