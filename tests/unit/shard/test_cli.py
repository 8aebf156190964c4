"""The `shard` CLI without a running bot: help, config show/docs, configuration errors."""

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from shard.cli import EXIT_CONFIG, main
from shard.config import render_docs

CLEAN_ENV = {"SHARD_CONFIG": "", "SHARD_PROFILE": "", "DISCORD_TOKEN": "", "DATABASE_URL": ""}


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.extend(all_commands(command, (*prefix, name)))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", all_commands(main))
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and "--help" in result.output


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    config_file = tmp_path / "bot.toml"
    config_file.write_text('[services]\nopenai_api_key = "sk-file-secret-abcdefgh"\n[health]\nport = 9000\n')
    env = {**CLEAN_ENV, "DISCORD_TOKEN": "env-token-secret-xyz"}
    result = CliRunner().invoke(
        main, ["--config", str(config_file), "--profile", "production", "config", "show"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "env-token-secret-xyz" not in result.output and "sk-file-secret" not in result.output
    assert 'token = "********"  # env DISCORD_TOKEN' in result.output
    assert f'openai_api_key = "********"  # file {config_file}:services.openai_api_key' in result.output
    assert f"port = 9000  # file {config_file}:health.port" in result.output
    assert 'format = "json"  # profile production' in result.output


def test_config_error_exits_2_with_key_value_and_source() -> None:
    result = CliRunner().invoke(main, ["config", "show"], env={**CLEAN_ENV, "SHARD_HEALTH_PORT": "http"})
    assert result.exit_code == EXIT_CONFIG
    assert "health.port: 'http' is not an integer (from env SHARD_HEALTH_PORT)" in result.output


def test_config_docs_writes_and_checks(tmp_path: Path) -> None:
    target = tmp_path / "configuration.md"
    runner = CliRunner()
    assert runner.invoke(main, ["config", "docs", "--check", "--output", str(target)]).exit_code == 1
    result = runner.invoke(main, ["config", "docs", "--output", str(target)])
    assert result.exit_code == 0 and target.read_text() == render_docs()
    assert runner.invoke(main, ["config", "docs", "--check", "--output", str(target)]).exit_code == 0
    target.write_text(render_docs() + "hand edit\n")
    stale = runner.invoke(main, ["config", "docs", "--check", "--output", str(target)])
    assert stale.exit_code == 1 and "out of date" in stale.output
