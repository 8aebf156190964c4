"""A discrete-event model of Discord's REST rate limits: drives `RateLimitPlanner` without sockets or clocks.

The model server keeps fixed windows per ``(bucket hash, major)`` (a window opens at the first request after
the previous one expired, as Discord's buckets behave) and a sliding one-second global window, both evaluated
at the request's *arrival* time. Each request has its own up and down latency, so responses can overtake one
another. The driver follows the planner's documented protocol exactly, the way `protocol.rest.limiter` does.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from protocol.rest.buckets import Outcome, RateLimitPlanner, Ticket, TicketState
from protocol.rest.errors import RestError
from protocol.rest.routes import CompiledRoute


@attrs.define
class ServerBucket:
    limit: int
    period: float
    remaining: int = 0
    window_end: float = -1.0


@attrs.define
class SimServer:
    """``route_buckets`` maps a route name to ``(hash, limit, period)``; unlisted routes have no limit."""

    route_buckets: dict[str, tuple[str, int, float]]
    global_limit: int = 50
    global_period: float = 1.0
    buckets: dict[tuple[str, tuple[str, ...]], ServerBucket] = attrs.field(factory=dict)
    global_arrivals: deque[float] = attrs.field(factory=deque)
    rejected: list[tuple[float, str]] = attrs.field(factory=list)
    accepted: list[tuple[float, str]] = attrs.field(factory=list)
    #: Forced answers: a callable that may return (status, headers, body) for a request, or None.
    override: Callable[[float, CompiledRoute], tuple[int, dict[str, str], Any] | None] | None = None

    def handle(self, at: float, route: CompiledRoute) -> tuple[int, dict[str, str], Any]:
        if self.override is not None:
            forced = self.override(at, route)
            if forced is not None:
                return forced
        name = route.route.name
        if not route.route.global_exempt:
            arrivals = self.global_arrivals
            while arrivals and arrivals[0] <= at - self.global_period:
                arrivals.popleft()
            if len(arrivals) >= self.global_limit:
                retry = arrivals[0] + self.global_period - at
                self.rejected.append((at, "global"))
                return (
                    429,
                    {"x-ratelimit-global": "true", "x-ratelimit-scope": "global"},
                    {"message": "You are being rate limited.", "retry_after": retry, "global": True},
                )
            arrivals.append(at)
        spec = self.route_buckets.get(name)
        if spec is None:
            self.accepted.append((at, name))
            return 200, {}, {"ok": True}
        bucket_hash, limit, period = spec
        bucket = self.buckets.setdefault((bucket_hash, route.major), ServerBucket(limit, period))
        if at >= bucket.window_end:
            bucket.remaining = limit
            bucket.window_end = at + period
        headers = {
            "x-ratelimit-bucket": bucket_hash,
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-reset-after": f"{bucket.window_end - at:.6f}",
        }
        if bucket.remaining <= 0:
            self.rejected.append((at, name))
            headers["x-ratelimit-remaining"] = "0"
            headers["x-ratelimit-scope"] = "user"
            retry = bucket.window_end - at
            body = {"message": "You are being rate limited.", "retry_after": retry, "global": False}
            return 429, headers, body
        bucket.remaining -= 1
        headers["x-ratelimit-remaining"] = str(bucket.remaining)
        self.accepted.append((at, name))
        return 200, headers, {"ok": True}


@attrs.define
class Sent:
    request_id: int
    route: CompiledRoute
    start: float
    status: int = 0


@attrs.define
class Driver:
    """Runs requests through the planner and the model server; records what happened."""

    planner: RateLimitPlanner
    server: SimServer
    latency: Callable[[int], tuple[float, float]] = lambda _i: (0.005, 0.005)
    events: list[tuple[float, int, str, Any]] = attrs.field(factory=list)
    seq: itertools.count[int] = attrs.field(factory=itertools.count)
    sent: list[Sent] = attrs.field(factory=list)
    #: (time of the 429, earliest allowed retry) per request id, to check "never retry early".
    not_before: dict[int, float] = attrs.field(factory=dict)
    early_retries: int = 0
    errors: list[tuple[int, RestError]] = attrs.field(factory=list)
    completed: dict[int, float] = attrs.field(factory=dict)
    tickets: dict[Ticket, int] = attrs.field(factory=dict)

    def schedule(self, at: float, kind: str, payload: Any) -> None:
        heapq.heappush(self.events, (at, next(self.seq), kind, payload))

    def submit(self, at: float, request_id: int, route: CompiledRoute) -> None:
        self.schedule(at, "acquire", (request_id, route))

    def run(self) -> None:
        while self.events:
            now, _, kind, payload = heapq.heappop(self.events)
            getattr(self, "_on_" + kind)(now, payload)

    def _on_acquire(self, now: float, payload: tuple[int, CompiledRoute]) -> None:
        request_id, route = payload
        try:
            ticket = self.planner.acquire(route, now)
        except RestError as error:
            self.errors.append((request_id, error))
            return
        self.tickets[ticket] = request_id
        if ticket.state is TicketState.HELD:
            self._advance(now, ticket)

    def _advance(self, now: float, ticket: Ticket) -> None:
        if ticket.error is not None:
            self.errors.append((self.tickets[ticket], ticket.error))
            return
        if ticket.start_at is None:
            self.schedule(max(now, ticket.not_before), "start", ticket)
        else:
            self.schedule(ticket.start_at, "send", ticket)

    def _on_start(self, now: float, ticket: Ticket) -> None:
        try:
            at = self.planner.start(ticket, now)
        except RestError as error:
            self.errors.append((self.tickets[ticket], error))
            return
        self.schedule(at, "send", ticket)

    def _on_send(self, now: float, ticket: Ticket) -> None:
        if ticket.start_at is not None and ticket.start_at > now:  # postponed by a global 429 meanwhile
            self.schedule(ticket.start_at, "send", ticket)
            return
        request_id = self.tickets[ticket]
        if now + 1e-9 < self.not_before.get(request_id, 0.0):
            self.early_retries += 1
        record = Sent(request_id, ticket.route, now)
        self.sent.append(record)
        up, down = self.latency(len(self.sent))
        status, headers, body = self.server.handle(now + up, ticket.route)
        record.status = status
        self.schedule(now + up + down, "response", (ticket, status, headers, body))

    def _on_response(self, now: float, payload: tuple[Ticket, int, dict[str, str], Any]) -> None:
        ticket, status, headers, body = payload
        request_id = self.tickets.pop(ticket)
        outcome = Outcome.from_response(status, headers, body)
        for woken in self.planner.complete(ticket, outcome, now):
            self._advance(now, woken)
        if status == 429:
            self.not_before[request_id] = now + outcome.retry_after
            self.submit(now, request_id, ticket.route)
        else:
            self.completed[request_id] = now
