"""Server-side rate-limit maths: buckets, shared buckets, major parameters, the global limit, forced 429s."""

from __future__ import annotations

from protocol.emulator.config import EmulatorConfig, RouteLimit
from protocol.emulator.ratelimits import ForcedLimit, ServerRateLimiter, bucket_hash

MESSAGES = "/channels/{channel_id}/messages"


def limiter(**overrides: object) -> ServerRateLimiter:
    config = EmulatorConfig(
        route_limits={
            f"POST {MESSAGES}": RouteLimit(3, 2.0, bucket="messages"),
            "PATCH /channels/{channel_id}/messages/{message_id}": RouteLimit(3, 2.0, bucket="messages"),
        },
        **overrides,  # type: ignore[arg-type]
    )
    return ServerRateLimiter(config)


def headers_of(verdict: object) -> dict[str, str]:
    return dict(verdict.headers)  # type: ignore[attr-defined]


def test_remaining_counts_down_then_429_with_retry_after_until_reset() -> None:
    rl = limiter()
    seen = [headers_of(rl.check("POST", MESSAGES, "1", interaction=False, now=10.0)) for _ in range(3)]
    assert [h["X-RateLimit-Remaining"] for h in seen] == ["2", "1", "0"]
    assert all(h["X-RateLimit-Limit"] == "3" for h in seen)
    assert seen[0]["X-RateLimit-Bucket"] == bucket_hash("messages")
    assert float(seen[0]["X-RateLimit-Reset-After"]) == 2.0

    limited = rl.check("POST", MESSAGES, "1", interaction=False, now=11.5)
    assert limited.limited
    assert limited.scope == "user"
    assert abs(limited.retry_after - 0.5) < 1e-9
    body = limited.body()
    assert body["global"] is False and body["retry_after"] == 0.5
    assert headers_of(limited)["X-RateLimit-Scope"] == "user"

    after_reset = rl.check("POST", MESSAGES, "1", interaction=False, now=12.0)
    assert not after_reset.limited
    assert headers_of(after_reset)["X-RateLimit-Remaining"] == "2"


def test_major_parameter_separates_buckets_and_shared_bucket_joins_routes() -> None:
    rl = limiter()
    for _ in range(3):
        assert not rl.check("POST", MESSAGES, "1", interaction=False, now=0.0).limited
    # another channel: its own window
    assert not rl.check("POST", MESSAGES, "2", interaction=False, now=0.0).limited
    # the edit route shares the "messages" bucket for channel 1, which is exhausted
    edit = rl.check("PATCH", "/channels/{channel_id}/messages/{message_id}", "1", interaction=False, now=0.1)
    assert edit.limited
    assert rl.limited_count == 1


def test_global_limit_applies_across_routes_but_not_to_interactions() -> None:
    rl = limiter(global_limit_per_second=5, default_route_limit=RouteLimit(100, 1.0))
    for index in range(5):
        assert not rl.check("GET", "/users/{user_id}", str(index), interaction=False, now=0.0).limited
    blocked = rl.check("GET", "/guilds/{guild_id}", "9", interaction=False, now=0.5)
    assert blocked.limited and blocked.scope == "global"
    assert headers_of(blocked)["X-RateLimit-Global"] == "true"
    assert blocked.body()["global"] is True
    assert abs(blocked.retry_after - 0.5) < 1e-9
    callback = "/interactions/{interaction_id}/{interaction_token}/callback"
    assert not rl.check("POST", callback, "77", interaction=True, now=0.5).limited
    # one second after the first requests the sliding window has room again
    assert not rl.check("GET", "/guilds/{guild_id}", "9", interaction=False, now=1.0).limited


def test_forced_limits_match_route_and_are_spent() -> None:
    rl = limiter()
    rl.force(ForcedLimit(MESSAGES, "shared", 7.5), count=2)
    other = rl.check("GET", "/users/{user_id}", "1", interaction=False, now=0.0)
    assert not other.limited
    first = rl.check("POST", MESSAGES, "1", interaction=False, now=0.0)
    assert first.limited and first.scope == "shared" and first.retry_after == 7.5
    assert first.body()["message"] == "The resource is being rate limited."
    assert headers_of(first)["Retry-After"] == "8"
    assert rl.check("POST", MESSAGES, "1", interaction=False, now=0.0).limited
    assert not rl.check("POST", MESSAGES, "1", interaction=False, now=0.0).limited
