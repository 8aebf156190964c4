"""Parsing, validating and redacting PostgreSQL connection URLs.

A DSN comes from the operator (DATABASE_URL) and is echoed back in errors, logs and `shard db status`.
Two rules follow: a malformed value must fail *before* we try to connect, with a message that says what is
wrong (not a driver traceback); and the password must never be printed, so every place that shows a DSN
shows `redact(dsn)`.
"""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit

from storage.errors import InvalidDatabaseURL

_SCHEMES = ("postgres", "postgresql")
REDACTED = "***"


def redact(dsn: str) -> str:
    """The DSN with any password replaced by ``***`` (best effort for strings that do not even parse)."""
    try:
        parts = urlsplit(dsn)
    except ValueError:
        return "<unparseable database URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:{REDACTED}@{hostinfo}"
    query = parts.query
    if "password=" in query:
        pairs = [p if not p.startswith("password=") else f"password={REDACTED}" for p in query.split("&")]
        query = "&".join(pairs)
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, parts.fragment))


def validate(dsn: str) -> str:
    """Check that ``dsn`` is a PostgreSQL URL asyncpg can use; return it stripped, else InvalidDatabaseURL."""
    dsn = dsn.strip()
    if not dsn:
        raise InvalidDatabaseURL("DATABASE_URL is empty; unset it to use the embedded server")
    shown = redact(dsn)
    try:
        parts = urlsplit(dsn)
        port = parts.port  # raises ValueError for a non-numeric or out-of-range port
    except ValueError as exc:
        raise InvalidDatabaseURL(f"DATABASE_URL {shown!r} is not a valid URL: {exc}") from None
    if parts.scheme not in _SCHEMES:
        raise InvalidDatabaseURL(
            f"DATABASE_URL {shown!r} must start with postgresql:// or postgres:// "
            f"(got scheme {parts.scheme or 'none'!r})"
        )
    host = parts.hostname or parse_qs(parts.query).get("host", [""])[0]
    if not host:
        raise InvalidDatabaseURL(
            f"DATABASE_URL {shown!r} names no host (expected postgresql://user:password@host:port/dbname)"
        )
    if port == 0:
        raise InvalidDatabaseURL(f"DATABASE_URL {shown!r} has port 0")
    return dsn


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database name (used for templates and admin connections)."""
    parts = urlsplit(dsn)
    return urlunsplit(SplitResult(parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


def database_name(dsn: str) -> str:
    """The database a DSN points at (``postgres`` when it names none, as libpq would default for us)."""
    path = urlsplit(dsn).path.lstrip("/")
    return path or "postgres"
