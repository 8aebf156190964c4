"""RestClient end to end over real HTTP on loopback (a tiny h11 server), through both limiter kinds.

Every test runs twice: with the in-process `LocalRateLimiter` and with the `RateLimiterActor` under the real
supervision runtime, so the actor's message protocol (claim, start, complete, withdraw) is exercised for real.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
import trio

from actors.ratelimiter import ActorRateLimiter, LimiterStatus, RateLimiterActor, ratelimiter_child
from protocol.rest import (
    BadRequest,
    Forbidden,
    LimiterConfig,
    LocalRateLimiter,
    NotFound,
    PassThroughLimiter,
    RateLimiter,
    RateLimitTooLong,
    RestClient,
    RetryPolicy,
    ServerError,
    TokenRejected,
    Unauthorized,
)
from protocol.rest.limiter import Permit
from protocol.rest.routes import CompiledRoute
from supervision import ChildSpec, MailboxSpec, SupervisorSpec, open_runtime
from supervision.telemetry import Telemetry
from tests.integration.rest.tiny_server import Handler, TinyServer, tiny_server

TOKEN = "MTIz.secret-token-value.xyz"
Reply = tuple[int, dict[str, str], Any]
FAST_RETRY = RetryPolicy(max_retries=3, base=0.01, cap=0.04)


@asynccontextmanager
async def limiter_of(kind: str, config: LimiterConfig) -> AsyncIterator[RateLimiter]:
    if kind == "local":
        yield LocalRateLimiter(config=config)
        return
    spec = SupervisorSpec(
        id="root",
        children=[
            ChildSpec(
                id="ratelimiter",
                factory=lambda: RateLimiterActor(config),
                mailbox=MailboxSpec(capacity=4096),
            )
        ],
    )
    async with open_runtime(spec) as runtime:
        yield ActorRateLimiter(runtime.ref("root/ratelimiter"), max_wait=config.max_wait)


@pytest.fixture(params=["local", "actor"])
def limiter_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@asynccontextmanager
async def rest_against(
    handler: Handler, kind: str, config: LimiterConfig | None = None, telemetry: Telemetry | None = None
) -> AsyncIterator[tuple[RestClient, TinyServer]]:
    async with (
        tiny_server(handler) as server,
        limiter_of(kind, config or LimiterConfig()) as limiter,
        RestClient(server.base, TOKEN, limiter, telemetry=telemetry, retry=FAST_RETRY, timeout=10.0) as rest,
    ):
        yield rest, server


def bucket_headers(remaining: int, reset_after: float, bucket: str = "msgs") -> dict[str, str]:
    return {
        "x-ratelimit-bucket": bucket,
        "x-ratelimit-limit": "5",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset-after": f"{reset_after:.3f}",
    }


# ------------------------------------------------------------------------------------------------ basics


async def test_request_shapes_headers_and_parses_json(limiter_kind: str) -> None:
    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if method == "DELETE":
            return 204, {}, None
        return 200, bucket_headers(4, 1.0), {"id": "42", "echo": orjson.loads(body) if body else None}

    async with rest_against(handler, limiter_kind) as (rest, server):
        message = await rest.create_message(123, {"content": "hello"})
        assert message == {"id": "42", "echo": {"content": "hello"}}
        await rest.delete_message(123, 42, reason="clean up: spam ✓")
        await rest.get_messages(123, limit=10, before=7)
        await rest.add_reaction(123, 42, "👍")
        await rest.create_interaction_response(9, "itok/en", {"type": 1})
    first, deleted, listed, reaction, callback = server.seen
    assert (first.method, first.target) == ("POST", "/api/v10/channels/123/messages")
    assert first.headers["authorization"] == f"Bot {TOKEN}"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["user-agent"].startswith("DiscordBot (")
    assert deleted.headers["x-audit-log-reason"] == "clean up%3A spam %E2%9C%93"
    assert listed.target == "/api/v10/channels/123/messages?limit=10&before=7"
    assert reaction.target == "/api/v10/channels/123/messages/42/reactions/%F0%9F%91%8D/@me"
    # Token-in-path routes never carry the bot token; the path token is percent-encoded.
    assert callback.target == "/api/v10/interactions/9/itok%2Fen/callback"
    assert "authorization" not in callback.headers


async def test_errors_are_typed_with_discord_code_and_message(limiter_kind: str) -> None:
    answers = {
        "/api/v10/channels/1": (404, {"code": 10003, "message": "Unknown Channel"}),
        "/api/v10/channels/2": (403, {"code": 50013, "message": "Missing Permissions"}),
        "/api/v10/channels/3": (400, {"code": 50035, "message": "Invalid Form Body", "errors": {}}),
    }

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        status, payload = answers[path]
        return status, {}, payload

    async with rest_against(handler, limiter_kind) as (rest, _server):
        with pytest.raises(NotFound) as not_found:
            await rest.get_channel(1)
        with pytest.raises(Forbidden) as forbidden:
            await rest.get_channel(2)
        with pytest.raises(BadRequest):
            await rest.get_channel(3)
    assert (not_found.value.status, not_found.value.code) == (404, 10003)
    assert not_found.value.message == "Unknown Channel"
    assert not_found.value.route == "GET /channels/{channel_id}"
    assert forbidden.value.code == 50013


# ------------------------------------------------------------------------------------------------ limits


async def test_known_bucket_is_respected_without_any_429(limiter_kind: str) -> None:
    """A strict server bucket (3 per 0.3 s per channel): 9 concurrent sends must provoke no 429."""
    windows: dict[str, tuple[float, int]] = {}
    rejected = 0

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        nonlocal rejected
        now = trio.current_time()
        end, used = windows.get(path, (0.0, 0))
        if now >= end:
            end, used = now + 0.3, 0
        if used >= 3:
            rejected += 1
            retry = end - now
            return 429, bucket_headers(0, retry) | {"x-ratelimit-scope": "user"}, {"retry_after": retry}
        windows[path] = (end, used + 1)
        return 200, bucket_headers(3 - used - 1, end - now), {"id": "1"}

    async with rest_against(handler, limiter_kind) as (rest, server), trio.open_nursery() as nursery:
        for _ in range(9):
            nursery.start_soon(rest.create_message, 5, {"content": "x"})
    assert rejected == 0
    assert len(server.seen) == 9
    # Three windows were needed: the last request went out at least two periods after the first.
    assert server.seen[-1].at - server.seen[0].at >= 0.6 - 0.01


@pytest.mark.parametrize("scope", ["user", "shared", "global"])
async def test_429_is_retried_only_after_retry_after(limiter_kind: str, scope: str) -> None:
    calls = 0

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        nonlocal calls
        calls += 1
        if calls == 1:
            headers_out = {"x-ratelimit-scope": scope, "retry-after": "1"}
            if scope == "global":
                headers_out["x-ratelimit-global"] = "true"
            return 429, headers_out, {"message": "slow", "retry_after": 0.15, "global": scope == "global"}
        return 200, {}, {"id": "1"}

    telemetry = Telemetry()
    async with rest_against(handler, limiter_kind, telemetry=telemetry) as (rest, server):
        assert await rest.get_channel(1) == {"id": "1"}
    first, retry = server.seen
    assert retry.at - first.at >= 0.15
    assert telemetry.counter("shard_rest_ratelimited_total", "", ("scope",)).value(scope) == 1


class CountingLimiter:
    """A `LocalRateLimiter` that counts which routes asked it for a permit."""

    def __init__(self) -> None:
        self.inner = LocalRateLimiter()
        self.asked: list[str] = []

    @property
    def max_wait(self) -> float:
        return self.inner.max_wait

    async def acquire(self, route: CompiledRoute) -> Permit:
        self.asked.append(route.route.name)
        return await self.inner.acquire(route)


async def test_interaction_callbacks_skip_the_limiter_until_a_429() -> None:
    calls = 0

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        nonlocal calls
        calls += 1
        if calls == 2:  # the second callback is rate limited once
            limited = {"message": "slow", "retry_after": 0.2, "global": False}
            return 429, {"x-ratelimit-scope": "shared"}, limited
        return 200, {}, {"id": "1"} if "channels" in path else None

    limiter = CountingLimiter()
    async with tiny_server(handler) as server, RestClient(server.base, TOKEN, limiter) as rest:
        await rest.create_interaction_response(1, "tok", {"type": 1})
        await rest.create_interaction_response(2, "tok", {"type": 1})
        await rest.get_channel(5)
    callback_route = "POST /interactions/{interaction_id}/{interaction_token}/callback"
    # No permit for a first attempt at a callback; its retry after the 429 goes through the limiter.
    assert limiter.asked == [callback_route, "GET /channels/{channel_id}"]
    first, limited, retry, channel = server.seen
    assert [s.target for s in (first, limited, retry)] == [
        "/api/v10/interactions/1/tok/callback",
        "/api/v10/interactions/2/tok/callback",
        "/api/v10/interactions/2/tok/callback",
    ]
    assert retry.at - limited.at >= 0.2
    assert channel.target == "/api/v10/channels/5"


async def test_pass_through_limiter_still_never_retries_a_429_early() -> None:
    calls = 0

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        nonlocal calls
        calls += 1
        if calls == 1:
            return (
                429,
                {"x-ratelimit-scope": "user"},
                {"message": "slow", "retry_after": 0.2, "global": False},
            )
        return 200, {}, {"id": "1"}

    async with tiny_server(handler) as server, RestClient(server.base, TOKEN, PassThroughLimiter()) as rest:
        assert await rest.get_channel(1) == {"id": "1"}
    first, retry = server.seen
    assert retry.at - first.at >= 0.2


async def test_global_429_holds_back_other_routes(limiter_kind: str) -> None:
    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if path.endswith("/channels/1") and len([s for s in server_seen() if s.target == path]) == 1:
            body_out = {"message": "slow", "retry_after": 0.2, "global": True}
            return 429, {"x-ratelimit-global": "true", "x-ratelimit-scope": "global"}, body_out
        return 200, {}, {"ok": True}

    holder: list[TinyServer] = []

    def server_seen() -> list[Any]:
        return holder[0].seen

    async with rest_against(handler, limiter_kind) as (rest, server):
        holder.append(server)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(rest.get_channel, 1)
            await trio.sleep(0.05)
            nursery.start_soon(rest.get_guild, 77)  # another route, issued during the global pause
    limited = server.seen[0]
    others = [s for s in server.seen[1:] if s.target.endswith("/guilds/77")]
    assert others and others[0].at - limited.at >= 0.2


async def test_wait_beyond_max_wait_raises_rate_limit_too_long(limiter_kind: str) -> None:
    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        return 429, {"x-ratelimit-scope": "user"}, {"message": "slow", "retry_after": 3600.0, "global": False}

    async with rest_against(handler, limiter_kind, LimiterConfig(max_wait=5.0)) as (rest, server):
        with trio.fail_after(5):
            with pytest.raises(RateLimitTooLong):
                await rest.get_channel(1)
    assert len(server.seen) == 1


# ------------------------------------------------------------------------------------------------ failures


async def test_5xx_is_retried_with_backoff_then_succeeds(limiter_kind: str) -> None:
    statuses = [502, 500]

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if statuses:
            return statuses.pop(0), {}, {"message": "oops", "code": 0}
        return 200, {}, {"id": "9"}

    async with rest_against(handler, limiter_kind) as (rest, server):
        assert await rest.get_guild(1) == {"id": "9"}
    assert len(server.seen) == 3
    assert server.seen[1].at - server.seen[0].at >= FAST_RETRY.base / 2


async def test_5xx_gives_up_after_bounded_retries(limiter_kind: str) -> None:
    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        return 503, {}, {"message": "unavailable", "code": 0}

    async with rest_against(handler, limiter_kind) as (rest, server):
        with pytest.raises(ServerError) as raised:
            await rest.get_guild(1)
    assert raised.value.status == 503
    assert len(server.seen) == FAST_RETRY.max_retries + 1


async def test_401_stops_all_further_bot_token_requests(limiter_kind: str) -> None:
    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if "authorization" in headers:
            return 401, {}, {"message": "401: Unauthorized", "code": 0}
        return 204, {}, None

    async with rest_against(handler, limiter_kind) as (rest, server):
        with pytest.raises(Unauthorized):
            await rest.get_current_user()
        with pytest.raises(TokenRejected):
            await rest.create_message(1, {"content": "x"})
        # Interaction responses don't use the bot token and still work.
        await rest.create_interaction_response(1, "tok", {"type": 1})
    assert [s.target for s in server.seen] == ["/api/v10/users/@me", "/api/v10/interactions/1/tok/callback"]


async def test_cancelled_requests_release_their_bucket(limiter_kind: str) -> None:
    release = trio.Event()

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        if len(server_holder[0].seen) == 1:
            await release.wait()  # the first request hangs until we cancel it
        return 200, bucket_headers(4, 1.0), {"ok": True}

    server_holder: list[TinyServer] = []
    async with rest_against(handler, limiter_kind) as (rest, server):
        server_holder.append(server)
        async with trio.open_nursery() as nursery:
            in_flight = trio.CancelScope()
            queued = trio.CancelScope()

            async def send(scope: trio.CancelScope) -> None:
                with scope:
                    await rest.create_message(1, {"content": "x"})

            nursery.start_soon(send, in_flight)
            await trio.sleep(0.05)
            nursery.start_soon(send, queued)
            await trio.sleep(0.05)
            queued.cancel()  # waiting in the bucket's queue
            in_flight.cancel()  # on the wire
        release.set()
        with trio.fail_after(5):
            assert await rest.create_message(1, {"content": "after"}) == {"ok": True}


async def test_actor_reports_its_state() -> None:
    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        return 200, bucket_headers(4, 1.0), {"ok": True}

    telemetry = Telemetry()
    spec = SupervisorSpec(id="root", children=[ratelimiter_child(telemetry=telemetry)])
    async with tiny_server(handler) as server, open_runtime(spec) as runtime:
        ref = runtime.ref("root/ratelimiter")
        async with RestClient(server.base, TOKEN, ActorRateLimiter(ref)) as rest:
            await rest.create_message(1, {"content": "x"})
            await rest.create_message(2, {"content": "x"})
        status = await ref.call(LimiterStatus())
    assert status["buckets"] == 2
    assert status["queued"] == 0
    assert status["token_rejected"] is False
    assert telemetry.gauge("shard_rest_buckets", "").value() == 2


async def test_token_never_appears_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def handler(method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        nonlocal calls
        calls += 1
        if calls == 1:
            return 429, {"x-ratelimit-scope": "user"}, {"retry_after": 0.01}
        if calls == 2:
            return 500, {}, None
        return 404, {}, {"code": 10015, "message": "Unknown Webhook"}

    caplog.set_level(logging.DEBUG)
    async with rest_against(handler, "local") as (rest, _server):
        with pytest.raises(NotFound) as raised:
            await rest.execute_webhook(5, "webhook-secret-token", {"content": "x"})
    assert TOKEN not in caplog.text and "webhook-secret-token" not in caplog.text
    assert "webhook-secret-token" not in str(raised.value) and TOKEN not in repr(rest)
