"""Which actor stalled the event loop: a trio instrument that times task steps.

Why: loop lag (`supervision.looplag`) says *that* the loop was blocked, not *who* blocked it. In trio a task
runs uninterrupted from one checkpoint to the next (a "step"), so the step that took 40 ms is the culprit.
The runtime names every actor task after its path, so timing steps by task name attributes a stall to
``root/guilds/1200`` directly — the trio equivalent of OTP observer's reductions column (anchors §2, §6.17).

Cost: two ``perf_counter`` calls per task step. An actor's drain loop takes one step per batch of up to 64
messages, so this is a few nanoseconds per message; only steps over ``threshold`` are recorded, into a small
ring, and the slowest recent ones are shown in the health report.
"""

from __future__ import annotations

import time
from collections import deque

import trio

RECENT = 16


class SlowStepInstrument(trio.abc.Instrument):
    """Records task steps that ran longer than ``threshold`` seconds."""

    def __init__(self, threshold: float = 0.05) -> None:
        self.threshold = threshold
        self.slow: deque[tuple[float, str, float]] = deque(maxlen=RECENT)  # (wall time, task name, seconds)
        self.count = 0
        self._started = 0.0

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._started = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        started = self._started
        if not started:
            return  # the instrument was added in the middle of this step
        self._started = 0.0
        elapsed = time.perf_counter() - started
        if elapsed > self.threshold:
            self.count += 1
            self.slow.append((time.time(), task.name, elapsed))

    def snapshot(self) -> dict[str, object]:
        worst = sorted(self.slow, key=lambda entry: entry[2], reverse=True)[:3]
        return {
            "threshold_s": self.threshold,
            "count": self.count,
            "worst": [{"at": at, "task": name, "step_s": round(seconds, 6)} for at, name, seconds in worst],
        }
