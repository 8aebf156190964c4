"""Configuration: layer precedence, strict types, error messages that name key, value and source."""

from pathlib import Path

import pytest

from shard.config import Config, ConfigError, Secret, load_config, render_docs, render_show

REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shard.toml"
    path.write_text(text)
    return path


def test_precedence_default_profile_file_env(tmp_path: Path) -> None:
    # default: level INFO; development profile: DEBUG; file: WARNING; env: ERROR.
    assert Config.defaults("production").logging.level == "INFO"
    assert Config.defaults("development").logging.level == "DEBUG"
    path = write(tmp_path, '[logging]\nlevel = "warning"\n')
    from_file = load_config(path, profile="development", env={})
    assert from_file.logging.level == "WARNING"
    assert str(from_file.sources["logging.level"]) == f"file {path}:logging.level"
    from_env = load_config(path, profile="development", env={"SHARD_LOGGING_LEVEL": "error"})
    assert from_env.logging.level == "ERROR"
    assert str(from_env.sources["logging.level"]) == "env SHARD_LOGGING_LEVEL"
    assert str(Config.defaults("development").sources["logging.level"]) == "profile development"
    assert str(Config.defaults("production").sources["logging.level"]) == "default"


def test_profile_defaults_choose_log_format() -> None:
    assert Config.defaults("development").logging.format == "console"
    assert Config.defaults("production").logging.format == "json"


def test_profile_from_env_then_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'profile = "production"\n')
    assert load_config(path, env={}).profile == "production"
    assert load_config(path, env={"SHARD_PROFILE": "testing"}).profile == "testing"
    assert load_config(path, profile="development", env={"SHARD_PROFILE": "testing"}).profile == "development"


def test_well_known_env_names_and_shard_name_wins() -> None:
    env = {"DISCORD_TOKEN": "well.known.token", "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10"}
    config = load_config(env=env, search_default_file=False)
    assert config.discord.token == Secret("well.known.token")
    assert config.discord.api_base == "http://127.0.0.1:9/api/v10"
    config = load_config(env={**env, "SHARD_DISCORD_TOKEN": "specific"}, search_default_file=False)
    assert config.discord.token is not None and config.discord.token.reveal() == "specific"
    assert str(config.sources["discord.token"]) == "env SHARD_DISCORD_TOKEN"


def test_env_lists_tables_booleans_and_empty_values() -> None:
    env = {
        "SHARD_DISCORD_INTENTS": "guilds, guild_messages",
        "SHARD_COMMANDS_OWNER_IDS": "1,2,3",
        "SHARD_STORAGE_RETENTION_DAYS": "audit_log=10, error_log=5",
        "DATABASE_URL": "",  # empty counts as unset
    }
    config = load_config(env=env, search_default_file=False)
    assert config.discord.intents == ("guilds", "guild_messages")
    assert config.commands.owner_ids == (1, 2, 3)
    assert config.storage.retention_days == {"audit_log": 10, "error_log": 5}
    assert config.storage.database_url is None


def test_file_values_and_relative_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[health]\nport = 0\n[logging]\nfile = "logs/bot.log"\n[commands]\nowner_ids = [42]\n'
        "[storage]\nretention_days = { audit_log = 7 }\n",
    )
    config = load_config(path, env={})
    assert config.health.port == 0
    assert config.logging.file == tmp_path.resolve() / "logs" / "bot.log"
    assert config.commands.owner_ids == (42,)
    assert config.storage.retention_days == {"audit_log": 7}


def test_config_path_from_env(tmp_path: Path) -> None:
    path = write(tmp_path, "[health]\nport = 1234\n")
    assert load_config(env={"SHARD_CONFIG": str(path)}).health.port == 1234


@pytest.mark.parametrize(
    ("env", "key", "value", "problem", "source"),
    [
        (
            {"SHARD_HEALTH_PORT": "eighty"},
            "health.port",
            "'eighty'",
            "is not an integer",
            "env SHARD_HEALTH_PORT",
        ),
        (
            {"SHARD_HEALTH_PORT": "70000"},
            "health.port",
            "'70000'",
            "must be <= 65535",
            "env SHARD_HEALTH_PORT",
        ),
        (
            {"SHARD_LOGGING_FORMAT": "xml"},
            "logging.format",
            "'xml'",
            "is not one of",
            "env SHARD_LOGGING_FORMAT",
        ),
        (
            {"SHARD_LOGGING_LEVEL": "LOUD"},
            "logging.level",
            "'LOUD'",
            "must be one of",
            "env SHARD_LOGGING_LEVEL",
        ),
        (
            {"DISCORD_API_BASE": "discord.com"},
            "discord.api_base",
            "'discord.com'",
            "http",
            "env DISCORD_API_BASE",
        ),
        ({"SHARD_DISCORD_INTENTS": "guilds,nope"}, "discord.intents", "'guilds,nope'", "nope", "env"),
        ({"SHARD_REST_TIMEOUT_S": "-1"}, "rest.timeout_s", "'-1'", "must be >=", "env SHARD_REST_TIMEOUT_S"),
        ({"SHARD_STORAGE_RETENTION_DAYS": "x"}, "storage.retention_days", "'x'", "name=value", "env"),
    ],
)
def test_env_errors_name_key_value_and_source(
    env: dict[str, str], key: str, value: str, problem: str, source: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(env=env, search_default_file=False)
    [found] = info.value.problems
    assert found.key == key
    assert found.value == value
    assert problem in found.problem
    assert str(found.source).startswith(source)
    assert key in str(info.value) and value in str(info.value) and source in str(info.value)


def test_file_errors_name_the_file_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[health]\nport = "8787"\n[logging]\nlevle = "INFO"\n[discrod]\ntoken = "x"\n'
        "[storage]\npool_min = true\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    problems = {p.key: p for p in info.value.problems}
    assert set(problems) == {"health.port", "logging.levle", "discrod", "storage.pool_min"}
    assert problems["health.port"].problem == "is not an integer"  # no silent str -> int in files
    assert str(problems["health.port"].source) == f"file {path}:health.port"
    assert "not a known setting of [logging]" in problems["logging.levle"].problem
    assert "not a known section" in problems["discrod"].problem
    assert problems["storage.pool_min"].problem == "is not an integer"  # a bool is not an int


def test_cross_field_error_names_both_keys() -> None:
    env = {"SHARD_STORAGE_POOL_MIN": "20", "SHARD_STORAGE_POOL_MAX": "5"}
    with pytest.raises(ConfigError) as info:
        load_config(env=env, search_default_file=False)
    [problem] = info.value.problems
    assert problem.key == "storage.pool_min"
    assert "storage.pool_max" in problem.problem and "SHARD_STORAGE_POOL_MAX" in problem.problem


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(write(tmp_path, "[health\n"), env={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", env={})


def test_bad_profile() -> None:
    with pytest.raises(ConfigError, match="profile: 'staging' is not one of") as info:
        load_config(env={"SHARD_PROFILE": "staging"}, search_default_file=False)
    assert str(info.value.problems[0].source) == "env SHARD_PROFILE"


def test_secret_never_shows_itself() -> None:
    secret = Secret("hunter2-very-secret")
    assert "hunter2" not in str(secret) and "hunter2" not in repr(secret)
    assert "hunter2" not in f"{secret} {secret!r}"
    assert secret.reveal() == "hunter2-very-secret"
    config = load_config(env={"DISCORD_TOKEN": "hunter2-very-secret"}, search_default_file=False)
    assert "hunter2" not in repr(config)


def test_secret_errors_do_not_echo_the_value(tmp_path: Path) -> None:
    path = write(tmp_path, "[discord]\ntoken = 12345\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert "12345" not in str(info.value)
    assert "discord.token" in str(info.value)


def test_show_redacts_secrets_and_names_sources() -> None:
    env = {
        "DISCORD_TOKEN": "tok-abcdefghijkl",
        "DATABASE_URL": "postgresql://bot:pw-zyxwvut@db/bot",
        "OPENAI_API_KEY": "sk-notreally12345678",
        "SHARD_HEALTH_PORT": "9999",
    }
    config = load_config(env=env, profile="production", search_default_file=False)
    text = render_show(config)
    for value in env.values():
        if value != "9999":
            assert value not in text
    assert 'token = "********"  # env DISCORD_TOKEN' in text
    assert "port = 9999  # env SHARD_HEALTH_PORT" in text
    assert 'format = "json"  # profile production' in text
    assert 'profile = "production"  # argument --profile' in text
    assert set(config.secret_values()) == {env["DISCORD_TOKEN"], env["DATABASE_URL"], env["OPENAI_API_KEY"]}


def test_unknown_shard_env_is_a_warning() -> None:
    config = load_config(env={"SHARD_LOGING_LEVEL": "INFO"}, search_default_file=False)
    assert any("SHARD_LOGING_LEVEL" in w for w in config.warnings)


def test_docs_cover_every_key_and_are_committed_up_to_date() -> None:
    docs = render_docs()
    for env_name in ("SHARD_HEALTH_PORT", "DISCORD_TOKEN", "DATABASE_URL", "SHARD_STORAGE_POOL_MAX"):
        assert env_name in docs
    assert "`json`" in docs and 'production: `"json"`' in docs
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == docs, "docs/configuration.md is stale: run `shard config docs`"
