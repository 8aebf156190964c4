"""Rate-limit bucket maths for Discord's REST API: pure, sans-IO, every instant passed in as ``now``.

How Discord limits REST requests (topics--rate-limits.mdx), and what this module does about each rule:

Per-route buckets
    Every response may carry ``X-RateLimit-Bucket`` (an opaque hash shared by routes that share a limit),
    ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset-After``. The hash does *not* include the top-level
    resource (channel, guild, webhook), so the real bucket is ``(hash, major parameters)``. We cannot know the
    hash before the first response of a route, so a route starts in a *pseudo-bucket* keyed by the route name
    and its major parameters. When a response names the hash, the route is mapped to it for good and any
    requests queued in the pseudo-bucket move to the real one.

One request in flight per bucket
    As in twilight's rate limiter, a bucket lets exactly one request be outstanding at a time (the *holder*);
    the rest wait in FIFO order. The price is a throughput ceiling of one request per round trip per bucket,
    which is far above any per-route limit Discord hands out. The gain is that every response's ``Remaining``
    and ``Reset-After`` describe exactly the state the next request will meet — there is no guessing about
    requests the server has or has not counted yet, and therefore, once a bucket is known, a well-behaved run
    provokes no 429 at all: with ``Remaining == 0`` the next request waits until the reset instant, which we
    compute as *our* receive time plus ``Reset-After`` (never earlier than Discord's own reset, because the
    header was written before the response travelled to us). ``X-RateLimit-Reset`` (epoch seconds) is ignored
    on purpose: it depends on clock agreement, ``Reset-After`` does not. A route whose responses carry no
    bucket header has no per-route limit, and its requests are no longer serialised.

Global limit
    At most 50 requests per second per bot, across all routes, except interaction endpoints and
    token-authenticated webhooks. Instead of waiting for a global 429 (hikari, discord.py), requests take a
    *start slot* from a sliding log of the last 50 start instants: a request may start no earlier than the
    oldest of those plus one period (plus a small margin for network jitter, so that the server, which sees
    arrival times, also sees no more than 50 in any second). Start slots are handed out in non-decreasing time
    order, so the log stays sorted and each reservation is O(1).

429 responses
    We never retry early. ``retry_after`` (body, else ``Retry-After``) is honoured according to
    ``X-RateLimit-Scope``: ``global`` pauses every route until then; ``shared`` (a per-resource limit that is
    not our fault and does not count as invalid) pauses only that bucket; ``user`` (or no scope) marks the
    bucket exhausted until then. The retried request goes through `RateLimitPlanner.acquire` again, which
    cannot hand out a start time before those instants.

Invalid requests
    Discord bans an IP for a while after 10,000 responses with status 401, 403 or 429 (except ``shared`` 429s)
    within 10 minutes. `InvalidRequestGuard` counts them in a sliding window and refuses requests with a clear
    error well before the limit (`InvalidRequestLimitReached`). A 401 to a bot-token route means the token is
    no longer valid; the guard latches and refuses every further bot-token request (`TokenRejected`), like
    twilight's ``remember_invalid_token``.

Absurd waits
    Some limits reset after hours or days (role creation). Any wait beyond ``max_wait`` raises
    `RateLimitTooLong` instead of silently stalling a command, as hikari's ``max_rate_limit`` does.

Dead webhooks
    "If a webhook returns a 404 status you should not attempt to use it again". A webhook (or interaction
    token, whose follow-ups are webhook routes) answered with error 10015 *Unknown Webhook* is remembered, and
    later requests to it fail at once with `NotFound` without reaching Discord.

Server errors
    `RetryPolicy` gives bounded exponential backoff with jitter for 5xx answers and transport failures.

The planner is driven by an I/O layer (`protocol.rest.limiter`, `actors.ratelimiter`) that sleeps until the
instants computed here and wakes queued callers; everything time-related here is a plain float, so the unit
tests replay any schedule exactly.
"""

from __future__ import annotations

import enum
from collections import deque
from typing import Final

import attrs

from protocol.rest.errors import NotFound, RateLimitTooLong, RestError
from protocol.rest.guard import InvalidRequestGuard
from protocol.rest.outcome import UNKNOWN_WEBHOOK, Outcome, RateLimitHeaders, Scope
from protocol.rest.retry import RetryPolicy
from protocol.rest.routes import CompiledRoute, Route

# Outcome, RateLimitHeaders, Scope, RetryPolicy and InvalidRequestGuard live in their own modules and are
# re-exported here because the planner's callers use them together.
__all__ = [
    "Bucket",
    "InvalidRequestGuard",
    "LimiterConfig",
    "Outcome",
    "RateLimitHeaders",
    "RateLimitPlanner",
    "RetryPolicy",
    "Scope",
    "Ticket",
    "TicketState",
]

BucketKey = tuple[str, tuple[str, ...]]

_MAX_DEAD_WEBHOOKS: Final = 10_000


@attrs.frozen(slots=True)
class LimiterConfig:
    """Tunables of the planner; the defaults follow Discord's documented limits."""

    global_limit: int = 50
    global_period: float = 1.0
    #: Added to the global period so that arrival jitter cannot squeeze 51 requests into Discord's second.
    global_margin: float = 0.02
    #: Added to every reset and retry instant: Discord (and the emulator) round ``Reset-After`` and
    #: ``retry_after`` to the millisecond, so the rounded value can end a fraction of a millisecond early.
    reset_margin: float = 0.002
    #: Longest wait accepted before a request starts; longer raises `RateLimitTooLong`.
    max_wait: float = 300.0
    invalid_limit: int = 10_000
    invalid_window: float = 600.0
    #: Refuse new requests once this many invalid responses were seen in the window (headroom for in-flight).
    invalid_refuse_at: int = 9_000
    #: Forget idle, fully reset buckets after this many seconds (bounded memory across many channels).
    bucket_idle_ttl: float = 120.0
    sweep_every: int = 4096

    @classmethod
    def for_rate(cls, global_rate_per_s: float, *, max_wait: float = 300.0) -> LimiterConfig:
        """A config from a global rate in requests per second (the ``rest`` section of the bot's config)."""
        if global_rate_per_s <= 0:
            raise ValueError(f"global rate must be positive, got {global_rate_per_s}")
        if global_rate_per_s >= 1:
            return cls(global_limit=int(global_rate_per_s), global_period=1.0, max_wait=max_wait)
        return cls(global_limit=1, global_period=1.0 / global_rate_per_s, max_wait=max_wait)


class TicketState(enum.Enum):
    QUEUED = "queued"  # waiting behind the bucket's holder
    HELD = "held"  # owns its bucket (if the bucket is sequential); may start at `not_before`
    FAILED = "failed"  # will not be sent (`error` says why)
    DONE = "done"  # completed or cancelled


@attrs.define(slots=True, eq=False)
class Ticket:
    """One request's place in the rate limiter.

    Lifecycle: ``QUEUED`` → ``HELD`` (possibly straight away) → ``DONE``, or ``FAILED`` when its wait is too
    long. A held ticket may start at `not_before`; its request may go on the wire at `start_at` once a global
    slot has been reserved (`RateLimitPlanner.start`).
    """

    route: CompiledRoute
    bucket: Bucket
    state: TicketState = TicketState.QUEUED
    not_before: float = 0.0
    start_at: float | None = None
    error: RestError | None = None


@attrs.define(slots=True, eq=False)
class Bucket:
    """One per-route bucket, ``(hash or pseudo name, major parameters)``."""

    key: BucketKey
    pseudo: bool
    #: False once we know the route has no per-route limit: requests are then not serialised.
    sequential: bool = True
    limit: int | None = None
    remaining: int | None = None
    reset_at: float = 0.0
    paused_until: float = 0.0
    holder: Ticket | None = None
    waiters: deque[Ticket] = attrs.field(factory=deque)
    last_used: float = 0.0

    def available_at(self, now: float) -> float:
        """The earliest instant a request in this bucket may start, as far as the bucket is concerned."""
        at = self.paused_until if self.paused_until > now else now
        if self.remaining is not None and self.remaining <= 0 and self.reset_at > at:
            at = self.reset_at
        return at

    def absorb(self, other: Bucket) -> None:
        """Take over the limits another bucket for the same resource learned (the stricter of both)."""
        if other.remaining is not None and (self.remaining is None or other.remaining < self.remaining):
            self.remaining = other.remaining
        self.reset_at = max(self.reset_at, other.reset_at)
        self.paused_until = max(self.paused_until, other.paused_until)

    def is_idle(self, now: float, ttl: float) -> bool:
        return (
            self.holder is None
            and not self.waiters
            and self.reset_at <= now
            and self.paused_until <= now
            and now - self.last_used >= ttl
        )


class RateLimitPlanner:
    """Decides when each REST request may start. Single-threaded; all methods take ``now`` explicitly.

    Driver protocol: `acquire` a ticket; when it is ``QUEUED``, wait until a later `complete`/`cancel` returns
    it among the woken tickets; once ``HELD``, sleep until `Ticket.not_before`; if `Ticket.start_at` is still
    ``None``, call `start` and sleep until the instant it returns; send; then `complete` (or `cancel`).
    """

    def __init__(self, config: LimiterConfig | None = None) -> None:
        self.config = config or LimiterConfig()
        self.guard = InvalidRequestGuard(
            window=self.config.invalid_window, refuse_at=self.config.invalid_refuse_at
        )
        self._buckets: dict[BucketKey, Bucket] = {}
        self._route_hash: dict[str, str] = {}
        self._global_starts: deque[float] = deque(maxlen=self.config.global_limit)
        self.global_paused_until = 0.0
        self._acquires = 0
        #: Tickets whose start slot lies in the future (in start order): a global 429 postpones them.
        self._future_starts: deque[Ticket] = deque()
        #: Major keys (webhook id, token) of webhooks Discord called unknown; insertion-ordered, bounded.
        self._dead_webhooks: dict[tuple[str, ...], None] = {}

    # ----------------------------------------------------------------------------------------- queries

    def bucket_of(self, route: CompiledRoute) -> Bucket | None:
        """The bucket a request on ``route`` would use now (``None`` if none exists yet)."""
        return self._buckets.get(self._key(route))

    def bucket_count(self) -> int:
        return len(self._buckets)

    def waiting(self) -> int:
        return sum(len(b.waiters) for b in self._buckets.values())

    # ----------------------------------------------------------------------------------------- driver API

    def acquire(self, route: CompiledRoute, now: float) -> Ticket:
        """Register a request. Raises `RequestRefused` or `RateLimitTooLong` instead of returning."""
        self.guard.check(route.route, now)
        if self._dead_webhooks and route.major in self._dead_webhooks and _is_webhook_route(route.route):
            raise NotFound(
                404, route.route.name, code=UNKNOWN_WEBHOOK, message="Unknown Webhook (remembered)"
            )
        self._acquires += 1
        if self._acquires % self.config.sweep_every == 0:
            self._sweep(now)
        key, pseudo = self._resolve(route)
        bucket = self._buckets.get(key)
        if not pseudo and self._buckets:
            # The hash was learned from another resource while this resource still has a pseudo-bucket: if a
            # request is in flight there, queue behind it (or two requests race the limit); otherwise carry
            # what it learned (a 429's pause, an exhausted window) over to the real bucket.
            earlier = self._buckets.get(self._pseudo_key(route))
            if earlier is not None:
                if earlier.holder is not None or earlier.waiters:
                    bucket = earlier
                else:
                    del self._buckets[earlier.key]
                    if bucket is None:
                        bucket = Bucket(key, pseudo=False)
                        self._buckets[key] = bucket
                    bucket.absorb(earlier)
        if bucket is None:
            bucket = Bucket(key, pseudo=pseudo)
            self._buckets[key] = bucket
        bucket.last_used = now
        ticket = Ticket(route, bucket)
        if not bucket.sequential or (bucket.holder is None and not bucket.waiters):
            self._grant(ticket, now)
            if ticket.error is not None:
                raise ticket.error
        else:
            bucket.waiters.append(ticket)
        return ticket

    def start(self, ticket: Ticket, now: float) -> float:
        """Reserve the global start slot of a held ticket; returns the instant it may go on the wire."""
        if ticket.state is not TicketState.HELD:
            raise RuntimeError(f"start() on a {ticket.state.value} ticket")
        if ticket.start_at is None:
            # Re-read the bucket: on a route without per-route limit (not serialised), another request's
            # 429 may have paused it while this one slept.
            earliest = max(ticket.bucket.available_at(now), ticket.not_before)
            self._reserve_start(ticket, earliest, now)
            if ticket.error is not None:
                self._release(ticket)
                raise ticket.error
        assert ticket.start_at is not None
        return ticket.start_at

    def complete(self, ticket: Ticket, outcome: Outcome, now: float) -> list[Ticket]:
        """Record the response of a sent request; returns the queued tickets this wakes."""
        if ticket.state is not TicketState.HELD:
            return []
        route = ticket.route.route
        self.guard.record(route, outcome, now)
        if outcome.error_code == UNKNOWN_WEBHOOK and _is_webhook_route(route):
            self._dead_webhooks[ticket.route.major] = None
            if len(self._dead_webhooks) > _MAX_DEAD_WEBHOOKS:
                del self._dead_webhooks[next(iter(self._dead_webhooks))]
        bucket = ticket.bucket
        limits = outcome.limits
        margin = self.config.reset_margin
        woken: list[Ticket] = []
        if limits.bucket is not None:
            bucket = self._learn_hash(ticket, limits.bucket, woken)
            if limits.remaining is not None and limits.reset_after is not None:
                bucket.limit = limits.limit
                bucket.remaining = limits.remaining
                bucket.reset_at = now + limits.reset_after + margin
        elif bucket.pseudo and outcome.status < 500 and outcome.status != 429:
            # No bucket header on a real answer: this route has no per-route limit.
            bucket.sequential = False
        scope = outcome.scope
        if scope is not None:
            resume_at = now + outcome.retry_after + margin
            if scope is Scope.GLOBAL:
                self.global_paused_until = max(self.global_paused_until, resume_at)
                self._postpone_reserved(now)
            elif scope is Scope.SHARED:
                bucket.paused_until = max(bucket.paused_until, resume_at)
            else:
                # retry_after is authoritative for when the bucket may be used again (the docs say to rely
                # on it), even when the route headers of the same answer disagree.
                bucket.remaining = 0
                bucket.reset_at = resume_at
        bucket.last_used = now
        self._release(ticket)
        woken.extend(self._wake(ticket.bucket, now))
        if bucket is not ticket.bucket:
            woken.extend(self._wake(bucket, now))
        return woken

    def cancel(self, ticket: Ticket, now: float, *, sent: bool) -> list[Ticket]:
        """Withdraw a ticket (caller cancelled or the transport failed); returns the tickets this wakes.

        ``sent`` says the request may have reached Discord, so it consumed one use of the bucket.
        """
        bucket = ticket.bucket
        if ticket.state is TicketState.QUEUED:
            if ticket in bucket.waiters:
                bucket.waiters.remove(ticket)
            ticket.state = TicketState.DONE
            return []
        if ticket.state is not TicketState.HELD:
            return []
        if sent and bucket.remaining is not None and bucket.remaining > 0:
            bucket.remaining -= 1
        self._release(ticket)
        return self._wake(bucket, now)

    # ----------------------------------------------------------------------------------------- internals

    def _key(self, route: CompiledRoute) -> BucketKey:
        return self._resolve(route)[0]

    def _resolve(self, route: CompiledRoute) -> tuple[BucketKey, bool]:
        """The bucket key for ``route`` and whether it is a pseudo-bucket (hash not known yet)."""
        name = route.route.name
        known = self._route_hash.get(name)
        if known is not None:
            return (known, route.major), False
        group = route.route.bucket_group
        if group is not None:
            guessed = self._route_hash.get(group)
            if guessed is not None:
                return (guessed, route.major), False
        return self._pseudo_key(route), True

    @staticmethod
    def _pseudo_key(route: CompiledRoute) -> BucketKey:
        group = route.route.bucket_group
        return ("group:" + group if group is not None else route.route.name, route.major)

    def _grant(self, ticket: Ticket, now: float) -> None:
        bucket = ticket.bucket
        not_before = bucket.available_at(now)
        not_before = max(not_before, self.global_paused_until)
        wait = not_before - now
        if wait > self.config.max_wait:
            ticket.state = TicketState.FAILED
            ticket.error = RateLimitTooLong(ticket.route.route.name, wait, self.config.max_wait)
            return
        ticket.state = TicketState.HELD
        ticket.not_before = not_before
        if bucket.sequential:
            bucket.holder = ticket
        if not_before <= now:
            self._reserve_start(ticket, now, now)
            if ticket.error is not None:
                self._release(ticket)
                ticket.state = TicketState.FAILED

    def _reserve_start(self, ticket: Ticket, earliest: float, now: float) -> None:
        future = self._future_starts
        while future and (future[0].start_at is None or future[0].start_at <= now):
            future.popleft()
        at = max(earliest, self.global_paused_until)
        starts = self._global_starts
        exempt = ticket.route.route.global_exempt
        if not exempt and len(starts) == starts.maxlen:
            at = max(at, starts[0] + self.config.global_period + self.config.global_margin)
        if at - now > self.config.max_wait:
            ticket.error = RateLimitTooLong(
                ticket.route.route.name, at - now, self.config.max_wait, reason="global rate limit"
            )
            return
        if not exempt:
            starts.append(at)
        ticket.start_at = at
        if at > now:
            self._future_starts.append(ticket)

    def _postpone_reserved(self, now: float) -> None:
        """Move start slots reserved before a global 429 to after the pause (drivers re-read `start_at`)."""
        future = self._future_starts
        while future and (future[0].start_at is None or future[0].start_at <= now):
            future.popleft()
        pause = self.global_paused_until
        for ticket in future:
            if ticket.state is TicketState.HELD and ticket.start_at is not None and ticket.start_at < pause:
                ticket.start_at = pause

    def _release(self, ticket: Ticket) -> None:
        bucket = ticket.bucket
        if bucket.holder is ticket:
            bucket.holder = None
        if ticket.state is TicketState.HELD:
            ticket.state = TicketState.DONE

    def _wake(self, bucket: Bucket, now: float) -> list[Ticket]:
        woken: list[Ticket] = []
        waiters = bucket.waiters
        while waiters and (bucket.holder is None or not bucket.sequential):
            ticket = waiters.popleft()
            self._grant(ticket, now)
            woken.append(ticket)
        return woken

    def _learn_hash(self, ticket: Ticket, bucket_hash: str, woken: list[Ticket]) -> Bucket:
        """Map the ticket's route to ``bucket_hash``; move its queued requests to the real bucket."""
        name = ticket.route.route.name
        self._route_hash[name] = bucket_hash
        group = ticket.route.route.bucket_group
        if group is not None:
            self._route_hash[group] = bucket_hash
        key: BucketKey = (bucket_hash, ticket.route.major)
        current = ticket.bucket
        if current.key == key:
            current.pseudo = False
            return current
        real = self._buckets.get(key)
        if real is None:
            real = Bucket(key, pseudo=False, last_used=current.last_used)
            self._buckets[key] = real
        moving = [t for t in current.waiters if self._key(t.route) == key]
        if moving:
            current.waiters = deque(t for t in current.waiters if self._key(t.route) != key)
            for moved in moving:
                moved.bucket = real
            real.waiters.extend(moving)
        if current.pseudo and current.holder in (None, ticket) and not current.waiters:
            self._buckets.pop(current.key, None)
        return real

    def _sweep(self, now: float) -> None:
        ttl = self.config.bucket_idle_ttl
        idle = [key for key, bucket in self._buckets.items() if bucket.is_idle(now, ttl)]
        for key in idle:
            del self._buckets[key]


def _is_webhook_route(route: Route) -> bool:
    return "webhook_token" in route.major_params
