"""Who may IDENTIFY when: the identify queue and the session start limit.

Why a queue at all: Discord allows ``max_concurrency`` identifies per 5 seconds, one per *bucket*
(``shard_id % max_concurrency``); a second identify in a bucket within 5 s gets op 9 and wastes a session
start from the daily ``session_start_limit``. Buckets are independent, so a big bot starts
``max_concurrency`` shards every 5 s instead of one (discord.py's one-per-5-s costs minutes at 100 shards;
anchors §1b).

Why a protocol with one method: the in-memory queue only coordinates shards of one process. A bot split over
processes or machines needs a shared queue (a PostgreSQL advisory lock per bucket, or an HTTP queue service
as twilight's gateway-queue); both fit behind ``async acquire(shard_id)``, so the shard never changes.

The session start limit is checked before any shard connects: if fewer starts remain than shards to start,
the bot would start some shards and then be refused, half-up for up to a day. Refusing up front with the
reset time is the clear failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import attrs
import trio

IDENTIFY_INTERVAL = 5.0


class IdentifyQueue(Protocol):
    """Grants permission to send IDENTIFY; returns when this shard may identify now."""

    async def acquire(self, shard_id: int) -> None: ...


class InMemoryIdentifyQueue:
    """One identify per bucket per ``interval`` seconds; buckets proceed in parallel; FIFO within a bucket."""

    def __init__(self, max_concurrency: int = 1, *, interval: float = IDENTIFY_INTERVAL) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self.interval = interval
        self._locks: dict[int, trio.Lock] = {}
        self._next_allowed: dict[int, float] = {}

    def bucket_of(self, shard_id: int) -> int:
        return shard_id % self.max_concurrency

    async def acquire(self, shard_id: int) -> None:
        bucket = self.bucket_of(shard_id)
        lock = self._locks.get(bucket)
        if lock is None:
            lock = self._locks[bucket] = trio.Lock()
        async with lock:  # trio.Lock is fair: shards of one bucket identify in arrival order
            allowed_at = self._next_allowed.get(bucket)
            if allowed_at is not None:
                await trio.sleep_until(allowed_at)
            self._next_allowed[bucket] = trio.current_time() + self.interval


class SessionStartLimitError(RuntimeError):
    """Not enough session starts remain today to start the requested shards."""


@attrs.define(slots=True, frozen=True)
class SessionStartLimit:
    """``session_start_limit`` of GET /gateway/bot; ``reset_after`` in seconds here (the API sends ms)."""

    total: int
    remaining: int
    reset_after: float
    max_concurrency: int

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SessionStartLimit:
        return cls(
            total=int(payload["total"]),
            remaining=int(payload["remaining"]),
            reset_after=float(payload["reset_after"]) / 1000.0,
            max_concurrency=int(payload.get("max_concurrency", 1)),
        )


@attrs.define(slots=True, frozen=True)
class GatewayBotInfo:
    """The answer of GET /gateway/bot: where to connect, how many shards, and the start budget."""

    url: str
    shards: int
    session_start_limit: SessionStartLimit

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> GatewayBotInfo:
        try:
            return cls(
                url=str(payload["url"]),
                shards=int(payload["shards"]),
                session_start_limit=SessionStartLimit.from_payload(payload["session_start_limit"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed GET /gateway/bot response ({exc!r}): {dict(payload)!r}") from None


def check_session_start_limit(limit: SessionStartLimit, shards_to_start: int) -> None:
    """Raise `SessionStartLimitError` when fewer session starts remain than shards to start."""
    if limit.remaining < shards_to_start:
        hours = limit.reset_after / 3600.0
        raise SessionStartLimitError(
            f"Discord allows only {limit.remaining} more session starts (of {limit.total} per day) but "
            f"{shards_to_start} shard(s) need to identify; the limit resets in {limit.reset_after:.0f} s "
            f"(~{hours:.1f} h). Refusing to start rather than leaving shards half-connected."
        )
