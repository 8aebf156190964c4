"""Outbound limiter, reconnect backoff, identify queue timing (MockClock) and the session start limit."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from protocol.gateway.backoff import FullJitterBackoff
from protocol.gateway.identify import (
    GatewayBotInfo,
    InMemoryIdentifyQueue,
    SessionStartLimit,
    SessionStartLimitError,
    check_session_start_limit,
)
from protocol.gateway.outbound import OutboundLimiter


def test_outbound_limit_keeps_room_for_heartbeats() -> None:
    limiter = OutboundLimiter(limit=120, window=60.0, reserved=3)
    for i in range(117):
        assert limiter.try_acquire(float(i) * 0.01) == 0.0
    wait = limiter.try_acquire(2.0)
    assert wait > 0  # ordinary commands stop at 117
    # ...but heartbeats still go, up to the hard limit of 120
    for _ in range(3):
        assert limiter.try_acquire(2.0, priority=True) == 0.0
    assert limiter.try_acquire(2.0, priority=True) > 0
    assert limiter.in_window(2.0) == 120


def test_outbound_wait_is_exact_and_window_slides() -> None:
    limiter = OutboundLimiter(limit=5, window=10.0, reserved=1)
    for t in (0.0, 1.0, 2.0, 3.0):
        assert limiter.try_acquire(t) == 0.0
    wait = limiter.try_acquire(4.0)
    assert wait == pytest.approx(6.0)  # the send at t=0 leaves the window at t=10
    assert limiter.try_acquire(4.0 + wait) == 0.0


def test_outbound_never_exceeds_limit_in_any_window() -> None:
    limiter = OutboundLimiter(limit=120, window=60.0, reserved=3)
    now = 0.0
    sent: list[float] = []
    while len(sent) < 400:
        priority = len(sent) % 10 == 0
        wait = limiter.try_acquire(now, priority=priority)
        if wait:
            now += wait
            continue
        sent.append(now)
    for i, t in enumerate(sent):
        in_window = [x for x in sent[: i + 1] if x > t - 60.0]
        assert len(in_window) <= 120


def test_outbound_rejects_bad_reserve() -> None:
    with pytest.raises(ValueError):
        OutboundLimiter(limit=3, reserved=3)


def test_backoff_full_jitter_bounds() -> None:
    backoff = FullJitterBackoff(base=1.0, cap=30.0, random=lambda: 0.999999)
    ceilings = []
    for _ in range(10):
        ceilings.append(backoff.ceiling())
        delay = backoff.next_delay()
        assert 0.0 <= delay <= ceilings[-1]
    assert ceilings[:6] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0]
    assert max(ceilings) == 30.0
    zero = FullJitterBackoff(random=lambda: 0.0)
    assert zero.next_delay() == 0.0  # full jitter reaches the bottom of the range
    backoff.reset()
    assert backoff.ceiling() == 1.0


async def test_identify_buckets_one_per_5s_in_parallel(autojump_clock: trio.testing.MockClock) -> None:
    queue = InMemoryIdentifyQueue(max_concurrency=2, interval=5.0)
    granted: dict[int, float] = {}
    start = trio.current_time()

    async def identify(shard_id: int) -> None:
        await queue.acquire(shard_id)
        granted[shard_id] = trio.current_time() - start

    async with trio.open_nursery() as nursery:
        for shard_id in range(6):
            nursery.start_soon(identify, shard_id)
            await trio.sleep(0)  # arrival order = shard order
    # bucket 0: shards 0, 2, 4; bucket 1: shards 1, 3, 5 — both buckets at the same times
    assert granted == {0: 0.0, 1: 0.0, 2: 5.0, 3: 5.0, 4: 10.0, 5: 10.0}


async def test_identify_after_idle_is_immediate(autojump_clock: trio.testing.MockClock) -> None:
    queue = InMemoryIdentifyQueue(max_concurrency=1)
    await queue.acquire(0)
    await trio.sleep(7.0)
    before = trio.current_time()
    await queue.acquire(0)
    assert trio.current_time() == before


def test_session_start_limit_error_is_clear() -> None:
    limit = SessionStartLimit(total=1000, remaining=3, reset_after=7200.0, max_concurrency=1)
    check_session_start_limit(limit, 3)
    with pytest.raises(SessionStartLimitError, match=r"only 3 more session starts.*4 shard\(s\).*7200 s"):
        check_session_start_limit(limit, 4)


def test_gateway_bot_payload() -> None:
    info = GatewayBotInfo.from_payload(
        {
            "url": "wss://gateway.discord.gg",
            "shards": 2,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 14400000,
                "max_concurrency": 4,
            },
        }
    )
    assert info.shards == 2
    assert info.session_start_limit.reset_after == 14400.0
    assert info.session_start_limit.max_concurrency == 4
    with pytest.raises(ValueError, match="malformed"):
        GatewayBotInfo.from_payload({"url": "x"})
