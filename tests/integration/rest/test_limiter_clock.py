"""The limiters' waiting (sleeps, queues, cancellation) under trio's MockClock, without sockets.

Requests go to the model server of the unit tests (`tests.unit.rest.discord_sim.SimServer`) at the virtual
instant they are sent, so whole minutes of rate-limit windows run in milliseconds and every instant is exact.
Both limiters are exercised: the in-process one and the actor under the real supervision runtime.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio
import trio.testing

from actors.ratelimiter import ActorRateLimiter, RateLimiterActor
from protocol.rest import LimiterConfig, LocalRateLimiter, Outcome, RateLimiter, RateLimitTooLong, route
from protocol.rest.routes import CompiledRoute
from supervision import ChildSpec, SupervisorSpec, open_runtime
from tests.unit.rest.discord_sim import SimServer

CREATE = route("POST", "/channels/{channel_id}/messages")
LATENCY = 0.02


@asynccontextmanager
async def limiter_of(kind: str, config: LimiterConfig | None = None) -> AsyncIterator[RateLimiter]:
    config = config or LimiterConfig()
    if kind == "local":
        yield LocalRateLimiter(config=config)
        return
    spec = SupervisorSpec(id="root", children=[ChildSpec(id="rl", factory=lambda: RateLimiterActor(config))])
    async with open_runtime(spec) as runtime:
        yield ActorRateLimiter(runtime.ref("root/rl"), max_wait=config.max_wait)


@pytest.fixture(params=["local", "actor"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def send(limiter: RateLimiter, server: SimServer, compiled: CompiledRoute, starts: list[float]) -> None:
    """One request as RestClient sends it: permit, wire (half latency each way), complete, retry on 429."""
    while True:
        permit = await limiter.acquire(compiled)
        starts.append(trio.current_time())
        await trio.sleep(LATENCY / 2)
        status, headers, body = server.handle(trio.current_time(), compiled)
        await trio.sleep(LATENCY / 2)
        outcome = Outcome.from_response(status, headers, body)
        permit.complete(outcome)
        if status != 429:
            return


async def test_bucket_windows_are_used_fully_and_never_overrun(
    kind: str, autojump_clock: trio.testing.MockClock
) -> None:
    server = SimServer(route_buckets={CREATE.name: ("msgs", 5, 5.0)})
    starts: list[float] = []
    async with limiter_of(kind) as limiter:
        begin = trio.current_time()
        async with trio.open_nursery() as nursery:
            for _ in range(20):
                nursery.start_soon(send, limiter, server, CREATE.compile(channel_id=1), starts)
        elapsed = trio.current_time() - begin
    assert server.rejected == []
    assert len(starts) == 20
    # 20 messages at 5 per 5 s: four windows. Each window change costs one round trip (the reset is counted
    # from the server's answer) plus the planner's reset margin; the last window's 5 requests go one round
    # trip apart (one request in flight per bucket). Exactly that, and nothing more, under virtual time.
    margin = LimiterConfig().reset_margin
    assert elapsed == pytest.approx(15.0 + 3 * (LATENCY + margin) + 5 * LATENCY)


async def test_global_limit_under_virtual_time(kind: str, autojump_clock: trio.testing.MockClock) -> None:
    server = SimServer(route_buckets={CREATE.name: ("msgs", 5, 5.0)}, global_limit=50)
    starts: list[float] = []
    async with limiter_of(kind) as limiter, trio.open_nursery() as nursery:
        for channel in range(175):
            nursery.start_soon(send, limiter, server, CREATE.compile(channel_id=channel), starts)
    assert server.rejected == []
    starts.sort()
    assert all(starts[i + 50] - starts[i] >= 1.0 for i in range(len(starts) - 50))
    assert starts[-1] - starts[0] < 3 * 1.02 + 0.1  # 175 requests need 4 slots of 50: about 3 periods


async def test_cancelling_a_sleeping_holder_hands_the_bucket_on(
    kind: str, autojump_clock: trio.testing.MockClock
) -> None:
    server = SimServer(route_buckets={CREATE.name: ("msgs", 1, 10.0)})
    starts: list[float] = []
    async with limiter_of(kind) as limiter:
        await send(limiter, server, CREATE.compile(channel_id=1), starts)  # bucket now exhausted for 10 s
        with trio.move_on_after(2.0):  # this one holds the bucket, asleep until the reset
            await send(limiter, server, CREATE.compile(channel_id=1), starts)
        await send(limiter, server, CREATE.compile(channel_id=1), starts)
    assert server.rejected == []
    assert len(starts) == 2
    assert starts[1] - starts[0] >= 10.0


async def test_queue_wait_beyond_max_wait_raises(kind: str, autojump_clock: trio.testing.MockClock) -> None:
    server = SimServer(route_buckets={CREATE.name: ("msgs", 1, 600.0)})
    starts: list[float] = []
    async with limiter_of(kind, LimiterConfig(max_wait=60.0)) as limiter:
        await send(limiter, server, CREATE.compile(channel_id=1), starts)
        with pytest.raises(RateLimitTooLong):
            await send(limiter, server, CREATE.compile(channel_id=1), starts)
        # The refusal left nothing locked: another channel goes straight through.
        await send(limiter, server, CREATE.compile(channel_id=2), starts)
    assert len(starts) == 2 and server.rejected == []
