"""Typed, layered configuration: defaults < profile < TOML file < environment.

Why it is built this way:

* **One schema, many readers.** Every setting is an attrs field whose metadata carries its documentation,
  its well-known environment name and its per-profile defaults. The loader, the error messages,
  ``shard config show`` and the generated ``docs/configuration.md`` all read that one schema, so they cannot
  drift apart (a unit test checks the committed docs against `render_docs`).
* **Every value remembers where it came from.** A bot that refuses to start because of a bad setting must say
  which key, what is wrong with the value and where the value was set (``file shard.toml:logging.level``,
  ``env SHARD_LOGGING_LEVEL``, ``profile production``, ``default``). The loader therefore merges raw layers
  itself, keeping a `Source` per key, validates each key against its declared type with strict rules (cattrs'
  own structuring would happily turn ``"false"`` into ``True`` and ``3.7`` into ``3``), and only then lets
  cattrs build the frozen attrs objects from values that are already correct.
* **Secrets are a type, not a convention.** Tokens, API keys and the database URL are `Secret` values whose
  ``str``/``repr`` is ``********``; code that needs the real value calls `Secret.reveal` in the one place that
  sends it. `Config.secret_values` feeds the log redactor (`shard.logging`) as a last line of defence.
* **Environment names.** Every key can be set as ``SHARD_<SECTION>_<KEY>`` (e.g. ``SHARD_HEALTH_PORT``); the
  settings the whole Discord ecosystem knows also answer to their usual names (``DISCORD_TOKEN``,
  ``DISCORD_API_BASE``, ``DATABASE_URL``, ``OPENAI_API_KEY``...). When both are set, the ``SHARD_`` name wins
  because it is the more specific one. An empty environment value counts as unset (as docker-compose files
  tend to produce them). Lists come from comma-separated text, tables from ``name=value`` pairs.
"""

from __future__ import annotations

import enum
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import cattrs
import platformdirs

__all__ = [
    "CommandsConfig",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "DiscordConfig",
    "GatewayConfig",
    "HealthConfig",
    "LoggingConfig",
    "Profile",
    "RestConfig",
    "RuntimeConfig",
    "Secret",
    "ServicesConfig",
    "Source",
    "StorageConfig",
    "default_config_path",
    "load_config",
    "render_docs",
    "render_show",
]

Profile = Literal["development", "testing", "production"]
PROFILES: tuple[Profile, ...] = ("development", "testing", "production")
DEFAULT_PROFILE: Profile = "development"
ENV_CONFIG_PATH = "SHARD_CONFIG"
ENV_PROFILE = "SHARD_PROFILE"
DEFAULT_CONFIG_FILE = "shard.toml"
MASK = "********"
APP_DIR_NAME = "twi-bot-shard"


class Secret:
    """A string that never shows itself: ``str()``/``repr()`` give ``********``; `reveal` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value; call this only where it is sent (an HTTP header, a database connect)."""
        return self._value

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("Secret values are not picklable")


# ----------------------------------------------------------------------------------------------------
# Schema helpers: metadata on attrs fields
# ----------------------------------------------------------------------------------------------------

Check = Callable[[Any], str | None]


def _meta(
    doc: str,
    *,
    env: str | None = None,
    min: float | None = None,
    max: float | None = None,
    profiles: Mapping[str, object] | None = None,
    default_doc: str | None = None,
    check: Check | None = None,
    normalize: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    return {
        "doc": doc,
        "env": env,
        "min": min,
        "max": max,
        "profiles": dict(profiles or {}),
        "default_doc": default_doc,
        "check": check,
        "normalize": normalize,
    }


def _http_url(value: Any) -> str | None:
    if not re.match(r"^https?://[^\s/]+", str(value)):
        return "must be an http:// or https:// URL"
    return None


def _non_empty(value: Any) -> str | None:
    return "must not be empty" if not str(value).strip() else None


#: Gateway intent names (Discord's docs, developers/events/gateway.mdx), written in lower case.
INTENT_NAMES: frozenset[str] = frozenset(
    {
        "guilds", "guild_members", "guild_moderation", "guild_expressions", "guild_integrations",
        "guild_webhooks", "guild_invites", "guild_voice_states", "guild_presences", "guild_messages",
        "guild_message_reactions", "guild_message_typing", "direct_messages", "direct_message_reactions",
        "direct_message_typing", "message_content", "guild_scheduled_events",
        "auto_moderation_configuration", "auto_moderation_execution", "guild_message_polls",
        "direct_message_polls",
    }
)  # fmt: skip


def _intents(value: Any) -> str | None:
    unknown = [name for name in value if name not in INTENT_NAMES]
    if unknown:
        return f"unknown intent name(s) {', '.join(unknown)} (known: {', '.join(sorted(INTENT_NAMES))})"
    return None


def _log_level(value: Any) -> str | None:
    levels = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    return None if value in levels else f"must be one of {', '.join(levels)}"


def _logger_levels(value: Any) -> str | None:
    for name, level in value.items():
        problem = _log_level(level)
        if problem:
            return f"level of logger {name!r} {problem}"
    return None


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_DIR_NAME)) / "postgres"


# ----------------------------------------------------------------------------------------------------
# The schema
# ----------------------------------------------------------------------------------------------------


@attrs.frozen
class DiscordConfig:
    """Connection to Discord (or to anything speaking its API, such as the local emulator)."""

    token: Secret | None = attrs.field(
        default=None,
        metadata=_meta("Bot token. Without it `shard run` starts the offline sandbox.", env="DISCORD_TOKEN"),
    )
    api_base: str = attrs.field(
        default="https://discord.com/api/v10",
        metadata=_meta(
            "REST base URL; the gateway URL always comes from `GET /gateway/bot` on this base.",
            env="DISCORD_API_BASE",
            check=_http_url,
        ),
    )
    intents: tuple[str, ...] = attrs.field(
        default=(
            "guilds",
            "guild_members",
            "guild_moderation",
            "guild_messages",
            "guild_message_reactions",
            "message_content",
        ),
        metadata=_meta("Gateway intents by name (lower case, as in Discord's docs).", check=_intents),
    )
    shard_count: int | None = attrs.field(
        default=None,
        metadata=_meta("Number of shards; unset means the count recommended by `/gateway/bot`.", min=1),
    )
    compression: Literal["zlib-stream", "zstd-stream", "none"] = attrs.field(
        default="zlib-stream", metadata=_meta("Gateway transport compression.")
    )
    application_id: int | None = attrs.field(
        default=None,
        metadata=_meta("Application id; unset means it is read from `/oauth2/applications/@me`.", min=1),
    )


@attrs.frozen
class GatewayConfig:
    """Gateway session behaviour."""

    reconnect_backoff_base_s: float = attrs.field(
        default=1.0, metadata=_meta("First reconnect backoff ceiling (full jitter below it).", min=0.0)
    )
    reconnect_backoff_max_s: float = attrs.field(
        default=60.0, metadata=_meta("Largest reconnect backoff ceiling.", min=0.0)
    )


@attrs.frozen
class RestConfig:
    """REST client and rate limiter."""

    max_rate_limit_wait_s: float = attrs.field(
        default=60.0,
        metadata=_meta("A request that would wait longer than this for a rate limit fails instead.", min=0.0),
    )
    timeout_s: float = attrs.field(default=10.0, metadata=_meta("HTTP timeout per request.", min=0.001))
    global_rate_per_s: float = attrs.field(
        default=50.0, metadata=_meta("Global request rate (interaction callbacks are exempt).", min=0.001)
    )


@attrs.frozen
class StorageConfig:
    """PostgreSQL: an embedded server unless `database_url` is set."""

    database_url: Secret | None = attrs.field(
        default=None,
        metadata=_meta(
            "PostgreSQL URL (postgresql://user:password@host/db). Unset: start the embedded server.",
            env="DATABASE_URL",
        ),
    )
    data_dir: Path = attrs.field(
        factory=_default_data_dir,
        metadata=_meta(
            "Data directory of the embedded PostgreSQL server.",
            default_doc="<user data dir>/twi-bot-shard/postgres",
        ),
    )
    pool_min: int = attrs.field(default=1, metadata=_meta("Smallest connection pool size.", min=0))
    pool_max: int = attrs.field(default=10, metadata=_meta("Largest connection pool size.", min=1))
    statement_timeout_s: float = attrs.field(
        default=30.0, metadata=_meta("Server-side statement timeout.", min=0.0)
    )
    slow_query_ms: float = attrs.field(
        default=200.0, metadata=_meta("Queries slower than this are logged with their timing.", min=0.0)
    )
    writer_batch_size: int = attrs.field(
        default=2_000,
        metadata=_meta(
            "Rows per batch written by the storage writer (a batch costs one transaction and a few "
            "round trips).",
            min=1,
        ),
    )
    writer_flush_interval_s: float = attrs.field(
        default=0.1,
        metadata=_meta(
            "Longest time a row waits in the writer before a flush (short flushes keep the database's "
            "bursts short next to the bot: see docs/benchmarks.md).",
            min=0.001,
        ),
    )
    writer_capacity: int = attrs.field(
        default=100_000,
        metadata=_meta(
            "Rows the writer holds while the database is down; beyond it, drops are counted.", min=1
        ),
    )
    writer_retry_initial_s: float = attrs.field(
        default=0.25,
        metadata=_meta(
            "First wait before the writer retries a batch the database did not take (it doubles per "
            "attempt, with jitter, up to `writer_retry_max_s`).",
            min=0.001,
        ),
    )
    writer_retry_max_s: float = attrs.field(
        default=15.0,
        metadata=_meta(
            "Longest wait between the writer's retries during a database outage (how soon it notices the "
            "database is back).",
            min=0.001,
        ),
    )
    retention_days: dict[str, int] = attrs.field(
        factory=lambda: {"message_stats": 365, "command_history": 90, "error_log": 30, "audit_log": 365},
        metadata=_meta(
            "Retention window in days per table (`shard db cleanup`); env form `table=days,table=days`.",
            check=lambda v: next((f"{k!r} must be >= 1 day" for k, d in v.items() if d < 1), None),
        ),
    )


@attrs.frozen
class HealthConfig:
    """Operator endpoints: /metrics, /healthz, /readyz, /health, /health.txt."""

    host: str = attrs.field(
        default="127.0.0.1", metadata=_meta("Listen address (keep it on loopback).", check=_non_empty)
    )
    port: int = attrs.field(
        default=8787,
        metadata=_meta("Listen port; 0 picks a free one.", min=0, max=65535, profiles={"testing": 0}),
    )
    loop_lag_threshold_s: float = attrs.field(
        default=1.0, metadata=_meta("Liveness fails when the event loop lags more than this.", min=0.001)
    )


@attrs.frozen
class RuntimeConfig:
    """The process's runtime: garbage collector and stall diagnostics (see shard/gc_policy.py)."""

    gc_gen0_threshold: int = attrs.field(
        default=200_000,
        metadata=_meta(
            "Allocations between young-generation GC passes; the start-up heap is frozen too. "
            "0 leaves Python's collector settings alone.",
            min=0,
        ),
    )
    slow_step_threshold_s: float = attrs.field(
        default=0.05,
        metadata=_meta(
            "Event-loop stalls longer than this are named (task and line) in the health report, and "
            "logged while they last past 1 s (0 turns the monitor off).",
            min=0.0,
        ),
    )


@attrs.frozen
class LoggingConfig:
    """Log output: console lines for humans, JSON lines for machines, optional rotating file."""

    level: str = attrs.field(
        default="INFO",
        metadata=_meta(
            "Root log level.", profiles={"development": "DEBUG"}, check=_log_level, normalize=str.upper
        ),
    )
    format: Literal["console", "json"] = attrs.field(
        default="console", metadata=_meta("Format on stderr.", profiles={"production": "json"})
    )
    file: Path | None = attrs.field(
        default=None, metadata=_meta("Log file (rotated by size); unset: no file.")
    )
    file_format: Literal["console", "json"] = attrs.field(
        default="json", metadata=_meta("Format in the log file.")
    )
    max_bytes: int = attrs.field(
        default=32 * 1024 * 1024, metadata=_meta("Rotate the log file at this size.", min=1024)
    )
    backups: int = attrs.field(default=10, metadata=_meta("Rotated files kept.", min=0))
    levels: dict[str, str] = attrs.field(
        factory=lambda: {"httpx": "WARNING", "httpcore": "WARNING"},
        metadata=_meta('Per-logger levels, e.g. `{ httpx = "WARNING" }`.', check=_logger_levels),
    )


@attrs.frozen
class CommandsConfig:
    """Command framework."""

    owner_ids: tuple[int, ...] = attrs.field(
        default=(), metadata=_meta("User ids with the owner permission level.")
    )
    dev_guild_id: int | None = attrs.field(
        default=None, metadata=_meta("Guild to sync commands to in development.", min=1)
    )
    default_cooldown_s: float = attrs.field(
        default=3.0, metadata=_meta("Cooldown for commands that do not set their own.", min=0.0)
    )
    custom_id_secret: Secret | None = attrs.field(
        default=None,
        metadata=_meta(
            "Key that signs the custom_ids of buttons, selects and modals. Unset: derived from the bot "
            "token (stable across restarts and the same in every process). Set it to keep components "
            "working across a token reset; change it to invalidate every component already sent."
        ),
    )


@attrs.frozen
class ServicesConfig:
    """External services behind the features (fakes in tests point these at loopback)."""

    timeout_s: float = attrs.field(
        default=15.0, metadata=_meta("HTTP timeout for external services.", min=0.001)
    )
    wiki_base_url: str = attrs.field(
        default="https://thewanderinginn.fandom.com",
        metadata=_meta("Fandom MediaWiki site (its `api.php` is used).", check=_http_url),
    )
    google_search_base_url: str = attrs.field(
        default="https://www.googleapis.com/customsearch/v1",
        metadata=_meta("Google Custom Search endpoint.", check=_http_url),
    )
    google_api_key: Secret | None = attrs.field(
        default=None, metadata=_meta("Google API key for `/find`.", env="GOOGLE_API_KEY")
    )
    google_cse_id: str | None = attrs.field(
        default=None, metadata=_meta("Google Custom Search engine id.", env="GOOGLE_CSE_ID")
    )
    patreon_base_url: str = attrs.field(
        default="https://www.patreon.com/api",
        metadata=_meta("Patreon API base (polls).", check=_http_url),
    )
    patreon_campaign_id: int = attrs.field(
        default=568211, metadata=_meta("Patreon campaign whose polls are read.", min=1)
    )
    patreon_cookies: Secret | None = attrs.field(
        default=None, metadata=_meta("Patreon session cookies (polls).", env="PATREON_COOKIES")
    )
    ao3_base_url: str = attrs.field(
        default="https://archiveofourown.org", metadata=_meta("Archive of Our Own site.", check=_http_url)
    )
    ao3_username: str | None = attrs.field(
        default=None, metadata=_meta("AO3 login name.", env="AO3_USERNAME")
    )
    ao3_password: Secret | None = attrs.field(
        default=None, metadata=_meta("AO3 password.", env="AO3_PASSWORD")
    )
    openai_base_url: str = attrs.field(
        default="https://api.openai.com/v1",
        metadata=_meta("OpenAI-compatible API base.", env="OPENAI_BASE_URL", check=_http_url),
    )
    openai_api_key: Secret | None = attrs.field(
        default=None, metadata=_meta("OpenAI API key (`/summarize`, `/moderate`).", env="OPENAI_API_KEY")
    )
    openai_model: str = attrs.field(
        default="gpt-5", metadata=_meta("Chat model for summaries.", check=_non_empty)
    )


@attrs.frozen
class Source:
    """Where a value came from: ``default``, ``profile``, ``file`` or ``env``; `detail` says exactly where."""

    kind: Literal["default", "profile", "file", "env", "argument"]
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind} {self.detail}".strip()


@attrs.frozen
class Config:
    """The effective configuration of one bot process (frozen; pass it, or one section, to constructors)."""

    profile: Profile = DEFAULT_PROFILE
    discord: DiscordConfig = attrs.field(factory=DiscordConfig)
    gateway: GatewayConfig = attrs.field(factory=GatewayConfig)
    rest: RestConfig = attrs.field(factory=RestConfig)
    storage: StorageConfig = attrs.field(factory=StorageConfig)
    health: HealthConfig = attrs.field(factory=HealthConfig)
    runtime: RuntimeConfig = attrs.field(factory=RuntimeConfig)
    logging: LoggingConfig = attrs.field(factory=LoggingConfig)
    commands: CommandsConfig = attrs.field(factory=CommandsConfig)
    services: ServicesConfig = attrs.field(factory=ServicesConfig)
    #: "section.key" -> where its value came from (plus "profile").
    sources: Mapping[str, Source] = attrs.field(factory=dict, eq=False, repr=False)
    #: Non-fatal findings (unknown SHARD_* variables), logged once logging is up.
    warnings: tuple[str, ...] = attrs.field(default=(), eq=False, repr=False)

    def secret_values(self) -> list[str]:
        """Every configured secret's real value (for the log redactor); never log these."""
        values: list[str] = []
        for section_name in SECTIONS:
            section = getattr(self, section_name)
            for field in attrs.fields(type(section)):
                value = getattr(section, field.name)
                if isinstance(value, Secret) and value.reveal():
                    values.append(value.reveal())
        return values

    @classmethod
    def defaults(cls, profile: Profile = "testing") -> Config:
        """Defaults of a profile, ignoring files and the environment (handy in tests)."""
        return load_config(profile=profile, env={}, search_default_file=False)


SECTIONS: dict[str, type[Any]] = {
    "discord": DiscordConfig,
    "gateway": GatewayConfig,
    "rest": RestConfig,
    "storage": StorageConfig,
    "health": HealthConfig,
    "runtime": RuntimeConfig,
    "logging": LoggingConfig,
    "commands": CommandsConfig,
    "services": ServicesConfig,
}
for _cls in (*SECTIONS.values(), Config):
    attrs.resolve_types(_cls)


# ----------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------


@attrs.frozen
class ConfigProblem:
    """One bad setting: which key, what is wrong, which value and where it came from."""

    key: str
    problem: str
    value: str
    source: Source

    def __str__(self) -> str:
        return f"{self.key}: {self.value} {self.problem} (from {self.source})"


class ConfigError(Exception):
    """The configuration cannot be used; `problems` lists every bad setting at once."""

    def __init__(self, problems: Sequence[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid configuration ({len(self.problems)} problem(s)):\n{lines}")


# ----------------------------------------------------------------------------------------------------
# Strict conversion of raw values (TOML values or environment text) to the declared types
# ----------------------------------------------------------------------------------------------------


class _InvalidValueError(Exception):
    """A value does not fit its type; the message completes "VALUE <message>"."""


def _is_optional(tp: Any) -> tuple[bool, Any]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != len(typing.get_args(tp)):
            return True, args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return False, tp


def _describe_type(tp: Any) -> str:
    optional, inner = _is_optional(tp)
    if optional:
        return f"{_describe_type(inner)} (optional)"
    origin = typing.get_origin(inner)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in typing.get_args(inner))
    if origin is tuple:
        return f"list of {_describe_type(typing.get_args(inner)[0])}s"
    if origin is dict:
        return f"table of {_describe_type(typing.get_args(inner)[1])}s"
    names = {str: "string", int: "integer", float: "number", bool: "boolean", Path: "path", Secret: "secret"}
    return names.get(inner, getattr(inner, "__name__", str(inner)))


def _from_env_text(text: str, tp: Any) -> Any:
    """Turn environment text into a raw value of the shape TOML would give for `tp`."""
    _, inner = _is_optional(tp)
    origin = typing.get_origin(inner)
    if origin is tuple:
        return [part.strip() for part in text.split(",") if part.strip()]
    if origin is dict:
        table: dict[str, str] = {}
        for pair in (p.strip() for p in text.split(",") if p.strip()):
            name, sep, value = pair.partition("=")
            if not sep or not name.strip():
                raise _InvalidValueError(f"is not a list of name=value pairs (bad pair {pair!r})")
            table[name.strip()] = value.strip()
        return table
    return text


def _to_bool(value: Any, from_text: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_text and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
    raise _InvalidValueError("is not a boolean (true/false)")


def _to_int(value: Any, from_text: bool) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if from_text and isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise _InvalidValueError("is not an integer")


def _to_float(value: Any, from_text: bool) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if from_text and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise _InvalidValueError("is not a number")


def _to_str(value: Any, from_text: bool) -> str:
    if isinstance(value, str):
        return value
    raise _InvalidValueError("is not a string")


def _to_secret(value: Any, from_text: bool) -> Secret:
    if isinstance(value, Secret):
        return value
    return Secret(_to_str(value, from_text))


_SCALARS: dict[Any, Callable[[Any, bool], Any]] = {
    bool: _to_bool,
    int: _to_int,
    float: _to_float,
    str: _to_str,
    Secret: _to_secret,
}


def _coerce_table(value: Any, tp: Any, *, from_text: bool, base_dir: Path | None) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _InvalidValueError(f"is not a table (expected {_describe_type(tp)})")
    item_tp = typing.get_args(tp)[1]
    out: dict[str, Any] = {}
    for name, item in value.items():
        try:
            out[str(name)] = _coerce(item, item_tp, from_text=from_text, base_dir=base_dir)
        except _InvalidValueError as exc:
            raise _InvalidValueError(f"has entry {name!r} that {exc}") from None
    return out


def _coerce(value: Any, tp: Any, *, from_text: bool, base_dir: Path | None) -> Any:
    """Check `value` against `tp` strictly and return it in the declared type; raise `_InvalidValueError`."""
    optional, inner = _is_optional(tp)
    if value is None:
        if optional:
            return None
        raise _InvalidValueError("is required")
    origin = typing.get_origin(inner)
    if origin is Literal:
        choices = typing.get_args(inner)
        if value not in choices:
            raise _InvalidValueError("is not one of " + ", ".join(repr(c) for c in choices))
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise _InvalidValueError(f"is not a list (expected {_describe_type(inner)})")
        item_tp = typing.get_args(inner)[0]
        return tuple(_coerce(item, item_tp, from_text=from_text, base_dir=base_dir) for item in value)
    if origin is dict:
        return _coerce_table(value, inner, from_text=from_text, base_dir=base_dir)
    if inner is Path:
        if not isinstance(value, str | Path):
            raise _InvalidValueError("is not a path string")
        path = Path(value).expanduser()
        return base_dir / path if base_dir is not None and not path.is_absolute() else path
    if inner in _SCALARS:
        return _SCALARS[inner](value, from_text)
    raise TypeError(f"unsupported setting type {tp!r}")  # a schema bug, not a user error


def _bounds_problem(value: Any, meta: Mapping[str, Any]) -> str | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    low, high = meta.get("min"), meta.get("max")
    if low is not None and value < low:
        return f"must be >= {low:g}"
    if high is not None and value > high:
        return f"must be <= {high:g}"
    return None


# ----------------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------------


def env_names(section: str, field: attrs.Attribute[Any]) -> list[str]:
    """Environment names of a setting, highest precedence first."""
    names = [f"SHARD_{section.upper()}_{field.name.upper()}"]
    if field.metadata.get("env"):
        names.append(field.metadata["env"])
    return names


def default_config_path(env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Path | None:
    """``$SHARD_CONFIG`` if set, else ``./shard.toml`` if it exists, else None."""
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG_PATH):
        return Path(env[ENV_CONFIG_PATH])
    candidate = (cwd or Path.cwd()) / DEFAULT_CONFIG_FILE
    return candidate if candidate.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    source = Source("file", str(path))
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError([ConfigProblem("<file>", "does not exist", f"'{path}'", source)]) from None
    except OSError as exc:
        raise ConfigError([ConfigProblem("<file>", f"cannot be read: {exc}", f"'{path}'", source)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            [ConfigProblem("<file>", f"is not valid TOML: {exc}", f"'{path}'", source)]
        ) from None


def _shown(value: Any, field: attrs.Attribute[Any]) -> str:
    _, inner = _is_optional(field.type)
    if inner is Secret and value is not None:
        return repr(MASK)
    return repr(value)


_converter = cattrs.Converter()
_converter.register_structure_hook(Secret, lambda v, _: v if isinstance(v, Secret) else Secret(str(v)))
_converter.register_structure_hook(Path, lambda v, _: Path(v))


def load_config(
    path: Path | str | None = None,
    *,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
    search_default_file: bool = True,
) -> Config:
    """Build the effective configuration.

    `path` (the ``--config`` option) wins over ``$SHARD_CONFIG``, which wins over ``./shard.toml`` when
    `search_default_file`; `profile` (``--profile``) wins over ``$SHARD_PROFILE``, which wins over a top-level
    ``profile = "..."`` in the file. Raises `ConfigError` listing every bad setting.
    """
    env = dict(os.environ if env is None else env)
    file_path: Path | None
    if path is not None:
        file_path = Path(path)
    elif env.get(ENV_CONFIG_PATH):
        file_path = Path(env[ENV_CONFIG_PATH])
    else:
        file_path = default_config_path(env) if search_default_file else None
    file_data: dict[str, Any] = _read_toml(file_path) if file_path is not None else {}
    layers = _Layers(env=env, file_data=file_data, file_path=file_path)

    active_profile, profile_source = _choose_profile(profile, layers)
    sources: dict[str, Source] = {"profile": profile_source}
    problems = list(_file_layout_problems(layers))
    structured: dict[str, dict[str, Any]] = {}
    for section_name, section_cls in SECTIONS.items():
        values: dict[str, Any] = {}
        for field in attrs.fields(section_cls):
            key = f"{section_name}.{field.name}"
            outcome = _resolve(section_name, field, active_profile, layers)
            if isinstance(outcome, ConfigProblem):
                problems.append(outcome)
            elif outcome is None:
                sources[key] = Source("default")  # the attrs default (or factory) applies
            else:
                values[field.name], sources[key] = outcome
        structured[section_name] = values
    if problems:
        raise ConfigError(problems)
    sections = {name: _converter.structure(values, SECTIONS[name]) for name, values in structured.items()}
    problems.extend(_cross_checks(sections, sources))
    if problems:
        raise ConfigError(problems)

    known_env = {ENV_CONFIG_PATH, ENV_PROFILE}
    for section_name, section_cls in SECTIONS.items():
        for field in attrs.fields(section_cls):
            known_env.update(env_names(section_name, field))
    warnings = tuple(
        f"environment variable {name} is not a known setting (see docs/configuration.md)"
        for name in sorted(env)
        if name.startswith("SHARD_") and name not in known_env
    )
    return Config(profile=active_profile, sources=sources, warnings=warnings, **sections)


@attrs.frozen
class _Layers:
    env: Mapping[str, str]
    file_data: Mapping[str, Any]
    file_path: Path | None

    def file_source(self, key: str) -> Source:
        return Source("file", f"{self.file_path}:{key}")

    def file_section(self, name: str) -> Mapping[str, Any]:
        section = self.file_data.get(name)
        return section if isinstance(section, dict) else {}


def _choose_profile(argument: str | None, layers: _Layers) -> tuple[Profile, Source]:
    chosen: tuple[object, Source]
    if argument is not None:
        chosen = (argument, Source("argument", "--profile"))
    elif layers.env.get(ENV_PROFILE):
        chosen = (layers.env[ENV_PROFILE], Source("env", ENV_PROFILE))
    elif "profile" in layers.file_data:
        chosen = (layers.file_data["profile"], layers.file_source("profile"))
    else:
        chosen = (DEFAULT_PROFILE, Source("default"))
    for known in PROFILES:
        if chosen[0] == known:
            return known, chosen[1]
    problem = ConfigProblem("profile", "is not one of " + ", ".join(PROFILES), repr(chosen[0]), chosen[1])
    raise ConfigError([problem])


def _file_layout_problems(layers: _Layers) -> Iterator[ConfigProblem]:
    """Unknown sections and keys in the file: almost always a typo that would otherwise be ignored."""
    for name, value in layers.file_data.items():
        if name == "profile":
            continue
        shown = "a table" if isinstance(value, dict) else repr(value)
        if name not in SECTIONS:
            known = ", ".join(SECTIONS)
            yield ConfigProblem(
                name, f"is not a known section (known: {known})", shown, layers.file_source(name)
            )
        elif not isinstance(value, dict):
            yield ConfigProblem(name, "must be a table ([section])", shown, layers.file_source(name))
        else:
            fields = [f.name for f in attrs.fields(SECTIONS[name])]
            for key, item in value.items():
                if key not in fields:
                    yield ConfigProblem(
                        f"{name}.{key}",
                        f"is not a known setting of [{name}] (known: {', '.join(fields)})",
                        repr(item),
                        layers.file_source(f"{name}.{key}"),
                    )


def _resolve(
    section_name: str, field: attrs.Attribute[Any], active_profile: Profile, layers: _Layers
) -> tuple[Any, Source] | ConfigProblem | None:
    """The value of one setting from the highest layer that sets it (None: use the schema default)."""
    key = f"{section_name}.{field.name}"
    env_hit = next((n for n in env_names(section_name, field) if layers.env.get(n, "") != ""), None)
    base_dir: Path | None = None
    raw: Any
    if env_hit is not None:
        source, text, from_text = Source("env", env_hit), layers.env[env_hit], True
        shown = _shown(text, field)
        try:
            raw = _from_env_text(text, field.type)
        except _InvalidValueError as exc:
            return ConfigProblem(key, str(exc), shown, source)
    elif field.name in layers.file_section(section_name):
        source, from_text = layers.file_source(key), False
        raw = layers.file_section(section_name)[field.name]
        shown = _shown(raw, field)
        base_dir = layers.file_path.parent.resolve() if layers.file_path is not None else None
    elif active_profile in field.metadata.get("profiles", {}):
        source, from_text = Source("profile", active_profile), False
        raw = field.metadata["profiles"][active_profile]
        shown = _shown(raw, field)
    else:
        return None
    try:
        value = _coerce(raw, field.type, from_text=from_text, base_dir=base_dir)
    except _InvalidValueError as exc:
        return ConfigProblem(key, str(exc), shown, source)
    normalize = field.metadata.get("normalize")
    if normalize is not None and value is not None:
        value = normalize(value)
    problem = _bounds_problem(value, field.metadata)
    check = field.metadata.get("check")
    if problem is None and check is not None and value is not None:
        problem = check(value)
    if problem is not None:
        return ConfigProblem(key, problem, shown, source)
    return value, source


def _cross_checks(sections: Mapping[str, Any], sources: Mapping[str, Source]) -> Iterator[ConfigProblem]:
    def pair(low_key: str, high_key: str) -> Iterator[ConfigProblem]:
        low_section, low_name = low_key.split(".")
        high_section, high_name = high_key.split(".")
        low = getattr(sections[low_section], low_name)
        high = getattr(sections[high_section], high_name)
        if low > high:
            yield ConfigProblem(
                low_key,
                f"must be <= {high_key} ({high!r}, from {sources[high_key]})",
                repr(low),
                sources[low_key],
            )

    yield from pair("storage.pool_min", "storage.pool_max")
    yield from pair("gateway.reconnect_backoff_base_s", "gateway.reconnect_backoff_max_s")


# ----------------------------------------------------------------------------------------------------
# Rendering: `config show` and `config docs`
# ----------------------------------------------------------------------------------------------------


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _toml_string(name)


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\u{ord(m.group()):04x}", escaped)
    return f'"{escaped}"'


def _toml_value(value: Any) -> str:  # noqa: PLR0911 - one return per TOML value kind
    if isinstance(value, Secret):
        return _toml_string(MASK)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return _toml_string(str(value))
    if isinstance(value, enum.Enum):
        return _toml_string(str(value.value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return _toml_string(str(value))


def render_show(config: Config) -> str:
    """The effective configuration as TOML text, secrets masked, each line commented with its source."""
    lines = [f'profile = "{config.profile}"  # {config.sources.get("profile", Source("default"))}']
    for section_name in SECTIONS:
        section = getattr(config, section_name)
        lines.append("")
        lines.append(f"[{section_name}]")
        for field in attrs.fields(type(section)):
            key = f"{section_name}.{field.name}"
            source = config.sources.get(key, Source("default"))
            value = getattr(section, field.name)
            if value is None:
                lines.append(f"# {field.name} = (unset)  # {source}")
            else:
                lines.append(f"{field.name} = {_toml_value(value)}  # {source}")
    return "\n".join(lines) + "\n"


def _default_text(field: attrs.Attribute[Any]) -> str:
    if field.metadata.get("default_doc"):
        return f"`{field.metadata['default_doc']}`"
    default: Any = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        default = default.factory()
    return "(unset)" if default is None else f"`{_toml_value(default)}`"


def render_docs() -> str:
    """Markdown reference of every setting (the content of docs/configuration.md)."""
    out = [
        "# Configuration",
        "",
        "<!-- Generated by `shard config docs` from shard/config.py; do not edit by hand. -->",
        "",
        "Settings are read in this order, each layer overriding the previous one:",
        "",
        "1. built-in defaults;",
        "2. the defaults of the active **profile** (`development`, `testing` or `production`),",
        '   chosen with `--profile`, `$SHARD_PROFILE` or a top-level `profile = "..."` in the file',
        "   (default `development`);",
        "3. the TOML **file** given with `--config` or `$SHARD_CONFIG` (default `./shard.toml` when",
        "   present), one `[section]` table per section below; relative paths are relative to the file;",
        "4. **environment variables**: every key as `SHARD_<SECTION>_<KEY>`, and some also under a",
        "   well-known name (`DISCORD_TOKEN`, `DATABASE_URL`, ...); the `SHARD_` name wins when both",
        "   are set.",
        "   Empty values count as unset; lists are comma-separated (`guilds,guild_messages`) and tables are",
        "   `name=value` pairs (`audit_log=365,error_log=30`).",
        "",
        "Secrets are shown as `********` everywhere (`shard config show`, logs, health reports).",
        "`shard config show` prints the effective configuration and where each value came from.",
        "",
    ]
    for section_name, section_cls in SECTIONS.items():
        out.append(f"## [{section_name}]")
        out.append("")
        out.append((section_cls.__doc__ or "").strip())
        out.append("")
        out.append("| key | type | default | environment | description |")
        out.append("|---|---|---|---|---|")
        for field in attrs.fields(section_cls):
            default = _default_text(field)
            per_profile = field.metadata.get("profiles", {})
            if per_profile:
                default += " (" + ", ".join(f"{p}: `{_toml_value(v)}`" for p, v in per_profile.items()) + ")"
            bounds = []
            if field.metadata.get("min") is not None:
                bounds.append(f">= {field.metadata['min']:g}")
            if field.metadata.get("max") is not None:
                bounds.append(f"<= {field.metadata['max']:g}")
            type_text = _describe_type(field.type) + (f", {' and '.join(bounds)}" if bounds else "")
            envs = ", ".join(f"`{n}`" for n in env_names(section_name, field))
            doc = str(field.metadata.get("doc", "")).replace("|", "\\|")
            out.append(f"| `{field.name}` | {type_text} | {default} | {envs} | {doc} |")
        out.append("")
    return "\n".join(out)
