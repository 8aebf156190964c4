"""Which actor stalled the event loop: a trio instrument that times task steps.

Why: loop lag (`supervision.looplag`) says *that* the loop was blocked, not *who* blocked it. In trio a task
runs uninterrupted from one checkpoint to the next (a "step"), so the step that took 40 ms is the culprit.
The runtime names every actor task after its path, so timing steps by task name attributes a stall to
``root/guilds/1200`` directly — the trio equivalent of OTP observer's reductions column (anchors §2, §6.17).

How a step is timed, and what it costs: trio calls an instrument's hooks around every task step, and on a
busy bot that is several calls per interaction (each through trio's ``Instruments.call``: a loop, a
try/except and a bound-method call). So this instrument takes ONE hook per step, ``after_task_step``, and
times each step from the end of the previous one: the steps of a batch run back to back, and a batch starts
after the I/O wait (``after_io_wait``, once per batch, restarts the clock). What a step is charged with
besides its own code is trio's bookkeeping between two steps (a reschedule, microseconds), and, for the
first step of a batch, the expiry of due deadlines — nothing that could reach a threshold of milliseconds.
Timing both ends of each step cost a second hook call per step: about 2 µs per interaction of the
interactions benchmark (`docs/benchmarks.md`). Only steps over ``threshold`` are recorded, into a small
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
        self._mark = 0.0  # when the current step began: the end of the previous step, or of the I/O wait

    def after_io_wait(self, timeout: float) -> None:
        self._mark = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        now = time.perf_counter()
        began = self._mark
        self._mark = now
        if began and now - began > self.threshold:  # no mark yet: added in the middle of this batch
            self.count += 1
            self.slow.append((time.time(), task.name, now - began))

    def snapshot(self) -> dict[str, object]:
        worst = sorted(self.slow, key=lambda entry: entry[2], reverse=True)[:3]
        return {
            "threshold_s": self.threshold,
            "count": self.count,
            "worst": [{"at": at, "task": name, "step_s": round(seconds, 6)} for at, name, seconds in worst],
        }
