"""Cooldowns: at most ``rate`` uses per ``per`` seconds, counted per user, channel or guild bucket.

A sans-IO core: `CooldownTracker.hit` takes ``now`` (the router passes ``trio.current_time()``), so tests
drive it with `trio.testing.MockClock` or plain numbers. Each key keeps the timestamps of its last ``rate``
uses (a sliding window: no burst of 2x at a window edge, unlike fixed windows). A refused use is not
counted, so a user hammering the command does not extend their own wait. Keys expire with their window and
the table is pruned when it grows, so memory stays bounded by the number of recently active keys.

A command without a cooldown of its own gets the router's default (``commands.default_cooldown_s``, one use
per that many seconds per user); a command that must never be throttled says ``cooldown=NO_COOLDOWN``.
"""

from __future__ import annotations

import enum
from collections import deque

import attrs


class CooldownBucket(enum.Enum):
    USER = "user"
    CHANNEL = "channel"
    GUILD = "guild"


@attrs.frozen
class Cooldown:
    """At most ``rate`` uses per ``per`` seconds per bucket. ``exempt`` marks `NO_COOLDOWN`."""

    rate: int
    per: float
    bucket: CooldownBucket = CooldownBucket.USER
    exempt: bool = False

    def __attrs_post_init__(self) -> None:
        if self.rate < 1 or self.per <= 0:
            raise ValueError("a cooldown needs rate >= 1 and per > 0")


#: Declares that a command has no cooldown at all, not even the configured default (e.g. /ping).
NO_COOLDOWN = Cooldown(rate=1, per=1.0, exempt=True)


CooldownKey = tuple[str, int]


class CooldownTracker:
    """Remembers recent uses per (command, bucket id)."""

    def __init__(self, prune_above: int = 10_000) -> None:
        self._uses: dict[tuple[str, CooldownKey], deque[float]] = {}
        self._prune_above = prune_above

    @staticmethod
    def bucket_id(
        cooldown: Cooldown, *, user_id: int | None, channel_id: int | None, guild_id: int | None
    ) -> int:
        """The id the bucket counts by (falls back to the user outside guilds/channels)."""
        chosen = {
            CooldownBucket.USER: user_id,
            CooldownBucket.CHANNEL: channel_id,
            CooldownBucket.GUILD: guild_id,
        }[cooldown.bucket]
        return chosen if chosen is not None else (user_id or 0)

    def hit(self, command: str, cooldown: Cooldown, bucket_id: int, now: float) -> float | None:
        """Count one use; return None if allowed, else the seconds until the next use is allowed."""
        key = (command, (cooldown.bucket.value, bucket_id))
        uses = self._uses.get(key)
        if uses is None:
            if len(self._uses) >= self._prune_above:
                self._prune(now, cooldown.per)
            uses = self._uses[key] = deque(maxlen=cooldown.rate)
        while uses and uses[0] + cooldown.per <= now:  # same arithmetic as the retry time below
            uses.popleft()
        if len(uses) >= cooldown.rate:
            return min(uses[0] + cooldown.per - now, cooldown.per)
        uses.append(now)
        return None

    def _prune(self, now: float, horizon: float) -> None:
        stale = [key for key, uses in self._uses.items() if not uses or uses[-1] + horizon <= now]
        for key in stale:
            del self._uses[key]

    def __len__(self) -> int:
        return len(self._uses)
