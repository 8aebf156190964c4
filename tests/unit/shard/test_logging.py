"""Logging: formats, context fields, rotation and redaction of secrets in messages and tracebacks."""

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import shard.logging as shard_logging
from shard.config import Config, LoggingConfig, load_config
from supervision import logfields


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    shard_logging.teardown()
    root.setLevel(level)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)


def capture(config: Config | LoggingConfig, secrets: tuple[str, ...] = ()) -> io.StringIO:
    stream = io.StringIO()
    shard_logging.setup(config, secrets=secrets, stream=stream)
    return stream


def test_console_line_carries_context_fields() -> None:
    stream = capture(LoggingConfig(level="DEBUG", format="console"))
    with logfields.bind(actor="root/guilds/7", guild_id=7, command="ping"):
        logging.getLogger("shard.test").info("hello %s", "world", extra={"latency_ms": 3})
    line = stream.getvalue().strip()
    assert "INFO" in line and "shard.test: hello world" in line
    assert "[actor=root/guilds/7 guild_id=7 command=ping latency_ms=3]" in line


def test_json_lines_are_parseable_with_fields_and_exception() -> None:
    stream = capture(LoggingConfig(level="DEBUG", format="json"))
    log = logging.getLogger("shard.test")
    with logfields.bind(actor="root/executor", error_id="E1234"):
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    doc = orjson.loads(stream.getvalue().strip())
    assert doc["level"] == "ERROR" and doc["logger"] == "shard.test" and doc["msg"] == "failed"
    assert doc["actor"] == "root/executor" and doc["error_id"] == "E1234"
    assert doc["exc_type"] == "ValueError" and "boom" in doc["exc"]


def test_level_and_per_logger_levels() -> None:
    stream = capture(LoggingConfig(level="WARNING", levels={"noisy": "ERROR"}))
    logging.getLogger("shard.a").info("hidden")
    logging.getLogger("shard.a").warning("shown")
    logging.getLogger("noisy").warning("hidden too")
    out = stream.getvalue()
    assert "shown" in out and "hidden" not in out


def test_setup_is_idempotent() -> None:
    capture(LoggingConfig())
    stream = capture(LoggingConfig())
    logging.getLogger("shard.x").warning("once")
    assert stream.getvalue().count("once") == 1
    marked = [h for h in logging.getLogger().handlers if getattr(h, "_shard_logging_handler", False)]
    assert len(marked) == 1


def test_rotating_file(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "bot.log"
    capture(LoggingConfig(file=log_file, max_bytes=2048, backups=2))
    log = logging.getLogger("shard.rot")
    for i in range(200):
        log.warning("line %d %s", i, "x" * 40)
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["bot.log", "bot.log.1", "bot.log.2"]
    assert all(p.stat().st_size <= 2048 for p in log_file.parent.iterdir())
    last = log_file.read_text().strip().splitlines()[-1]
    assert orjson.loads(last)["msg"].startswith("line 199")  # file format defaults to JSON


def test_config_secrets_are_redacted_automatically() -> None:
    config = load_config(
        env={"DISCORD_TOKEN": "plain-token-value", "DATABASE_URL": "postgresql://u:dbpass99@h/db"},
        search_default_file=False,
    )
    stream = capture(config)
    logging.getLogger("shard.t").warning(
        "token=%s url=%s", "plain-token-value", "postgresql://u:dbpass99@h/db"
    )
    out = stream.getvalue()
    assert "plain-token-value" not in out and "dbpass99" not in out
    assert "token=********" in out


@pytest.mark.parametrize(
    ("leak", "secret_part"),
    [
        ("MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.GaBcDe.abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz"),
        ("Authorization: Bot abcdefghijklmnop1234", "abcdefghijklmnop1234"),
        ("postgresql://bot:s3cr3tpass@localhost:5432/db", "s3cr3tpass"),
        ("sk-abcdefghijklmnopqrstuvwx", "abcdefghijklmnopqrstuvwx"),
    ],
)
def test_token_looking_strings_are_redacted_without_configuration(leak: str, secret_part: str) -> None:
    stream = capture(LoggingConfig(format="json"))
    logging.getLogger("shard.t").warning("request failed: %s", leak)
    assert secret_part not in stream.getvalue()
    assert "********" in stream.getvalue()


secrets = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="*", exclude_categories=("Cs",)),
    min_size=shard_logging.MIN_SECRET_LENGTH + 2,
    max_size=40,
).filter(lambda s: s.strip() == s and s.strip() != "")


@settings(max_examples=60, deadline=None)
@given(secret=secrets, fmt=st.sampled_from(["console", "json"]))
def test_a_configured_secret_never_appears_in_output(secret: str, fmt: str) -> None:
    stream = capture(LoggingConfig(format=fmt), secrets=(secret,))  # type: ignore[arg-type]
    log = logging.getLogger("shard.leaky")
    with logfields.bind(command=f"cmd-{secret}"):
        log.warning("message with %s inside", secret, extra={"detail": secret})
        try:
            raise RuntimeError(f"connect failed for {secret!r}")
        except RuntimeError:
            log.exception("traceback with %r", secret)
        log.warning("stack", stack_info=True)
    out = stream.getvalue()
    assert secret not in out
    assert "connect failed" in out
    if fmt == "json":
        for line in out.splitlines():
            doc = orjson.loads(line)
            assert all(secret not in str(v) for v in doc.values())
