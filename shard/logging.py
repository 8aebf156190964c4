"""Logging setup: human console lines or JSON lines, size-based rotation, task context, secret redaction.

Why it is built this way:

* **Context travels with the task.** Every record gets the fields bound with `supervision.logfields`
  (``actor``, ``guild_id``, ``command``, ``error_id``...) by a handler filter, so a log line written deep in a
  REST call still says which actor and command it belongs to, and nobody threads those through arguments.
  Fields passed with ``extra=`` are kept too.
* **Two formats, one record.** Humans read ``console`` lines (time, level, logger, message, then the
  ``[k=v]`` context); machines read ``json`` lines (one orjson object per record). The file, when
  configured, is rotated by size with the stdlib `RotatingFileHandler` and defaults to JSON.
* **Redaction is the last step, on the final text.** Code must never log a secret, but a token can still slip
  into an exception message, a repr of a request, or a traceback's locals. Each of our handlers therefore
  formats the record completely (message, arguments, traceback, stack) and *then* replaces every configured
  secret value and every token-looking string (Discord tokens and JWTs, ``Bot``/``Bearer`` headers, passwords
  in URLs, ``sk-`` API keys) with ``********``. The JSON formatter redacts each string before serialising,
  because JSON escaping would otherwise hide a secret containing quotes or backslashes from the final pass.
  Secret values shorter than `MIN_SECRET_LENGTH` are not searched for: masking every ``abc`` in the logs
  would destroy them without protecting anything.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import re
import sys
import traceback
from collections.abc import Iterable, Mapping
from typing import TextIO

import orjson

from shard.config import MASK, Config, LoggingConfig
from supervision import logfields

__all__ = [
    "ConsoleFormatter",
    "ContextFilter",
    "JsonFormatter",
    "RedactingFormatter",
    "Redactor",
    "setup",
    "teardown",
]

MIN_SECRET_LENGTH = 4

#: Patterns that look like credentials whatever the configuration says.
_TOKEN_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Discord bot tokens and JWTs: three base64url parts separated by dots.
    (re.compile(r"[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{20,}"), MASK),
    # Authorization headers.
    # Authorization-header shapes. Case-sensitive "Bot" with a token-length value, so prose such as
    # "is the bot connected?" is left alone.
    (re.compile(r"\b(Bot|Bearer|bearer)\s+[A-Za-z0-9._~+/=-]{20,}"), rf"\1 {MASK}"),
    (re.compile(r"\b(Basic|basic)\s+[A-Za-z0-9+/=]{8,}"), rf"\1 {MASK}"),
    # user:password@ in URLs (database URLs, proxies).
    (re.compile(r"(://[^:/@\s]+):([^@\s/]+)@"), rf"\1:{MASK}@"),
    # OpenAI-style API keys.
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), MASK),
)

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime", "context"}
)


class Redactor:
    """Replaces known secret values and token-looking strings with ``********``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._secrets = re.compile("|".join(re.escape(v) for v in values)) if values else None

    def redact(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(MASK, text)
        for pattern, replacement in _TOKEN_PATTERNS:
            text = pattern.sub(replacement, text)
        return text


class ContextFilter(logging.Filter):
    """Attaches the task's `logfields` and any ``extra=`` fields to the record as ``record.context``."""

    def filter(self, record: logging.LogRecord) -> bool:
        context: dict[str, object] = dict(logfields.current())
        for name, value in record.__dict__.items():
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                context[name] = value
        record.context = context
        return True


def _context(record: logging.LogRecord) -> Mapping[str, object]:
    context = getattr(record, "context", None)
    return context if isinstance(context, Mapping) else {}


class ConsoleFormatter(logging.Formatter):
    """``2026-11-22 01:02:03.456 INFO    shard.app: message [actor=root/metrics guild_id=42]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - stdlib name
        line = super().formatMessage(record)
        context = _context(record)
        if context:
            line += " [" + " ".join(f"{k}={v}" for k, v in context.items()) + "]"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, context fields, and exc/stack when present."""

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor or Redactor()

    def _clean(self, value: object) -> object:
        if isinstance(value, str):
            return self._redactor.redact(value)
        if isinstance(value, bool | int | float) or value is None:
            return value
        return self._redactor.redact(str(value))

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": self._redactor.redact(record.getMessage()),
        }
        for name, value in _context(record).items():
            doc.setdefault(name, self._clean(value))
        if record.exc_info and record.exc_info[1] is not None:
            doc["exc_type"] = type(record.exc_info[1]).__name__
            doc["exc"] = self._redactor.redact("".join(traceback.format_exception(*record.exc_info)))
        elif record.exc_text:
            doc["exc"] = self._redactor.redact(record.exc_text)
        if record.stack_info:
            doc["stack"] = self._redactor.redact(record.stack_info)
        return orjson.dumps(doc).decode()


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts the complete text (message, traceback and stack included)."""

    def __init__(self, inner: logging.Formatter, redactor: Redactor) -> None:
        super().__init__()
        self._inner = inner
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        # The stdlib caches the formatted traceback on the record; don't let another handler reuse ours.
        return self._redactor.redact(self._inner.format(record))


_INSTALLED_MARK = "_shard_logging_handler"


def _formatter(kind: str, redactor: Redactor) -> logging.Formatter:
    inner = JsonFormatter(redactor) if kind == "json" else ConsoleFormatter()
    return RedactingFormatter(inner, redactor)


def _install(handler: logging.Handler, kind: str, redactor: Redactor) -> logging.Handler:
    handler.setFormatter(_formatter(kind, redactor))
    handler.addFilter(ContextFilter())
    setattr(handler, _INSTALLED_MARK, True)
    logging.getLogger().addHandler(handler)
    return handler


def teardown() -> None:
    """Remove (and close) the handlers a previous `setup` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _INSTALLED_MARK, False):
            root.removeHandler(handler)
            handler.close()


def setup(
    config: Config | LoggingConfig,
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> list[logging.Handler]:
    """Configure the root logger from `config` (idempotent: replaces what an earlier call installed).

    Given a whole `Config`, its secret values are redacted automatically; `secrets` adds more. `stream`
    defaults to stderr. Returns the installed handlers.
    """
    logging_config = config.logging if isinstance(config, Config) else config
    all_secrets = [*secrets, *(config.secret_values() if isinstance(config, Config) else [])]
    redactor = Redactor(all_secrets)
    teardown()
    root = logging.getLogger()
    root.setLevel(logging_config.level)
    for name, level in logging_config.levels.items():
        logging.getLogger(name).setLevel(level)
    handlers = [_install(logging.StreamHandler(stream or sys.stderr), logging_config.format, redactor)]
    if logging_config.file is not None:
        logging_config.file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.handlers.RotatingFileHandler(
            logging_config.file,
            maxBytes=logging_config.max_bytes,
            backupCount=logging_config.backups,
            encoding="utf-8",
        )
        handlers.append(_install(file_handler, logging_config.file_format, redactor))
    logging.captureWarnings(True)
    if isinstance(config, Config):
        log = logging.getLogger(__name__)
        for warning in config.warnings:
            log.warning("%s", warning)
    return handlers
