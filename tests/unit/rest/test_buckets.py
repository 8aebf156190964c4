"""The bucket maths (`protocol.rest.buckets`), with explicit instants and no sockets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.rest.buckets import (
    InvalidRequestGuard,
    LimiterConfig,
    Outcome,
    RateLimitHeaders,
    RateLimitPlanner,
    RetryPolicy,
    Scope,
    TicketState,
)
from protocol.rest.errors import InvalidRequestLimitReached, NotFound, RateLimitTooLong, TokenRejected
from protocol.rest.routes import route
from tests.unit.rest.discord_sim import Driver, SimServer

CREATE_MESSAGE = route("POST", "/channels/{channel_id}/messages")
EDIT_MESSAGE = route("PATCH", "/channels/{channel_id}/messages/{message_id}")
GET_USER = route("GET", "/users/@me")
#: The planner adds this to every reset / retry instant (millisecond rounding of the headers).
M = LimiterConfig().reset_margin
CALLBACK = route("POST", "/interactions/{interaction_id}/{interaction_token}/callback")


def ok(bucket: str = "abc", remaining: int = 4, reset_after: float = 5.0, limit: int = 5) -> Outcome:
    return Outcome.from_response(
        200,
        {
            "x-ratelimit-bucket": bucket,
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset-after": str(reset_after),
        },
    )


def too_many(scope: str, retry_after: float, bucket: str | None = "abc") -> Outcome:
    headers = {"x-ratelimit-scope": scope, "retry-after": str(int(retry_after) + 1)}
    if bucket:
        headers |= {"x-ratelimit-bucket": bucket, "x-ratelimit-remaining": "0"}
        headers["x-ratelimit-reset-after"] = "0.5"
    if scope == "global":
        headers["x-ratelimit-global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": scope == "global"}
    return Outcome.from_response(429, headers, body)


# ------------------------------------------------------------------------------------------------ headers


def test_headers_parse_and_outcome_scope() -> None:
    limits = RateLimitHeaders.parse(
        {"x-ratelimit-bucket": "h", "x-ratelimit-remaining": "3", "x-ratelimit-reset-after": "1.25"}
    )
    assert (limits.bucket, limits.remaining, limits.reset_after) == ("h", 3, 1.25)
    assert too_many("shared", 3.0).scope is Scope.SHARED
    assert too_many("global", 3.0).scope is Scope.GLOBAL
    assert too_many("user", 3.0).scope is Scope.USER
    # No scope header but "global": true in the body still means the global limit.
    assert Outcome.from_response(429, {}, {"retry_after": 2, "global": True}).scope is Scope.GLOBAL
    assert ok().scope is None
    # Body retry_after beats the rounded Retry-After header; garbage values are ignored.
    assert too_many("user", 1.5).retry_after == 1.5
    assert Outcome.from_response(429, {"retry-after": "7"}, {"retry_after": "x"}).retry_after == 7.0
    assert Outcome.from_response(429, {"retry-after": "nan"}, None).retry_after == 1.0


# ------------------------------------------------------------------------------------------------ buckets


def test_unknown_bucket_allows_one_request_in_flight() -> None:
    planner = RateLimitPlanner()
    first = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    second = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    other_channel = planner.acquire(CREATE_MESSAGE.compile(channel_id=2), 0.0)
    assert first.state is TicketState.HELD and first.start_at == 0.0
    assert second.state is TicketState.QUEUED
    assert other_channel.state is TicketState.HELD  # a different top-level resource is another bucket
    woken = planner.complete(first, ok(remaining=4), 0.1)
    assert woken == [second]
    assert second.state is TicketState.HELD and second.start_at == 0.1


def test_exhausted_bucket_holds_next_request_until_reset() -> None:
    planner = RateLimitPlanner()
    first = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    planner.complete(first, ok(remaining=0, reset_after=2.0), 0.1)
    nxt = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.2)
    assert nxt.state is TicketState.HELD
    assert nxt.start_at is None and nxt.not_before == pytest.approx(2.1 + M)
    assert planner.start(nxt, 2.1 + M) == pytest.approx(2.1 + M)


def test_routes_sharing_a_bucket_hash_share_the_bucket_and_queued_requests_move() -> None:
    planner = RateLimitPlanner()
    a1 = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    a2 = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)  # queued in the pseudo bucket
    planner.complete(a1, ok(bucket="shared-hash", remaining=0, reset_after=1.0), 0.1)
    assert a2.bucket.key == ("shared-hash", ("1",))
    assert a2.not_before == pytest.approx(1.1 + M)
    b1 = planner.acquire(EDIT_MESSAGE.compile(channel_id=1, message_id=5), 0.2)
    planner.complete(b1, ok(bucket="shared-hash", remaining=0, reset_after=0.9), 0.3)
    # Once both routes are known to map to the same hash, they queue on one bucket.
    assert planner.bucket_of(EDIT_MESSAGE.compile(channel_id=1, message_id=6)) is a2.bucket


def test_route_without_bucket_header_is_not_serialised() -> None:
    planner = RateLimitPlanner()
    first = planner.acquire(GET_USER.compile(), 0.0)
    queued = planner.acquire(GET_USER.compile(), 0.0)
    assert queued.state is TicketState.QUEUED
    planner.complete(first, Outcome.from_response(200, {}), 0.05)
    assert queued.state is TicketState.HELD
    parallel = [planner.acquire(GET_USER.compile(), 0.1) for _ in range(5)]
    assert all(t.state is TicketState.HELD for t in parallel)


def test_cancel_releases_the_bucket_to_the_next_waiter() -> None:
    planner = RateLimitPlanner()
    first = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    second = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    third = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    assert planner.cancel(second, 0.01, sent=False) == []  # a queued ticket just leaves the queue
    assert planner.cancel(first, 0.02, sent=False) == [third]
    assert third.state is TicketState.HELD


def test_cancel_after_send_counts_the_use() -> None:
    planner = RateLimitPlanner()
    first = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    planner.complete(first, ok(remaining=1, reset_after=3.0), 0.1)
    second = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.2)
    planner.cancel(second, 0.3, sent=True)
    third = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.4)
    assert third.not_before == pytest.approx(3.1 + M)


# ------------------------------------------------------------------------------------------------ 429s


def test_user_429_is_never_retried_early() -> None:
    planner = RateLimitPlanner()
    ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    planner.complete(ticket, too_many("user", 4.0), 0.1)
    retry = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.1)
    assert retry.not_before >= 4.1
    assert planner.start(retry, retry.not_before) >= 4.1


def test_global_429_pauses_every_bucket() -> None:
    planner = RateLimitPlanner()
    ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    planner.complete(ticket, too_many("global", 3.0, bucket=None), 0.1)
    elsewhere = planner.acquire(GET_USER.compile(), 0.2)
    assert elsewhere.not_before == pytest.approx(3.1 + M)
    assert planner.start(elsewhere, 3.1 + M) == pytest.approx(3.1 + M)


def test_shared_429_pauses_only_that_resource_and_is_not_invalid() -> None:
    planner = RateLimitPlanner()
    ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    planner.complete(ticket, too_many("shared", 10.0), 0.1)
    same = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.2)
    other = planner.acquire(CREATE_MESSAGE.compile(channel_id=2), 0.2)
    assert same.not_before == pytest.approx(10.1 + M)
    assert other.start_at == 0.2
    assert planner.guard.count(0.3) == 0


# ------------------------------------------------------------------------------------------------ global


def test_global_limit_spreads_starts_over_sliding_seconds() -> None:
    config = LimiterConfig()
    planner = RateLimitPlanner(config)
    starts = []
    for channel in range(160):  # every request on its own bucket, all at t=0
        ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=channel), 0.0)
        assert ticket.start_at is not None
        starts.append(ticket.start_at)
    assert starts == sorted(starts)
    window = config.global_period + config.global_margin
    for i in range(len(starts) - config.global_limit):
        assert starts[i + config.global_limit] - starts[i] >= window - 1e-9
    assert starts[49] == 0.0 and starts[50] == pytest.approx(window)


def test_interaction_callbacks_are_exempt_from_the_global_limit() -> None:
    planner = RateLimitPlanner()
    for channel in range(60):
        planner.acquire(CREATE_MESSAGE.compile(channel_id=channel), 0.0)
    callbacks = [
        planner.acquire(CALLBACK.compile(interaction_id=i, interaction_token="tok"), 0.0) for i in range(60)
    ]
    assert all(t.start_at == 0.0 for t in callbacks)


# ------------------------------------------------------------------------------------------------ caps


def test_wait_beyond_max_wait_raises_instead_of_stalling() -> None:
    planner = RateLimitPlanner(LimiterConfig(max_wait=30.0))
    ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    planner.complete(ticket, too_many("user", 3600.0), 0.1)
    with pytest.raises(RateLimitTooLong) as raised:
        planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.2)
    assert raised.value.wait > 30.0
    # The refused request left the bucket free: nothing is stuck behind it.
    assert planner.bucket_of(CREATE_MESSAGE.compile(channel_id=1)).holder is None  # type: ignore[union-attr]


def test_queued_request_fails_when_its_turn_would_wait_too_long() -> None:
    planner = RateLimitPlanner(LimiterConfig(max_wait=30.0))
    first = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    queued = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    woken = planner.complete(first, too_many("user", 600.0), 0.1)
    assert woken == [queued]
    assert queued.state is TicketState.FAILED and isinstance(queued.error, RateLimitTooLong)


def test_long_global_pause_is_capped_too() -> None:
    planner = RateLimitPlanner(LimiterConfig(max_wait=5.0))
    ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    planner.complete(ticket, too_many("global", 60.0, bucket=None), 0.0)
    with pytest.raises(RateLimitTooLong):
        planner.acquire(GET_USER.compile(), 1.0)


# ------------------------------------------------------------------------------------------------ invalid


def test_invalid_request_guard_refuses_before_the_ban_and_slides() -> None:
    guard = InvalidRequestGuard(window=600.0, refuse_at=100)
    forbidden = Outcome.from_response(403, {})
    for i in range(99):
        guard.record(CREATE_MESSAGE, forbidden, float(i))
    guard.check(CREATE_MESSAGE, 99.0)  # 99 < 100: still allowed
    guard.record(CREATE_MESSAGE, too_many("user", 1.0), 99.5)
    with pytest.raises(InvalidRequestLimitReached, match="10,000"):
        guard.check(CREATE_MESSAGE, 100.0)
    guard.check(CREATE_MESSAGE, 600.5)  # the first ones left the 10-minute window
    assert guard.count(600.5) == 99


def test_shared_429_and_404_do_not_count_as_invalid() -> None:
    guard = InvalidRequestGuard(refuse_at=1)
    guard.record(CREATE_MESSAGE, too_many("shared", 1.0), 0.0)
    guard.record(CREATE_MESSAGE, Outcome.from_response(404, {}), 0.0)
    guard.check(CREATE_MESSAGE, 0.0)


def test_401_latches_bot_token_routes_but_not_token_in_path_routes() -> None:
    planner = RateLimitPlanner()
    ticket = planner.acquire(GET_USER.compile(), 0.0)
    planner.complete(ticket, Outcome.from_response(401, {}), 0.1)
    with pytest.raises(TokenRejected):
        planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 5.0)
    callback = planner.acquire(CALLBACK.compile(interaction_id=1, interaction_token="t"), 5.0)
    assert callback.state is TicketState.HELD


def test_401_on_a_webhook_token_route_does_not_latch() -> None:
    planner = RateLimitPlanner()
    ticket = planner.acquire(CALLBACK.compile(interaction_id=1, interaction_token="t"), 0.0)
    planner.complete(ticket, Outcome.from_response(401, {}), 0.1)
    planner.acquire(GET_USER.compile(), 0.2)  # no TokenRejected


# ------------------------------------------------------------------------------------------------ 5xx


@given(st.integers(min_value=1, max_value=10), st.floats(min_value=0.0, max_value=1.0))
def test_retry_delays_grow_and_stay_bounded(retry: int, rand: float) -> None:
    policy = RetryPolicy(max_retries=4, base=0.5, cap=4.0)
    delay = policy.delay(retry, rand)
    if retry > 4:
        assert delay is None
        return
    assert delay is not None
    ceiling = min(4.0, 0.5 * 2 ** (retry - 1))
    assert ceiling / 2 <= delay <= ceiling


# ------------------------------------------------------------------------------------------------ simulation


@settings(max_examples=60, deadline=None)
@given(
    requests=st.lists(
        st.tuples(
            st.floats(min_value=0.0, max_value=3.0),  # issue time
            st.sampled_from(["create", "edit", "user", "react"]),
            st.integers(min_value=1, max_value=3),  # channel
        ),
        min_size=1,
        max_size=120,
    ),
    latencies=st.lists(st.floats(min_value=0.0005, max_value=0.08), min_size=2, max_size=16),
)
def test_simulated_traffic_never_gets_429_and_everything_completes(
    requests: list[tuple[float, str, int]], latencies: list[float]
) -> None:
    """Against a model server whose limits the planner has to learn, no request is ever rejected."""
    server = SimServer(
        route_buckets={
            CREATE_MESSAGE.name: ("msg", 5, 1.0),
            EDIT_MESSAGE.name: ("msg", 5, 1.0),  # shares the hash with create
            "PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me": ("react", 1, 0.25),
        },
        global_limit=50,
    )
    driver = Driver(
        RateLimitPlanner(),
        server,
        latency=lambda i: (latencies[i % len(latencies)], latencies[(i * 7 + 3) % len(latencies)]),
    )
    react = route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    for request_id, (at, kind, channel) in enumerate(requests):
        compiled = {
            "create": lambda c: CREATE_MESSAGE.compile(channel_id=c),
            "edit": lambda c: EDIT_MESSAGE.compile(channel_id=c, message_id=9),
            "user": lambda _c: GET_USER.compile(),
            "react": lambda c: react.compile(channel_id=c, message_id=9, emoji_name="👍"),
        }[kind](channel)
        driver.submit(at, request_id, compiled)
    driver.run()
    assert server.rejected == []
    assert driver.errors == []
    assert len(driver.completed) == len(requests)


@settings(max_examples=40, deadline=None)
@given(
    burst=st.integers(min_value=51, max_value=200),
    latencies=st.lists(st.floats(min_value=0.0005, max_value=0.015), min_size=2, max_size=8),
)
def test_burst_across_many_buckets_stays_under_the_global_limit(burst: int, latencies: list[float]) -> None:
    server = SimServer(route_buckets={CREATE_MESSAGE.name: ("msg", 5, 5.0)}, global_limit=50)
    driver = Driver(
        RateLimitPlanner(),
        server,
        latency=lambda i: (latencies[i % len(latencies)], latencies[(i + 1) % len(latencies)]),
    )
    for i in range(burst):
        driver.submit(0.0, i, CREATE_MESSAGE.compile(channel_id=i))
    driver.run()
    assert server.rejected == []
    assert len(driver.completed) == burst


@settings(max_examples=40, deadline=None)
@given(
    scope=st.sampled_from(["user", "global", "shared"]),
    retry_after=st.floats(min_value=0.01, max_value=20.0),
    count=st.integers(min_value=1, max_value=20),
)
def test_no_request_is_retried_before_retry_after_whatever_the_scope(
    scope: str, retry_after: float, count: int
) -> None:
    """The server answers 429 once to every request; each retry must wait out its retry_after."""
    answered: set[int] = set()

    def first_time_429(at: float, compiled: object) -> tuple[int, dict[str, str], object] | None:
        key = id(compiled)
        if key in answered:
            return None
        answered.add(key)
        headers = {"x-ratelimit-scope": scope}
        if scope == "global":
            headers["x-ratelimit-global"] = "true"
        return 429, headers, {"message": "slow down", "retry_after": retry_after, "global": scope == "global"}

    server = SimServer(route_buckets={}, override=first_time_429)
    driver = Driver(RateLimitPlanner(), server)
    for i in range(count):
        driver.submit(i * 0.01, i, CREATE_MESSAGE.compile(channel_id=i % 3))
    driver.run()
    assert driver.early_retries == 0
    assert len(driver.completed) == count
    retried = [s for s in driver.sent if s.status == 200]
    for sent in retried:
        assert sent.start >= driver.not_before[sent.request_id] - 1e-9


def test_known_bucket_reaches_its_allowed_rate() -> None:
    """One channel, 5 per second: 100 queued messages take about 20 windows, with no 429."""
    server = SimServer(route_buckets={CREATE_MESSAGE.name: ("msg", 5, 1.0)})
    driver = Driver(RateLimitPlanner(), server, latency=lambda _i: (0.001, 0.001))
    for i in range(100):
        driver.submit(0.0, i, CREATE_MESSAGE.compile(channel_id=1))
    driver.run()
    assert server.rejected == []
    finished = max(driver.completed.values())
    # 20 windows of 1 s (the first opens at 0); each window boundary costs at most one round trip.
    assert 19.0 <= finished <= 19.0 + 20 * 0.01


def test_reaction_changes_share_a_bucket_before_discord_says_so() -> None:
    """Adding then removing a reaction must not provoke the 429 an unknown DELETE route would."""
    add = route("PUT", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    remove = route("DELETE", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me")
    planner = RateLimitPlanner()
    first = planner.acquire(add.compile(channel_id=1, message_id=2, emoji_name="x"), 0.0)
    queued = planner.acquire(remove.compile(channel_id=1, message_id=2, emoji_name="x"), 0.0)
    assert queued.state is TicketState.QUEUED  # same pseudo bucket as the addition
    planner.complete(first, ok(bucket="reacts", remaining=0, reset_after=0.25, limit=1), 0.01)
    assert queued.state is TicketState.HELD
    assert queued.not_before == pytest.approx(0.26 + M)
    assert queued.bucket.key == ("reacts", ("1",))


def test_hash_learned_elsewhere_does_not_bypass_a_request_still_in_flight() -> None:
    """Channel 2 teaches the hash while channel 1's first request is still out: channel 1's next one waits."""
    planner = RateLimitPlanner()
    in_flight = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    other = planner.acquire(CREATE_MESSAGE.compile(channel_id=2), 0.0)
    planner.complete(other, ok(bucket="msgs", remaining=4), 0.05)
    follower = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.06)
    assert follower.state is TicketState.QUEUED
    assert planner.complete(in_flight, ok(bucket="msgs", remaining=0, reset_after=1.0), 0.1) == [follower]
    assert follower.bucket.key == ("msgs", ("1",))
    assert follower.not_before == pytest.approx(1.1 + M)


def test_user_429_retry_after_wins_over_route_headers() -> None:
    planner = RateLimitPlanner()
    ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.0)
    limited = Outcome.from_response(
        429,
        {"x-ratelimit-bucket": "msgs", "x-ratelimit-remaining": "3", "x-ratelimit-reset-after": "5.0",
         "x-ratelimit-scope": "user"},
        {"retry_after": 0.25, "global": False},
    )  # fmt: skip
    planner.complete(ticket, limited, 0.1)
    retry = planner.acquire(CREATE_MESSAGE.compile(channel_id=1), 0.1)
    assert retry.not_before == pytest.approx(0.35 + M)


def test_idle_reset_buckets_are_forgotten() -> None:
    planner = RateLimitPlanner(LimiterConfig(sweep_every=1, bucket_idle_ttl=60.0))
    for channel in range(50):
        ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=channel), 0.0)
        planner.complete(ticket, ok(bucket="msgs", remaining=4, reset_after=5.0), 0.1)
    assert planner.bucket_count() == 50
    ticket = planner.acquire(CREATE_MESSAGE.compile(channel_id=999), 100.0)  # triggers a sweep
    assert planner.bucket_count() == 1 and ticket.state is TicketState.HELD


def test_unknown_webhook_is_not_called_again() -> None:
    followup = route("POST", "/webhooks/{webhook_id}/{webhook_token}")
    planner = RateLimitPlanner()
    ticket = planner.acquire(followup.compile(webhook_id=1, webhook_token="expired"), 0.0)
    planner.complete(
        ticket, Outcome.from_response(404, {}, {"code": 10015, "message": "Unknown Webhook"}), 0.1
    )
    with pytest.raises(NotFound) as raised:
        planner.acquire(followup.compile(webhook_id=1, webhook_token="expired"), 0.2)
    assert raised.value.code == 10015
    planner.acquire(followup.compile(webhook_id=1, webhook_token="fresh"), 0.2)  # other tokens still work


def test_global_429_postpones_start_slots_already_reserved() -> None:
    planner = RateLimitPlanner()
    tickets = [planner.acquire(CREATE_MESSAGE.compile(channel_id=c), 0.0) for c in range(60)]
    late = tickets[55]
    assert late.start_at is not None and late.start_at > 1.0  # reserved in the second global window
    planner.complete(tickets[0], too_many("global", 5.0, bucket=None), 0.05)
    assert late.start_at >= 5.05


@settings(max_examples=50, deadline=None)
@given(
    requests=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=2.0), st.integers(min_value=1, max_value=4)),
        min_size=1,
        max_size=80,
    ),
    faults=st.lists(
        st.tuples(st.integers(min_value=0, max_value=100), st.sampled_from(["user", "global", "shared"])),
        max_size=6,
    ),
    retry_after=st.floats(min_value=0.01, max_value=3.0),
)
def test_learned_buckets_plus_injected_429s_only_the_injected_ones_are_rejected(
    requests: list[tuple[float, int]], faults: list[tuple[int, str]], retry_after: float
) -> None:
    """Real buckets and the global limit, plus 429s forced on chosen requests: nothing else is ever rejected,
    no retry leaves early, and everything completes."""
    forced = dict(faults)
    seen = 0
    forced_count = 0

    def inject(at: float, compiled: object) -> tuple[int, dict[str, str], object] | None:
        nonlocal seen, forced_count
        seen += 1
        scope = forced.get(seen)
        if scope is None:
            return None
        forced_count += 1
        headers = {"x-ratelimit-scope": scope}
        if scope == "global":
            headers["x-ratelimit-global"] = "true"
        return 429, headers, {"message": "x", "retry_after": retry_after, "global": scope == "global"}

    server = SimServer(route_buckets={CREATE_MESSAGE.name: ("msg", 3, 0.5)}, global_limit=50, override=inject)
    driver = Driver(RateLimitPlanner(), server, latency=lambda i: (0.002 + (i % 5) * 0.003, 0.004))
    for request_id, (at, channel) in enumerate(requests):
        driver.submit(at, request_id, CREATE_MESSAGE.compile(channel_id=channel))
    driver.run()
    assert server.rejected == []  # the model's own limits were never hit; only injected 429s happened
    assert driver.early_retries == 0
    assert len(driver.completed) == len(requests)
    assert sum(1 for s in driver.sent if s.status == 429) == forced_count


def test_config_from_a_rate_per_second() -> None:
    assert (LimiterConfig.for_rate(50.0).global_limit, LimiterConfig.for_rate(50.0).global_period) == (
        50,
        1.0,
    )
    slow = LimiterConfig.for_rate(0.5, max_wait=10.0)
    assert (slow.global_limit, slow.global_period, slow.max_wait) == (1, 2.0, 10.0)
    with pytest.raises(ValueError, match="positive"):
        LimiterConfig.for_rate(0)
