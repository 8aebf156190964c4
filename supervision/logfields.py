"""Structured log context that travels with the task, not with the logger.

Why this exists: a log line written deep inside a REST call or a repository method should still say which
actor, guild and command it belongs to, without every function taking those as arguments. trio copies the
current `contextvars` context into each task it spawns, so a field bound in an actor's task is visible to
everything that task (and its children) calls. The runtime binds ``actor``; the gateway and guild actors bind
``guild_id``; the command executor binds ``command`` and ``error_id``. The logging setup in
`shard.logging` reads `current()` in a filter and attaches the fields to every record.

This module sits in `supervision` because it is the lowest layer (stdlib only) that every other package may
import; it knows nothing of Discord.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from types import MappingProxyType

_EMPTY: Mapping[str, object] = MappingProxyType({})
_fields: contextvars.ContextVar[Mapping[str, object]] = contextvars.ContextVar("log_fields", default=_EMPTY)


def current() -> Mapping[str, object]:
    """The fields bound in the calling task (read-only)."""
    return _fields.get()


@contextlib.contextmanager
def bind(**fields: object) -> Iterator[None]:
    """Bind extra fields for the duration of the block (nested binds merge; inner values win)."""
    merged = {**_fields.get(), **{k: v for k, v in fields.items() if v is not None}}
    token = _fields.set(MappingProxyType(merged))
    try:
        yield
    finally:
        _fields.reset(token)


def bind_forever(**fields: object) -> None:
    """Bind fields for the rest of the current task (used at the top of an actor's task)."""
    merged = {**_fields.get(), **{k: v for k, v in fields.items() if v is not None}}
    _fields.set(MappingProxyType(merged))
