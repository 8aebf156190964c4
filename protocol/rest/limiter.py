"""The permit interface between the REST client and a rate limiter, and the in-process driver of the planner.

The model is twilight's: a caller *acquires a permit* for a compiled route, waits until the permit says it may
start, sends the HTTP request itself, and *completes* the permit with the response's status and headers (or
*cancels* it when the request was abandoned). The rate limiter never touches the network, so it can live in
an actor (`actors.ratelimiter`) or, for scripts and unit tests, right in the caller's task
(`LocalRateLimiter`). Both wrap the same `PermitBroker`: the pure `RateLimitPlanner` plus one `trio.Event` per
queued request to wake it.

Why waiting happens in the caller's task rather than in the limiter: a request that must wait for a bucket
reset or a global slot sleeps with ``trio.sleep_until`` on its own task, so the limiter answers every
acquire at once and its mailbox never backs up behind sleeping requests. Only requests queued behind another
request of the same bucket wait on an event, which the limiter sets when that request completes. On the hot
path (a known bucket with uses left) a request costs one acquire round trip and one completion message.

A permit abandoned by a cancelled caller is cancelled in a ``finally`` path, so the bucket it held is handed
to the next waiter instead of staying locked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import trio

from protocol.rest.buckets import LimiterConfig, Outcome, RateLimitPlanner, Ticket, TicketState
from protocol.rest.errors import RateLimitTooLong
from protocol.rest.routes import CompiledRoute

__all__ = [
    "LocalRateLimiter",
    "PassThroughLimiter",
    "Permit",
    "PermitBroker",
    "RateLimiter",
    "wait_for_start",
]

log = logging.getLogger(__name__)


class Permit(Protocol):
    """Leave to send one request; exactly one of `complete` or `cancel` must be called."""

    def complete(self, outcome: Outcome) -> None: ...

    def cancel(self, *, sent: bool) -> None: ...


class RateLimiter(Protocol):
    """Anything that hands out permits (`LocalRateLimiter`, `actors.ratelimiter.ActorRateLimiter`)."""

    @property
    def max_wait(self) -> float:
        """The longest wait this limiter accepts before a request (`RateLimitTooLong` beyond)."""
        ...

    async def acquire(self, route: CompiledRoute) -> Permit: ...


class PermitBroker:
    """The planner plus wake-up events for queued tickets. Synchronous; owned by one task (or the actor).

    ``clock`` defaults to ``trio.current_time`` so `trio.testing.MockClock` drives it in tests.
    """

    __slots__ = ("_clock", "_events", "planner")

    def __init__(
        self, planner: RateLimitPlanner | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self.planner = planner or RateLimitPlanner()
        self._clock = clock or trio.current_time
        self._events: dict[Ticket, trio.Event] = {}

    @property
    def config(self) -> LimiterConfig:
        return self.planner.config

    def acquire(self, route: CompiledRoute) -> tuple[Ticket, trio.Event | None]:
        """Register a request; the event (if any) is set when the ticket leaves the queue."""
        ticket = self.planner.acquire(route, self._clock())
        if ticket.state is TicketState.QUEUED:
            event = trio.Event()
            self._events[ticket] = event
            return ticket, event
        return ticket, None

    def start(self, ticket: Ticket) -> float:
        return self.planner.start(ticket, self._clock())

    def complete(self, ticket: Ticket, outcome: Outcome) -> None:
        self._wake(self.planner.complete(ticket, outcome, self._clock()))

    def cancel(self, ticket: Ticket, *, sent: bool) -> None:
        self._events.pop(ticket, None)
        self._wake(self.planner.cancel(ticket, self._clock(), sent=sent))

    def _wake(self, tickets: list[Ticket]) -> None:
        for ticket in tickets:
            event = self._events.pop(ticket, None)
            if event is not None:
                event.set()


async def wait_for_start(
    ticket: Ticket,
    event: trio.Event | None,
    start: Callable[[Ticket], Awaitable[float]],
    max_wait: float,
) -> None:
    """Sleep until ``ticket`` may go on the wire. Raises the ticket's error if it failed while queued.

    ``start`` reserves the global slot of a ticket that had to wait for its bucket first.
    """
    if event is not None:
        # A queue position is bounded like any other wait; this also un-sticks callers if the limiter died.
        with trio.move_on_after(max_wait) as waited:
            await event.wait()
        if waited.cancelled_caught:
            raise RateLimitTooLong(ticket.route.route.name, max_wait, max_wait, reason="queue")
    if ticket.error is not None:
        raise ticket.error
    if ticket.start_at is None:
        if ticket.not_before > trio.current_time():
            await trio.sleep_until(ticket.not_before)
        start_at = await start(ticket)
    else:
        start_at = ticket.start_at
    while start_at > trio.current_time():
        await trio.sleep_until(start_at)
        # A global 429 that arrived meanwhile may have moved the slot later (`RateLimitPlanner`).
        start_at = ticket.start_at if ticket.start_at is not None else start_at


class _LocalPermit:
    __slots__ = ("_broker", "_ticket")

    def __init__(self, broker: PermitBroker, ticket: Ticket) -> None:
        self._broker = broker
        self._ticket = ticket

    def complete(self, outcome: Outcome) -> None:
        self._broker.complete(self._ticket, outcome)

    def cancel(self, *, sent: bool) -> None:
        self._broker.cancel(self._ticket, sent=sent)


class LocalRateLimiter:
    """A rate limiter living in the caller's process without an actor (scripts, tests, benchmarks)."""

    __slots__ = ("broker",)

    def __init__(self, broker: PermitBroker | None = None, *, config: LimiterConfig | None = None) -> None:
        self.broker = broker or PermitBroker(RateLimitPlanner(config))

    @property
    def max_wait(self) -> float:
        return self.broker.config.max_wait

    async def _start(self, ticket: Ticket) -> float:
        return self.broker.start(ticket)

    async def acquire(self, route: CompiledRoute) -> Permit:
        ticket, event = self.broker.acquire(route)
        try:
            await wait_for_start(ticket, event, self._start, self.broker.config.max_wait)
        except BaseException:
            self.broker.cancel(ticket, sent=False)
            raise
        return _LocalPermit(self.broker, ticket)


class _NoOpPermit:
    __slots__ = ()

    def complete(self, outcome: Outcome) -> None:
        pass

    def cancel(self, *, sent: bool) -> None:
        pass


#: The permit of a request no limiter needs to see (`PassThroughLimiter`, single-use routes).
NO_OP_PERMIT: Final = _NoOpPermit()


class PassThroughLimiter:
    """No client-side limiting, for a bot behind a rate-limiting REST proxy (twilight http-proxy, nirn-proxy).

    The proxy owns the buckets for every process sharing the token and answers 429s itself; `RestClient`
    still waits out any 429's ``retry_after`` before retrying, as it sleeps for the retry in its own task.
    """

    __slots__ = ("_max_wait",)

    def __init__(self, *, max_wait: float = 300.0) -> None:
        self._max_wait = max_wait

    @property
    def max_wait(self) -> float:
        return self._max_wait

    async def acquire(self, route: CompiledRoute) -> Permit:
        await trio.lowlevel.checkpoint()
        return NO_OP_PERMIT
