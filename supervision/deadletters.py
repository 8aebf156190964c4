"""Dead letters: every message the runtime could not deliver is counted by reason and sampled.

Why count instead of raising: ``tell`` never blocks and never fails (except under ``Overflow.FAIL``), so a
message that cannot be delivered must not vanish silently either (Pykka's top complaint, anchors §5). Each one
increments ``shard_dead_letters_total{reason}`` and lands in a small ring buffer that the health report shows,
so an operator sees *what* was lost and *where* without a log line per message. Reasons are a closed set:

* ``no_actor`` — no actor at that path (never started, or its keyed supervisor is not running);
* ``capacity`` — a keyed supervisor is at ``max_children`` and every child is busy (none could be evicted);
* ``full`` — the mailbox was full (dropped newest or oldest, or ``tell`` on a ``BLOCK`` mailbox);
* ``stopped`` — the actor is stopping or stopped; messages still queued when it ended;
* ``quarantined`` — the keyed child is quarantined after exhausting its restart budget;
* ``expired`` — a call whose caller already gave up (timed out) before the actor reached it.

Logging is rate-limited per reason: the first dead letter of each reason is logged at WARNING, then one line
per ``LOG_EVERY`` so a flood cannot drown the log.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Final

import attrs

from supervision.telemetry import Telemetry

log = logging.getLogger(__name__)

REASONS: Final = ("no_actor", "capacity", "full", "stopped", "quarantined", "expired")
LOG_EVERY: Final = 1000
SAMPLE_SIZE: Final = 32


@attrs.frozen(slots=True)
class DeadLetterSample:
    at: float
    path: str
    reason: str
    msg_type: str


class DeadLetters:
    """Counters by reason plus a bounded ring of recent samples."""

    def __init__(self, telemetry: Telemetry, sample_size: int = SAMPLE_SIZE) -> None:
        self.by_reason: dict[str, int] = dict.fromkeys(REASONS, 0)
        self.samples: deque[DeadLetterSample] = deque(maxlen=sample_size)
        self._counter = telemetry.counter(
            "shard_dead_letters_total", "Messages the runtime could not deliver, by reason", ["reason"]
        )

    @property
    def total(self) -> int:
        return sum(self.by_reason.values())

    def record(self, reason: str, path: str, msg: object, now: float) -> None:
        count = self.by_reason.get(reason, 0) + 1
        self.by_reason[reason] = count
        self._counter.inc(reason)
        self.samples.append(DeadLetterSample(now, path, reason, type(msg).__name__))
        if count == 1 or count % LOG_EVERY == 0:
            log.warning("dead letter #%d (%s) for %s: %s", count, reason, path, type(msg).__name__)

    def snapshot(self) -> dict[str, object]:
        return {
            "total": self.total,
            "by_reason": dict(self.by_reason),
            "samples": [
                {"at": s.at, "path": s.path, "reason": s.reason, "msg_type": s.msg_type} for s in self.samples
            ],
        }
