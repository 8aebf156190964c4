"""Judging a REST burst from the server's side: achieved vs allowed rate, avoidable 429s, early retries.

Why judge from the emulator's request log rather than from what the client says: a client's own counters
only know what it meant to do; the server sees when each request really arrived. The log gives, for every
request, its arrival time, its bucket (the channel, the major parameter), its body and its status.

The rules mirror the emulator's fixed windows (`protocol.emulator.ratelimits`): a bucket's window opens at
the first request after the previous one closed and lasts ``per`` seconds; ``limit`` requests pass in it.

* **allowed rate** — the fastest any client could finish: a bucket with ``n`` successes needs
  ``ceil(n / limit)`` windows, so its last request can arrive ``(ceil(n / limit) - 1) * per`` seconds after
  its first. The ideal burst takes the longest such time over the buckets.
* **achieved** — the same span as the client really did it: first request to last success. The percentage is
  ideal / achieved.
* **avoidable 429s** — every 429 in a bucket beyond its first: a client may be excused one 429 per bucket it
  had never seen, never a second.
* **early retries** — a request repeating a body that got a 429, arriving before the 429's ``retry_after``
  had passed (as the harness captured it from the response; without it, the window's reset, which is what
  a route 429's ``retry_after`` says), less a small tolerance for clock granularity. Global 429s (which a
  client can provoke when it bunches requests at several buckets' window boundaries) count against one
  "global" bucket for the avoidable-429 rule.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

EARLY_TOLERANCE_S = 0.002


@attrs.frozen(slots=True)
class BurstRequest:
    """One request of the burst as the server saw it."""

    time: float
    bucket: str
    body_key: str
    status: int
    #: For a 429: what the server told the client (the body's ``retry_after``, the ``X-RateLimit-Scope``).
    retry_after: float | None = None
    scope: str | None = None


@attrs.frozen(slots=True)
class BurstAnalysis:
    successes: int
    requests: int
    http_429s: int
    avoidable_429s: int
    early_retries: int
    ideal_s: float
    achieved_s: float

    @property
    def achieved_per_s(self) -> float:
        return self.successes / self.achieved_s if self.achieved_s > 0 else math.inf

    @property
    def allowed_per_s(self) -> float:
        return self.successes / self.ideal_s if self.ideal_s > 0 else math.inf

    @property
    def percent_of_allowed(self) -> float:
        if self.achieved_s <= 0:
            return 100.0
        return 100.0 * self.ideal_s / self.achieved_s


@attrs.define(slots=True)
class _BucketState:
    reset_at: float = -math.inf
    successes: int = 0
    limited: int = 0


def analyse_burst(requests: Iterable[BurstRequest], *, limit: int, per: float) -> BurstAnalysis:
    """Replay the log through fixed windows of ``limit`` per ``per`` seconds and judge the client."""
    ordered = sorted(requests, key=lambda r: r.time)
    buckets: dict[str, _BucketState] = {}
    retry_not_before: dict[str, float] = {}
    early = 0
    first_time: float | None = None
    last_success: float | None = None
    for request in ordered:
        state = buckets.setdefault(request.bucket, _BucketState())
        if first_time is None:
            first_time = request.time
        if request.time >= state.reset_at:
            state.reset_at = request.time + per
        not_before = retry_not_before.pop(request.body_key, None)
        if not_before is not None and request.time < not_before - EARLY_TOLERANCE_S:
            early += 1
        if request.status == 429:
            told = request.time + request.retry_after if request.retry_after is not None else state.reset_at
            retry_not_before[request.body_key] = told
            # A global 429 is charged to the global "bucket": one may be excused, never a second.
            limited = buckets.setdefault("(global)", _BucketState()) if request.scope == "global" else state
            limited.limited += 1
        elif 200 <= request.status < 300:
            state.successes += 1
            last_success = request.time
    ideal = max(
        ((math.ceil(state.successes / limit) - 1) * per for state in buckets.values() if state.successes),
        default=0.0,
    )
    achieved = 0.0 if first_time is None or last_success is None else last_success - first_time
    return BurstAnalysis(
        successes=sum(state.successes for state in buckets.values()),
        requests=len(ordered),
        http_429s=sum(state.limited for state in buckets.values()),
        avoidable_429s=sum(max(0, state.limited - 1) for state in buckets.values()),
        early_retries=early,
        ideal_s=ideal,
        achieved_s=achieved,
    )
