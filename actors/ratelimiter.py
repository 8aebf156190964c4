"""The REST rate-limiter actor: one owner for every bucket of the process, after twilight's permit model.

Every REST call of the bot goes through this actor (DESIGN §2: "REST calls take a permit from the
rate-limiter actor"), so bucket state is learned once and shared by all guild actors and the command executor,
and there is exactly one place that can say "stop, the token was rejected" or "stop, we are close to the
invalid-request ban".

The decisions live in the pure `protocol.rest.buckets.RateLimitPlanner`; this module only moves messages.
Per request the caller pays one ``call`` (`PermitRequest`: the actor answers at once with a ticket — it never
sleeps on anyone's behalf) and one ``tell`` (`CompletePermit`). Sleeping until a bucket reset or a global slot
happens in the caller's own task (`protocol.rest.limiter.wait_for_start`); a request queued behind another of
the same bucket waits on an event the actor sets when the earlier request completes.

Cancellation. The request message is a mutable *claim* the actor fills in. If the caller is cancelled (or the
call times out) at any point, it tells the actor `WithdrawPermit` with that same claim; because a mailbox is
FIFO, the withdrawal is handled after the acquire it refers to (or finds that the acquire never arrived), so a
cancelled caller never leaves a bucket locked. A completion that cannot be delivered because the mailbox is
full is kept and re-sent before the next acquire, for the same reason.

Errors are answers, not crashes: `RateLimitTooLong` and `RequestRefused` travel back inside the claim, because
an exception raised by ``handle`` would crash (and restart) the actor and wipe every bucket it had learned.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import trio

from protocol.rest.buckets import LimiterConfig, Outcome, RateLimitPlanner, Ticket
from protocol.rest.errors import RateLimitTooLong, RestError
from protocol.rest.limiter import Permit, PermitBroker, wait_for_start
from protocol.rest.routes import CompiledRoute
from supervision.context import ActorContext
from supervision.refs import ActorRef
from supervision.specs import ChildSpec, MailboxSpec, Overflow, Restart
from supervision.telemetry import Telemetry

__all__ = [
    "ActorRateLimiter",
    "CompletePermit",
    "LimiterStatus",
    "PermitRequest",
    "RateLimiterActor",
    "StartPermit",
    "WithdrawPermit",
    "ratelimiter_child",
]

log = logging.getLogger(__name__)


@attrs.define(slots=True, eq=False)
class PermitRequest:
    """``call`` message (and reply): the actor fills in `ticket` and `event`, or `error`."""

    route: CompiledRoute
    ticket: Ticket | None = None
    event: trio.Event | None = None
    error: RestError | None = None
    withdrawn: bool = False


@attrs.frozen(slots=True)
class StartPermit:
    """``call``: reserve the global start slot of a ticket that first had to wait for its bucket."""

    ticket: Ticket


@attrs.frozen(slots=True)
class CompletePermit:
    """``tell``: the request was answered."""

    ticket: Ticket
    outcome: Outcome


@attrs.frozen(slots=True)
class WithdrawPermit:
    """``tell``: the caller gave up (cancelled, timed out, transport failure)."""

    claim: PermitRequest
    sent: bool


@attrs.frozen(slots=True)
class LimiterStatus:
    """``call``: a small snapshot for health reports (bucket count, queued requests, invalid responses)."""


def ratelimiter_child(
    config: LimiterConfig | None = None, *, telemetry: Telemetry | None = None, child_id: str = "ratelimiter"
) -> ChildSpec:
    """The child spec for the supervision tree. Callers then use
    ``ActorRateLimiter(runtime.ref(f"{parent}/{child_id}"), max_wait=config.max_wait)``.

    The mailbox is large and blocking: every in-flight REST request holds at most one acquire and one
    completion in it, and dropping a completion would leave a bucket locked.
    """
    return ChildSpec(
        id=child_id,
        factory=lambda: RateLimiterActor(config, telemetry=telemetry),
        restart=Restart.PERMANENT,
        mailbox=MailboxSpec(capacity=8192, overflow=Overflow.BLOCK),
        critical=True,
        kind="ratelimiter",
    )


class RateLimiterActor:
    """The actor (see `ratelimiter_child` for its place in the tree)."""

    #: Gauges are refreshed every this many messages (and on `LimiterStatus`): cheap, and fresh enough.
    GAUGE_EVERY = 256

    def __init__(self, config: LimiterConfig | None = None, *, telemetry: Telemetry | None = None) -> None:
        self._broker = PermitBroker(RateLimitPlanner(config))
        telemetry = telemetry or Telemetry()
        self._refused = telemetry.counter(
            "shard_rest_refused_total", "REST requests refused before sending, by reason", ("reason",)
        )
        self._buckets = telemetry.gauge("shard_rest_buckets", "Rate-limit buckets currently tracked")
        self._queued = telemetry.gauge("shard_rest_queued_requests", "Requests queued behind their bucket")
        self._invalid = telemetry.gauge(
            "shard_rest_invalid_requests", "401/403/429 answers in the last 10 minutes (ban at 10,000)"
        )
        self._handled = 0

    def _refresh_gauges(self) -> dict[str, Any]:
        planner = self._broker.planner
        now = trio.current_time()
        status = {
            "buckets": planner.bucket_count(),
            "queued": planner.waiting(),
            "invalid_requests_10min": planner.guard.count(now),
            "token_rejected": planner.guard.token_rejected,
            "global_paused_for": max(0.0, planner.global_paused_until - now),
        }
        self._buckets.set(status["buckets"])
        self._queued.set(status["queued"])
        self._invalid.set(status["invalid_requests_10min"])
        return status

    async def handle(self, msg: Any, ctx: ActorContext) -> Any:  # noqa: PLR0911 - one branch per message
        broker = self._broker
        self._handled += 1
        if self._handled % self.GAUGE_EVERY == 0:
            self._refresh_gauges()
        if type(msg) is PermitRequest:
            if msg.withdrawn:
                return msg
            try:
                msg.ticket, msg.event = broker.acquire(msg.route)
            except RestError as error:
                msg.error = error
                self._refused.inc(type(error).__name__)
            return msg
        if type(msg) is CompletePermit:
            broker.complete(msg.ticket, msg.outcome)
            return None
        if type(msg) is StartPermit:
            try:
                return broker.start(msg.ticket)
            except RestError as error:
                self._refused.inc(type(error).__name__)
                return error
        if type(msg) is WithdrawPermit:
            claim = msg.claim
            claim.withdrawn = True
            if claim.ticket is not None:
                broker.cancel(claim.ticket, sent=msg.sent)
            return None
        if type(msg) is LimiterStatus:
            return self._refresh_gauges()
        log.warning("rate limiter ignored an unknown message %s", type(msg).__name__)
        return None


class _ActorPermit:
    __slots__ = ("_claim", "_limiter")

    def __init__(self, limiter: ActorRateLimiter, claim: PermitRequest) -> None:
        self._limiter = limiter
        self._claim = claim

    def complete(self, outcome: Outcome) -> None:
        assert self._claim.ticket is not None
        self._limiter._deliver(CompletePermit(self._claim.ticket, outcome))

    def cancel(self, *, sent: bool) -> None:
        self._limiter._deliver(WithdrawPermit(self._claim, sent))


class ActorRateLimiter:
    """The caller's side: implements `protocol.rest.limiter.RateLimiter` on top of the actor's ref.

    ``max_wait`` must match the actor's `LimiterConfig.max_wait`; ``call_timeout`` bounds one round trip.
    """

    __slots__ = ("_backlog", "_call_timeout", "_max_wait", "_ref")

    def __init__(self, ref: ActorRef, *, max_wait: float = 300.0, call_timeout: float = 10.0) -> None:
        self._ref = ref
        self._max_wait = max_wait
        self._call_timeout = call_timeout
        self._backlog: list[CompletePermit | WithdrawPermit] = []

    @property
    def max_wait(self) -> float:
        return self._max_wait

    def _deliver(self, msg: CompletePermit | WithdrawPermit) -> None:
        if not self._ref.tell(msg):
            self._backlog.append(msg)

    async def _flush_backlog(self) -> None:
        backlog, self._backlog = self._backlog, []
        for msg in backlog:
            await self._ref.send(msg)

    async def _start(self, ticket: Ticket) -> float:
        answer = await self._ref.call(StartPermit(ticket), timeout=self._call_timeout)
        if isinstance(answer, RestError):
            raise answer
        return float(answer)

    async def acquire(self, route: CompiledRoute) -> Permit:
        if self._backlog:
            await self._flush_backlog()
        claim = PermitRequest(route)
        try:
            await self._ref.call(claim, timeout=self._call_timeout)
            if claim.error is not None:
                raise claim.error
            if claim.ticket is None:
                raise RateLimitTooLong(
                    route.route.name, 0.0, self._max_wait, reason="rate limiter did not answer"
                )
            await wait_for_start(claim.ticket, claim.event, self._start, self._max_wait)
        except BaseException:
            if not claim.withdrawn:
                self._deliver(WithdrawPermit(claim, False))
            raise
        return _ActorPermit(self, claim)
