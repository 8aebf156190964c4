"""Which task stalled the event loop: a heartbeat inside the loop and a watchdog thread beside it.

Why: loop lag (`supervision.looplag`) says *that* the loop was blocked, not *who* blocked it. In trio a task
runs uninterrupted from one checkpoint to the next (a "step"), so the step that took 40 ms is the culprit.
The runtime names every actor task after its path, so naming the task that was running during a stall
attributes it to ``root/guilds/1200`` directly — the trio equivalent of OTP observer's reductions column
(anchors §2, §6.17).

Why not a trio instrument: the obvious design times every step with trio's ``after_task_step`` hook. That
works, but the hook runs on every step of every task, through trio's ``Instruments.call`` (a loop, a
try/except and a bound-method call): about 0.65 µs per step, 3-4 % of the interactions benchmark's CPU
(`docs/benchmarks.md`), paid all the time to catch an event that should never happen. This monitor pays
(almost) nothing until a stall happens:

* **Heartbeat** (a task in the loop): stamps ``time.perf_counter()`` and sleeps ``interval`` (a quarter of
  the threshold), over and over. When it wakes, how late it woke is how long the loop did not get back to
  its timers — a stall, when that is at least ``threshold - interval`` (a stall of ``threshold`` that began
  just after a stamp makes the heartbeat exactly ``threshold - interval`` late; the recorded length is that
  lower bound, within ``interval`` of the truth).
* **Watchdog** (a daemon thread): every ``interval`` it compares the stamp with the clock. Once the
  heartbeat is overdue by half the threshold and the loop thread is not in trio's I/O wait, the loop is
  stuck in a step: the watchdog reads which trio task is running (the ``task`` local of trio's run-loop
  frame) and the line it is on, once per stall. The heartbeat joins that sample to the stall it measures.
* **A stall still going after** `WARN_AFTER` **seconds is logged by the watchdog while it lasts**, with the
  task and the line. A step that never ends cannot be reported by the loop itself — nor by the health
  endpoint, which the same loop serves — so without the thread a stuck bot would be silent.

Costs: ``4 / threshold`` heartbeat steps a second (80 at the default 50 ms) and as many cheap checks in the
thread; nothing per task step. Limits, by design: a *batch* of many short steps that together keep the loop
away from its timers for ``threshold`` counts as a stall too, named after the task running when it was
sampled (the loop was unresponsive all the same); a stall shorter than about half the threshold beyond the
heartbeat's due time may be measured but not sampled (named ``unsampled``). Under trio's ``MockClock`` the
heartbeat would sleep on mock time, so the runtime does not start the monitor there.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from types import CodeType, FrameType

import trio

log = logging.getLogger(__name__)

RECENT = 16
#: A stall still going after this many seconds is logged by the watchdog thread while it lasts.
WARN_AFTER = 1.0
UNSAMPLED = "unsampled"
_TRIO_DIR = trio.__file__.rsplit("/", 1)[0] + "/"


class SlowStepMonitor:
    """Records event-loop stalls of at least ``threshold`` seconds and the task that was running.

    Run `run` as a task in the loop to watch; it starts the watchdog thread and stops it when cancelled.
    """

    def __init__(self, threshold: float = 0.05, *, warn_after: float = WARN_AFTER) -> None:
        if threshold <= 0:
            raise ValueError("threshold must be positive")
        self.threshold = threshold
        self.interval = threshold / 4
        self.warn_after = warn_after
        #: Recent stalls: (wall time, task name, seconds, where).
        self.slow: deque[tuple[float, str, float, str | None]] = deque(maxlen=RECENT)
        self.count = 0
        self._beat = 0.0  # the heartbeat's last perf_counter() stamp (the loop writes it, the thread reads)
        self._sample: tuple[float, str, str | None] | None = None  # (beat it belongs to, task, where)
        self._loop_thread = 0
        self._run_loop_code: CodeType | None = None

    async def run(self) -> None:
        """The heartbeat; starts the watchdog thread, and stops it when this task ends."""
        self._loop_thread = threading.get_ident()
        self._run_loop_code = _run_loop_code(sys._getframe())
        stop = threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(stop,), name="slow-step watchdog", daemon=True)
        interval = self.interval
        late_enough = self.threshold - interval
        self._beat = time.perf_counter()
        watchdog.start()
        try:
            while True:
                await trio.sleep(interval)
                now = time.perf_counter()
                late = now - self._beat - interval
                if late >= late_enough:
                    self._record(late)
                self._beat = now
        finally:
            stop.set()
            watchdog.join(timeout=1.0)  # it wakes at once on ``stop``; joined, it never outlives the monitor

    def _record(self, late: float) -> None:
        sample = self._sample
        self._sample = None
        task, where = UNSAMPLED, None
        if sample is not None and sample[0] == self._beat:
            _, task, where = sample
        self.count += 1
        self.slow.append((time.time(), task, late, where))

    # -- the watchdog thread --------------------------------------------------------------------------

    def _watch(self, stop: threading.Event) -> None:
        sample_after = self.interval + self.threshold / 2
        warned_for = 0.0
        while not stop.wait(self.interval):
            beat = self._beat
            overdue = time.perf_counter() - beat
            if overdue < sample_after:
                continue
            if self._sample is None or self._sample[0] != beat:
                found = self._running_task()
                if found is None:  # the loop is idle in its I/O wait: late timers, not a stuck step
                    continue
                self._sample = (beat, *found)
            if overdue - self.interval >= self.warn_after and warned_for != beat:
                warned_for = beat
                _, task, where = self._sample
                log.warning(
                    "event loop blocked for %.1f s so far, in task %s at %s", overdue, task, where or "?"
                )

    def _running_task(self) -> tuple[str, str | None] | None:
        """The running task's name and the line it is on (its innermost frame outside trio); None when the
        loop thread is waiting for I/O (or has gone)."""
        frame = sys._current_frames().get(self._loop_thread)
        if frame is None or frame.f_code.co_name == "get_events":  # trio's I/O wait, on every platform
            return None
        where: str | None = None
        task = UNSAMPLED
        current: FrameType | None = frame
        while current is not None:
            code = current.f_code
            if where is None and not code.co_filename.startswith(_TRIO_DIR):
                where = f"{code.co_filename}:{current.f_lineno} ({code.co_name})"
            if code is self._run_loop_code:
                running = current.f_locals.get("task")
                task = str(getattr(running, "name", UNSAMPLED))
                break
            current = current.f_back
        return task, where

    def snapshot(self) -> dict[str, object]:
        worst = sorted(self.slow, key=lambda entry: entry[2], reverse=True)[:3]
        return {
            "threshold_s": self.threshold,
            "count": self.count,
            "worst": [
                {"at": at, "task": name, "step_s": round(seconds, 6), "where": where}
                for at, name, seconds, where in worst
            ],
        }


def _run_loop_code(frame: FrameType | None) -> CodeType | None:
    """The code object of trio's run loop, found from a frame of a task it runs (its outermost caller in
    trio), so the watchdog can recognise that frame in the loop thread's stack."""
    found: CodeType | None = None
    while frame is not None:
        if frame.f_code.co_filename.startswith(_TRIO_DIR) and frame.f_code.co_name == "unrolled_run":
            found = frame.f_code
        frame = frame.f_back
    return found
