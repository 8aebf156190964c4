"""Snowflake ids as Discord makes them.

Sharding depends on real-looking ids: the gateway routes a guild to shard ``(guild_id >> 22) % num_shards``,
and ``guild_id >> 22`` is the millisecond timestamp. So ids carry a timestamp (wall clock, since they mean
"when was this created") and an increment that keeps them unique and strictly increasing within one emulator,
even when many are made in the same millisecond.
"""

from __future__ import annotations

import time

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Makes strictly increasing snowflakes; one factory per emulator."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = now_ms << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate

    def with_timestamp_offset(self, offset_ms: int) -> int:
        """An id whose timestamp part is ``offset_ms`` after the last one (for picking a shard in tests)."""
        candidate = ((self._last >> 22) + offset_ms) << 22
        candidate = max(candidate, self._last + 1)
        self._last = candidate
        return candidate


def snowflake_time_ms(snowflake: int) -> int:
    """Unix time in milliseconds encoded in ``snowflake``."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


def shard_for_guild(guild_id: int, shard_count: int) -> int:
    """The shard that receives a guild's events, by Discord's formula."""
    return (guild_id >> 22) % shard_count
