"""``shard commands list/diff/sync`` against the emulator."""

from __future__ import annotations

import click
import trio
from click.testing import CliRunner, Result

from protocol.emulator import Emulator
from shard.cli import CliState
from shard.cli_commands import register


def _cli() -> click.Group:
    @click.group()
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        ctx.obj = CliState()

    register(cli)
    return cli


async def _invoke(emu: Emulator, *args: str) -> Result:
    env = {
        "DISCORD_TOKEN": emu.token,
        "DISCORD_API_BASE": emu.api_base,
        "SHARD_PROFILE": "testing",
        "SHARD_CONFIG": "",
    }
    runner = CliRunner()
    return await trio.to_thread.run_sync(lambda: runner.invoke(_cli(), list(args), env=env))


async def test_list_diff_sync_then_up_to_date(emulator: Emulator) -> None:
    listed = await _invoke(emulator, "commands", "list")
    assert listed.exit_code == 0, listed.output
    assert "/ping" in listed.output and "everyone" in listed.output
    assert any("/link add" in line and "moderator" in line for line in listed.output.splitlines())

    guild = str(emulator.sandbox_guild.id)
    before = await _invoke(emulator, "commands", "diff", "--guild", guild)
    assert before.exit_code == 1, before.output
    assert "+ /help" in before.output and "+ /ping" in before.output

    synced = await _invoke(emulator, "commands", "sync", "--guild", guild)
    assert synced.exit_code == 0, synced.output
    assert "wrote 4 commands" in synced.output  # /help, /link (a group), /ping, /tag

    after = await _invoke(emulator, "commands", "diff", "--guild", guild)
    assert after.exit_code == 0 and "up to date" in after.output
    again = await _invoke(emulator, "commands", "sync", "--guild", guild)
    assert "nothing written" in again.output
    writes = [r for r in emulator.requests if r.method == "PUT"]
    assert len(writes) == 1

    global_diff = await _invoke(emulator, "commands", "diff", "--global")
    assert global_diff.exit_code == 1 and global_diff.output.startswith("global:")
    both = await _invoke(emulator, "commands", "diff", "--global", "--guild", guild)
    assert both.exit_code == 2
