"""Bounded retries for 5xx answers and transport failures.

Exponential backoff so a struggling Discord (or proxy) gets room to recover, jitter so that many shards or
processes failing at the same moment do not retry in lock-step, and a bound so a caller gets a clear
`ServerError` instead of hanging.
"""

from __future__ import annotations

import attrs

__all__ = ["RetryPolicy"]


@attrs.frozen(slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter for 5xx answers and transport failures.

    The delay before retry ``n`` (1-based) lies in ``[d/2, d)`` with ``d = min(cap, base * 2**(n-1))``: half
    fixed so a retry never hammers a struggling server at once, half random so many clients de-synchronise.
    """

    max_retries: int = 3
    base: float = 0.5
    cap: float = 8.0

    def delay(self, retry_number: int, rand: float) -> float | None:
        """Seconds to wait before retry ``retry_number``, or ``None`` when retries are exhausted."""
        if retry_number < 1 or retry_number > self.max_retries:
            return None
        ceiling = min(self.cap, self.base * float(2 ** (retry_number - 1)))
        return ceiling / 2 + ceiling / 2 * min(max(rand, 0.0), 1.0)
