"""Per-request CPU of the REST path, side by side in one run (DESIGN §6).

Usage: ``python -m bench.rest.bench_client [--requests N] [--rounds R] [--json FILE]``

Variants, each sending sequential ``POST /channels/{id}/messages`` to a keep-alive server in another process
(so only the client's CPU is counted, with ``time.process_time``):

* ``httpx_client``: ``httpx.AsyncClient.post(url, json=..., headers=...)`` — the obvious way, no limiter;
* ``httpx_transport``: httpx's transport driven directly with a prebuilt header dict, no limiter;
* ``exchange_only``: our `HttpExchange` (keep-alive pool, our HTTP/1.1 codec, one write) with prebuilt
  headers, no limiter;
* ``rest_local``: `RestClient.create_message` with the in-process `LocalRateLimiter` (our whole path);
* ``rest_actor``: the same through the `RateLimiterActor` under the supervision runtime (one ``call`` and
  one ``tell`` per request);
* ``rest_no_io``: `RestClient` + `LocalRateLimiter` over a canned in-memory exchange: the CPU our own layer
  (routes, limiter, headers, JSON, telemetry) adds to each request, free of socket noise;
* ``planner_only``: `RateLimitPlanner.acquire` + ``complete`` with no I/O at all.

The machines are shared and noisy, so the variants run *interleaved*: R rounds, each sending N/R requests
per variant in turn, and the table shows the median round per variant (and the ratio to ``httpx_client``).
The global 50/s limit is lifted for the limiter variants: CPU, not waiting, is what is measured here.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import trio

from actors.ratelimiter import ActorRateLimiter, RateLimiterActor
from protocol.rest import LimiterConfig, LocalRateLimiter, Outcome, RateLimitPlanner, RestClient, route
from protocol.rest.http import HttpExchange
from supervision import ChildSpec, MailboxSpec, SupervisorSpec, open_runtime

TOKEN = "bench.token.value"
UNTHROTTLED = LimiterConfig(global_limit=10**9)
PAYLOAD = {"content": "hello", "embeds": [{"title": "bench", "description": "x" * 64}]}
PLANNER_HEADERS = {
    "x-ratelimit-bucket": "bench",
    "x-ratelimit-limit": "1000000",
    "x-ratelimit-remaining": "999999",
    "x-ratelimit-reset-after": "60.0",
}

One = Callable[[int], Awaitable[Any]]
CANNED_BODY = b'{"id":"1","channel_id":"1","content":"hello","author":{"id":"2","username":"bot"}}'


class _CannedExchange(HttpExchange):
    """Answers every request at once from memory (one checkpoint, like a real await)."""

    async def send(
        self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]], content: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        await trio.lowlevel.checkpoint()
        return 200, {"content-type": "application/json", **PLANNER_HEADERS}, CANNED_BODY


async def _variants(stack: AsyncExitStack, base: str) -> dict[str, One]:
    client = await stack.enter_async_context(httpx.AsyncClient())
    auth = {"Authorization": f"Bot {TOKEN}"}

    async def httpx_client(i: int) -> Any:
        response = await client.post(f"{base}/channels/{i % 10}/messages", json=PAYLOAD, headers=auth)
        return orjson.loads(response.content)

    transport = await stack.enter_async_context(httpx.AsyncHTTPTransport())
    prebuilt = {**auth, "Content-Type": "application/json"}

    async def httpx_transport(i: int) -> Any:
        url = f"{base}/channels/{i % 10}/messages"
        request = httpx.Request("POST", url, headers=prebuilt, content=orjson.dumps(PAYLOAD))
        response = await transport.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        return orjson.loads(body)

    exchange = HttpExchange(base, timeout=10.0)
    stack.push_async_callback(exchange.aclose)
    raw = [(b"Host", exchange.host_header), (b"Authorization", f"Bot {TOKEN}".encode())]
    raw.append((b"Content-Type", b"application/json"))

    async def exchange_only(i: int) -> Any:
        url = f"{base}/channels/{i % 10}/messages".encode()
        _status, _headers, body = await exchange.send(b"POST", url, raw, orjson.dumps(PAYLOAD))
        return orjson.loads(body)

    local = await stack.enter_async_context(RestClient(base, TOKEN, LocalRateLimiter(config=UNTHROTTLED)))

    async def rest_local(i: int) -> Any:
        return await local.create_message(i % 10, PAYLOAD)

    child = ChildSpec(
        id="ratelimiter", factory=lambda: RateLimiterActor(UNTHROTTLED), mailbox=MailboxSpec(capacity=4096)
    )
    runtime = await stack.enter_async_context(open_runtime(SupervisorSpec(id="root", children=[child])))
    limiter = ActorRateLimiter(runtime.ref("root/ratelimiter"))
    via_actor = await stack.enter_async_context(RestClient(base, TOKEN, limiter))

    async def rest_actor(i: int) -> Any:
        return await via_actor.create_message(i % 10, PAYLOAD)

    canned = _CannedExchange("http://canned.invalid/api/v10", timeout=1.0)
    no_io = await stack.enter_async_context(
        RestClient(canned.origin + "/api/v10", TOKEN, LocalRateLimiter(config=UNTHROTTLED), http=canned)
    )

    async def rest_no_io(i: int) -> Any:
        return await no_io.create_message(i % 10, PAYLOAD)

    return {
        "rest_no_io": rest_no_io,
        "httpx_client": httpx_client,
        "httpx_transport": httpx_transport,
        "exchange_only": exchange_only,
        "rest_local": rest_local,
        "rest_actor": rest_actor,
    }


def _planner_cpu(n: int) -> float:
    planner = RateLimitPlanner(UNTHROTTLED)
    create = route("POST", "/channels/{channel_id}/messages")
    outcome = Outcome.from_response(200, PLANNER_HEADERS)
    cpu0 = time.process_time()
    for i in range(n):
        ticket = planner.acquire(create.compile(channel_id=i % 10), i * 0.03)
        planner.complete(ticket, outcome, i * 0.03)
    return (time.process_time() - cpu0) / n * 1e6


async def run(n: int, rounds: int, port: int) -> list[dict[str, Any]]:
    base = f"http://127.0.0.1:{port}/api/v10"
    per_round = max(1, n // rounds)
    cpu: dict[str, list[float]] = {}
    rate: dict[str, list[float]] = {}
    async with AsyncExitStack() as stack:
        variants = await _variants(stack, base)
        for one in variants.values():  # warm up: connections, caches
            for i in range(100):
                await one(i)
        for _ in range(rounds):
            for name, one in variants.items():
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for i in range(per_round):
                    await one(i)
                cpu.setdefault(name, []).append((time.process_time() - cpu0) / per_round * 1e6)
                rate.setdefault(name, []).append(per_round / (time.perf_counter() - wall0))
    results = [
        {
            "variant": name,
            "requests": per_round * rounds,
            "cpu_us_per_request": statistics.median(cpu[name]),
            "requests_per_s": statistics.median(rate[name]),
        }
        for name in cpu
    ]
    results.append(
        {
            "variant": "planner_only",
            "requests": n * 10,
            "cpu_us_per_request": _planner_cpu(n * 10),
            "requests_per_s": None,
        }
    )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="requests per variant")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.rest.echo_server"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        results = trio.run(run, args.requests, args.rounds, port)
    finally:
        server.terminate()
        server.wait(timeout=10)
    baseline = next(r for r in results if r["variant"] == "httpx_client")["cpu_us_per_request"]
    print(f"{'variant':<16}{'cpu µs/req':>12}{'vs httpx_client':>18}{'req/s':>10}")
    for r in results:
        req_rate = f"{r['requests_per_s']:.0f}" if r["requests_per_s"] else "-"
        ratio = r["cpu_us_per_request"] / baseline
        print(f"{r['variant']:<16}{r['cpu_us_per_request']:>12.1f}{ratio:>18.2f}{req_rate:>10}")
    document = {
        "benchmark": "rest_client_cpu",
        "python": sys.version.split()[0],
        "command": " ".join(sys.argv),
        "results": results,
    }
    print(orjson.dumps(document).decode())
    if args.json:
        args.json.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
