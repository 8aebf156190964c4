"""Which task stalled the event loop: a watchdog thread that samples the loop thread's current step.

Why: loop lag (`supervision.looplag`) says *that* the loop was blocked, not *who* blocked it. In trio a task
runs uninterrupted from one checkpoint to the next (a "step"), so the step that took 40 ms is the culprit.
The runtime names every actor task after its path, so naming the task of a long step attributes a stall to
``root/guilds/1200`` directly — the trio equivalent of OTP observer's reductions column (anchors §2, §6.17).

Why not a trio instrument: the obvious design times every step with trio's ``after_task_step`` hook. That
works, but the hook runs on every step of every task, through trio's ``Instruments.call`` (a loop, a
try/except and a bound-method call): about 0.65 µs per step, 3-4 % of the interactions benchmark's CPU
(`docs/benchmarks.md`), paid all the time to catch an event that should never happen. A heartbeat task in
the loop, checked by a thread, costs nothing per step but wakes the loop 80 times a second, ~1.8 % of a
core on an idle bot. So this monitor is a thread that *looks*, and the loop does nothing for it:

* Every ``interval`` (half the threshold) the thread reads the loop thread's current frame
  (``sys._current_frames``). In trio's I/O wait (``get_events``) the loop is idle. Otherwise it finds trio's
  run-loop frame in the stack; its ``task`` local is the task whose step is running, and the task's
  ``_schedule_points`` (trio counts them, one per step) tells this step from the task's next one.
* The same (task, step) seen at several samples is one long step. When it ends (another step, or idle),
  its length is estimated as the span between its first and last sample plus one interval (the true length
  is within one interval of that), and a step estimated at ``threshold`` or more is recorded with the task's
  name and the line it was on (its innermost frame outside trio). Steps of ``threshold + interval`` or more
  are always caught, steps under ``threshold - interval`` never are.
* **A step still running after** `WARN_AFTER` **seconds is logged by the thread while it lasts**, with the
  task and the line. A step that never ends cannot be reported by the loop itself — nor by the health
  endpoint, which the same loop serves — so without the thread a stuck bot would be silent.

Costs: ``2 / threshold`` thread wake-ups a second (40 at the default 50 ms: ~0.6 % of a core on the 2-core
VM the benchmarks run on, nearly all of it the timer wake-up itself; sampling at a quarter of the threshold
doubled that), a few microseconds per sample while the loop is busy (it takes the GIL from the loop for that
long), nothing per task step. It reads two private details of trio (the run loop's ``task`` local and
``Task._schedule_points``); `tests/unit/supervision/test_slowsteps.py` pins both, so a trio upgrade that
moves them fails there rather than silently naming nothing. It measures wall time, so it works the same under
``MockClock`` (a test's blocking step is still real time).
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
#: A step still running after this many seconds is logged by the watchdog thread while it lasts.
WARN_AFTER = 1.0
UNKNOWN = "unknown"
_TRIO_DIR = trio.__file__.rsplit("/", 1)[0] + "/"


class SlowStepMonitor:
    """Records task steps that ran ``threshold`` seconds or longer, with their task and line.

    `start` it from inside the trio run to watch (the thread watches the thread that called it); `stop` it
    when done.
    """

    def __init__(self, threshold: float = 0.05, *, warn_after: float = WARN_AFTER) -> None:
        if threshold <= 0:
            raise ValueError("threshold must be positive")
        self.threshold = threshold
        self.interval = threshold / 2
        self.warn_after = warn_after
        #: Recent slow steps: (wall time, task name, seconds, where). Appended by the watchdog thread.
        self.slow: deque[tuple[float, str, float, str | None]] = deque(maxlen=RECENT)
        self.count = 0
        self._loop_thread = 0
        self._run_loop_code: CodeType | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the watchdog thread on the calling thread's trio run."""
        if self._thread is not None:
            raise RuntimeError("the slow-step monitor is already running")
        self._loop_thread = threading.get_ident()
        self._run_loop_code = _run_loop_code(sys._getframe())
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="slow-step watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the watchdog thread (it wakes at once) and wait for it, so it never outlives the run."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=1.0)

    # -- the watchdog thread --------------------------------------------------------------------------

    def _watch(self) -> None:
        interval = self.interval
        step: tuple[int, int] | None = None  # (id(task), schedule points): the step seen at the last sample
        task = UNKNOWN
        where: str | None = None
        first_seen = last_seen = 0.0
        warned = False
        while not self._stop.wait(interval):
            now = time.perf_counter()
            seen = self._current_step()
            key = None if seen is None else seen[0]
            if key is not None and key == step:
                last_seen = now
                if not warned and now - first_seen >= self.warn_after:
                    warned = True
                    log.warning(
                        "event loop blocked for %.1f s so far, in task %s at %s",
                        now - first_seen,
                        task,
                        where or "?",
                    )
                continue
            if step is not None:  # the step seen before has ended
                estimate = last_seen - first_seen + interval
                if estimate >= self.threshold:
                    self.count += 1
                    self.slow.append((time.time(), task, estimate, where))
            step, warned = key, False
            if seen is not None:
                _, task, where = seen
                first_seen = last_seen = now

    def _current_step(self) -> tuple[tuple[int, int], str, str | None] | None:
        """The running step's key, its task's name and the line it is on; None when the loop is idle in its
        I/O wait, not in a task step, or gone."""
        frame = sys._current_frames().get(self._loop_thread)
        if frame is None or frame.f_code.co_name == "get_events":  # trio's I/O wait, on every platform
            return None
        where: str | None = None
        current: FrameType | None = frame
        while current is not None:
            code = current.f_code
            if code is self._run_loop_code:
                running = current.f_locals.get("task")
                if running is None:
                    return None
                key = (id(running), getattr(running, "_schedule_points", 0))
                return key, str(getattr(running, "name", UNKNOWN)), where
            if where is None and not code.co_filename.startswith(_TRIO_DIR):
                where = f"{code.co_filename}:{current.f_lineno} ({code.co_name})"
            current = current.f_back
        return None  # trio's own bookkeeping between steps, or a run loop this monitor does not know

    def snapshot(self) -> dict[str, object]:
        worst = sorted(list(self.slow), key=lambda entry: entry[2], reverse=True)[:3]
        return {
            "threshold_s": self.threshold,
            "count": self.count,
            "worst": [
                {"at": at, "task": name, "step_s": round(seconds, 6), "where": where}
                for at, name, seconds, where in worst
            ],
        }


def _run_loop_code(frame: FrameType | None) -> CodeType | None:
    """The code object of trio's run loop, found from a frame it runs (its outermost caller in trio), so
    the watchdog can recognise that frame in the loop thread's stack."""
    found: CodeType | None = None
    while frame is not None:
        if frame.f_code.co_filename.startswith(_TRIO_DIR) and frame.f_code.co_name == "unrolled_run":
            found = frame.f_code
        frame = frame.f_back
    return found
