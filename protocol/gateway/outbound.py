"""The per-connection outbound limit: 120 gateway commands per 60 seconds, with room kept for heartbeats.

Why a sliding-window log and not a token bucket: Discord counts commands in a rolling 60 s window and
disconnects with 4008 the moment the 121st arrives; a log of the last 120 send times answers "when may the
next one go" exactly, with no drift. Why reserve slots: heartbeats are what keep the session alive — if a
burst of presence updates or member requests used all 120 slots, the next heartbeat would be delayed,
Discord would see a missed beat and zombie the connection. So ordinary commands may only use ``limit -
reserved`` slots; only heartbeats (``priority=True``) may use the last few.

Sans-IO: `try_acquire(now, priority)` either records the send and returns 0.0, or returns how long to wait.
The shard's send path sleeps that long (with trio, so MockClock tests work) and asks again.
"""

from __future__ import annotations

from collections import deque

GATEWAY_COMMAND_LIMIT = 120
GATEWAY_COMMAND_WINDOW = 60.0
HEARTBEAT_RESERVE = 3


class OutboundLimiter:
    """Sliding-window limiter for one gateway connection."""

    __slots__ = ("_sent", "limit", "reserved", "window")

    def __init__(
        self,
        limit: int = GATEWAY_COMMAND_LIMIT,
        window: float = GATEWAY_COMMAND_WINDOW,
        reserved: int = HEARTBEAT_RESERVE,
    ) -> None:
        if not 0 <= reserved < limit:
            raise ValueError("reserved slots must be fewer than the limit")
        self.limit = limit
        self.window = window
        self.reserved = reserved
        self._sent: deque[float] = deque()

    def _expire(self, now: float) -> None:
        cutoff = now - self.window
        sent = self._sent
        while sent and sent[0] <= cutoff:
            sent.popleft()

    def in_window(self, now: float) -> int:
        """How many commands were sent in the window ending at ``now``."""
        self._expire(now)
        return len(self._sent)

    def try_acquire(self, now: float, *, priority: bool = False) -> float:
        """Record a send at ``now`` and return 0.0, or return the seconds to wait before asking again."""
        self._expire(now)
        allowed = self.limit if priority else self.limit - self.reserved
        sent = self._sent
        if len(sent) < allowed:
            sent.append(now)
            return 0.0
        # The send that frees our slot is the one that makes the window hold `allowed - 1` entries.
        oldest_blocking = sent[len(sent) - allowed]
        return max(oldest_blocking + self.window - now, 1e-6)
