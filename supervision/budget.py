"""Restart accounting and backoff maths, kept pure so they can be property-tested without a event loop.

Why a sliding window of timestamps (OTP's intensity/period) rather than a counter that resets: a counter reset
on a timer lets a child crash ``max_restarts`` times just before and just after the reset and never escalate.
The window holds at most ``max_restarts + 1`` entries, so memory stays bounded whatever the crash rate.

Why full jitter: when many children crash together (a shared dependency failed), equal delays restart them in
lock-step and they hammer the dependency again together. ``uniform(0, cap)`` spreads them out; the cap grows
exponentially with consecutive failures and the attempt counter resets once an incarnation has stayed up for
``reset_after`` seconds (Akka's backoff supervisor does the same).
"""

from __future__ import annotations

import random
from collections import deque

from supervision.specs import BackoffSpec

_MAX_EXPONENT = 62


class RestartBudget:
    """At most ``max_restarts`` restarts within any ``window`` seconds."""

    __slots__ = ("_times", "max_restarts", "window")

    def __init__(self, max_restarts: int, window: float) -> None:
        self.max_restarts = max_restarts
        self.window = window
        self._times: deque[float] = deque()

    def _prune(self, now: float) -> None:
        times = self._times
        while times and times[0] <= now - self.window:
            times.popleft()

    def record(self, now: float) -> bool:
        """Count one restart at ``now``; False when this restart exceeds the budget (escalate/quarantine)."""
        self._prune(now)
        self._times.append(now)
        while len(self._times) > self.max_restarts + 1:
            self._times.popleft()
        return len(self._times) <= self.max_restarts

    def in_window(self, now: float) -> int:
        self._prune(now)
        return len(self._times)

    def reset(self) -> None:
        self._times.clear()


def backoff_cap(spec: BackoffSpec, attempt: int) -> float:
    """Upper bound of the delay before restart number ``attempt`` (0 for the first restart)."""
    return min(spec.max, spec.base * 2.0 ** min(max(attempt, 0), _MAX_EXPONENT))


def backoff_delay(spec: BackoffSpec, attempt: int, rng: random.Random) -> float:
    """Full-jitter delay in ``[0, backoff_cap(spec, attempt)]``."""
    return rng.uniform(0.0, backoff_cap(spec, attempt))
