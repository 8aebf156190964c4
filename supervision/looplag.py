"""Event-loop lag: how late a sleeping task wakes up, the liveness signal of a single-threaded runtime.

Why this and not a heartbeat from each actor: in trio one CPU-bound step (a handler that never awaits) stalls
*everything*, so the one number that says "the process is healthy enough to keep running" is how late the
scheduler runs a task whose deadline has passed. A task sleeps ``interval`` seconds at a time and records the
overshoot into ``shard_loop_lag_seconds``; liveness means the lag stayed below the threshold over the last
``ALIVE_WINDOW`` ticks (about a second), so one stall is not forgotten at the very next tick. It uses trio's
clock, so under `trio.testing.MockClock` the lag is zero and tests stay deterministic.
"""

from __future__ import annotations

from collections import deque

import trio

from supervision.telemetry import Histogram

RECENT = 64
ALIVE_WINDOW = 10


class LoopLagMonitor:
    def __init__(self, histogram: Histogram, threshold: float, interval: float = 0.1) -> None:
        self.threshold = threshold
        self.interval = interval
        self._series = histogram.labels()
        self.recent: deque[float] = deque(maxlen=RECENT)

    async def run(self) -> None:
        while True:
            expected = trio.current_time() + self.interval
            await trio.sleep_until(expected)
            now = trio.current_time()
            lag = max(0.0, now - expected)
            self.recent.append(lag)
            self._series.observe(lag)

    @property
    def last_lag(self) -> float:
        return self.recent[-1] if self.recent else 0.0

    def alive(self) -> bool:
        """Lag stayed below the threshold over the last `ALIVE_WINDOW` ticks (about a second)."""
        recent = list(self.recent)[-ALIVE_WINDOW:]
        return max(recent, default=0.0) < self.threshold

    def snapshot(self) -> dict[str, object]:
        ordered = sorted(self.recent)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
        return {
            "lag_last_s": self.last_lag,
            "lag_p99_s": p99,
            "lag_max_s": ordered[-1] if ordered else 0.0,
            "lag_p99_total_s": self._series.quantile(0.99),
            "threshold_s": self.threshold,
            "tasks_living": trio.lowlevel.current_statistics().tasks_living,
        }
