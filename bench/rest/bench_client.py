"""Per-request CPU of the REST path, side by side in one run (DESIGN §6).

Usage: ``python -m bench.rest.bench_client [--requests N] [--json FILE]``

Variants, each sending N sequential ``POST /channels/{id}/messages`` to a keep-alive server in another
process (so only the client's CPU is counted, with ``time.process_time``):

* ``httpx_client``: ``httpx.AsyncClient.post(url, json=..., headers=...)`` — the obvious way, no limiter;
* ``transport_only``: httpx's transport driven directly with a prebuilt header dict, no limiter;
* ``exchange_only``: our `HttpExchange` (httpcore pool, corked writes) with prebuilt headers, no limiter;
* ``rest_local``: `RestClient.create_message` with the in-process `LocalRateLimiter` (our whole path);
* ``rest_actor``: the same through the `RateLimiterActor` under the supervision runtime (one ``call`` and
  one ``tell`` per request);
* ``planner_only``: `RateLimitPlanner.acquire` + ``complete`` with no I/O at all.

Prints a table and JSON (µs of CPU per request, requests per second of wall time).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
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
#: The global 50/s limit would make every variant with a limiter wait; CPU is what we measure here.
UNTHROTTLED = LimiterConfig(global_limit=10**9)
PAYLOAD = {"content": "hello", "embeds": [{"title": "bench", "description": "x" * 64}]}


async def _measure(name: str, n: int, one: Callable[[int], Awaitable[Any]]) -> dict[str, Any]:
    for i in range(min(200, n)):  # warm up: connections, caches
        await one(i)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for i in range(n):
        await one(i)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"variant": name, "requests": n, "cpu_us_per_request": cpu / n * 1e6, "requests_per_s": n / wall}


async def run(n: int, port: int) -> list[dict[str, Any]]:
    base = f"http://127.0.0.1:{port}/api/v10"
    results = []

    async with httpx.AsyncClient() as client:
        headers = {"Authorization": f"Bot {TOKEN}"}

        async def via_client(i: int) -> Any:
            response = await client.post(f"{base}/channels/{i % 10}/messages", json=PAYLOAD, headers=headers)
            return orjson.loads(response.content)

        results.append(await _measure("httpx_client", n, via_client))

    transport = httpx.AsyncHTTPTransport()
    prebuilt = {"Authorization": f"Bot {TOKEN}", "Content-Type": "application/json"}

    async def via_transport(i: int) -> Any:
        request = httpx.Request("POST", f"{base}/channels/{i % 10}/messages", headers=prebuilt,
                                content=orjson.dumps(PAYLOAD))  # fmt: skip
        response = await transport.handle_async_request(request)
        body = await response.aread()
        await response.aclose()
        return orjson.loads(body)

    results.append(await _measure("transport_only", n, via_transport))
    await transport.aclose()

    exchange = HttpExchange(base, timeout=10.0)
    raw_headers = [(b"Host", exchange.host_header), (b"Authorization", f"Bot {TOKEN}".encode()),
                   (b"Content-Type", b"application/json")]  # fmt: skip

    async def via_exchange(i: int) -> Any:
        url = f"{base}/channels/{i % 10}/messages".encode()
        _status, _headers, body = await exchange.send(b"POST", url, raw_headers, orjson.dumps(PAYLOAD))
        return orjson.loads(body)

    results.append(await _measure("exchange_only", n, via_exchange))
    await exchange.aclose()

    async with RestClient(base, TOKEN, LocalRateLimiter(config=UNTHROTTLED)) as rest:

        async def via_rest(i: int) -> Any:
            return await rest.create_message(i % 10, PAYLOAD)

        results.append(await _measure("rest_local", n, via_rest))

    spec = SupervisorSpec(
        id="root",
        children=[
            ChildSpec(
                id="ratelimiter",
                factory=lambda: RateLimiterActor(UNTHROTTLED),
                mailbox=MailboxSpec(capacity=4096),
            )
        ],
    )
    async with open_runtime(spec) as runtime:
        limiter = ActorRateLimiter(runtime.ref("root/ratelimiter"))
        async with RestClient(base, TOKEN, limiter) as rest:

            async def via_actor(i: int) -> Any:
                return await rest.create_message(i % 10, PAYLOAD)

            results.append(await _measure("rest_actor", n, via_actor))

    planner = RateLimitPlanner(UNTHROTTLED)
    create = route("POST", "/channels/{channel_id}/messages")
    outcome = Outcome.from_response(200, dict(HEADERS_FOR_PLANNER))
    cpu0 = time.process_time()
    for i in range(n * 10):
        ticket = planner.acquire(create.compile(channel_id=i % 10), i * 0.03)
        planner.complete(ticket, outcome, i * 0.03)
    cpu = time.process_time() - cpu0
    results.append({"variant": "planner_only", "requests": n * 10, "cpu_us_per_request": cpu / (n * 10) * 1e6,
                    "requests_per_s": None})  # fmt: skip
    return results


HEADERS_FOR_PLANNER = {
    "x-ratelimit-bucket": "bench",
    "x-ratelimit-limit": "1000000",
    "x-ratelimit-remaining": "999999",
    "x-ratelimit-reset-after": "60.0",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.rest.echo_server"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        results = trio.run(run, args.requests, port)
    finally:
        server.terminate()
        server.wait(timeout=10)
    baseline = next(r for r in results if r["variant"] == "httpx_client")["cpu_us_per_request"]
    print(f"{'variant':<16}{'cpu µs/req':>12}{'vs httpx_client':>18}{'req/s':>10}")
    for r in results:
        rate = f"{r['requests_per_s']:.0f}" if r["requests_per_s"] else "-"
        print(f"{r['variant']:<16}{r['cpu_us_per_request']:>12.1f}{r['cpu_us_per_request'] / baseline:>18.2f}"
              f"{rate:>10}")  # fmt: skip
    document = {"benchmark": "rest_client_cpu", "python": sys.version.split()[0], "results": results}
    print(orjson.dumps(document).decode())
    if args.json:
        args.json.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))


if __name__ == "__main__":
    main()
