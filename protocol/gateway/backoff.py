"""Reconnect backoff: exponential growth with full jitter.

Why full jitter (delay = uniform(0, min(cap, base * 2**attempt))): when Discord drops many shards at once,
all of them reconnect; a deterministic backoff makes them reconnect in lockstep and hit the gateway
together, again and again. Spreading each delay uniformly over the whole interval de-synchronises them (the
AWS architecture blog analysis). The attempt count resets once a session is READY or RESUMED, so a bot that
reconnects once a day always starts from the short end.
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable


class FullJitterBackoff:
    """Delays for successive reconnect attempts; ``random`` returns floats in [0, 1) (inject for tests)."""

    __slots__ = ("_random", "attempt", "base", "cap")

    def __init__(
        self, base: float = 1.0, cap: float = 60.0, random: Callable[[], float] = _random.random
    ) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._random = random

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        return min(self.cap, self.base * (2.0 ** min(self.attempt, 62)))

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts as one attempt."""
        delay = self.ceiling() * self._random()
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
