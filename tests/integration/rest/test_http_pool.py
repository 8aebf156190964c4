"""The keep-alive pool under `RestClient` (`protocol.rest.http.HttpExchange`) against a raw loopback server
whose connection behaviour each test chooses: reuse, a server that silently drops kept-alive connections,
``Connection: close``, and a server that never answers; and the same pool over TLS (``https`` bases, as for
real Discord: `trio.SSLStream` on our direct socket stream)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import pytest
import trio
import trio.testing

from protocol.rest import CertificateRejected, RestClient
from protocol.rest.http import TRANSPORT_ERRORS, HttpExchange
from protocol.rest.limiter import LocalRateLimiter
from tests.fixtures.tls import SelfSigned

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"


class RawServer:
    """Answers each GET with ``{}``; ``mode`` decides what happens to the connection afterwards."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.connections = 0
        self.requests = 0
        self.port = 0

    async def serve(self, stream: trio.abc.Stream) -> None:
        self.connections += 1
        buffer = b""
        async with stream:
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    buffer += data
                _, buffer = buffer.split(b"\r\n\r\n", 1)
                self.requests += 1
                if self.mode == "silent" or (self.mode == "silent-second" and self.requests == 2):
                    await trio.sleep_forever()
                if self.mode == "close-header":
                    await stream.send_all(OK + b"Connection: close\r\n\r\n{}")
                    return
                await stream.send_all(OK + b"\r\n{}")
                if self.mode == "drop-after-response":  # keep-alive promised, then dropped silently
                    return


@asynccontextmanager
async def raw_server(mode: str) -> AsyncIterator[RawServer]:
    server = RawServer(mode)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server.serve, 0, host="127.0.0.1"))
        server.port = listeners[0].socket.getsockname()[1]
        yield server
        nursery.cancel_scope.cancel()


async def get(exchange: HttpExchange, port: int, scheme: str = "http") -> int:
    headers = [(b"Host", f"127.0.0.1:{port}".encode())]
    status, response_headers, body = await exchange.send(
        b"GET", f"{scheme}://127.0.0.1:{port}/api/v10/users/@me".encode(), headers, None
    )
    assert body == b"{}" and response_headers["content-type"] == "application/json"
    return status


async def test_sequential_requests_reuse_one_connection() -> None:
    async with raw_server("keep-alive") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=5)
        for _ in range(10):
            assert await get(exchange, server.port) == 200
        await exchange.aclose()
    assert server.requests == 10
    assert server.connections == 1


async def test_a_kept_alive_connection_the_server_dropped_is_retried_on_a_fresh_one() -> None:
    async with raw_server("drop-after-response") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=5)
        for _ in range(3):
            assert await get(exchange, server.port) == 200
            await trio.sleep(0.01)  # let the server's close arrive before the next request
        await exchange.aclose()
    assert server.requests == 3  # each request reached the server exactly once
    assert server.connections == 3


async def test_connection_close_is_honoured() -> None:
    async with raw_server("close-header") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=5)
        for _ in range(3):
            assert await get(exchange, server.port) == 200
        await exchange.aclose()
    assert server.connections == 3


async def test_concurrent_requests_open_at_most_max_connections() -> None:
    async with raw_server("keep-alive") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=5, max_connections=4)
        async with trio.open_nursery() as nursery:
            for _ in range(40):
                nursery.start_soon(get, exchange, server.port)
        await exchange.aclose()
    assert server.requests == 40
    assert 1 <= server.connections <= 4


async def _bursts(exchange: HttpExchange, port: int, bursts: int, size: int) -> None:
    for _ in range(bursts):
        async with trio.open_nursery() as nursery:
            for _ in range(size):
                nursery.start_soon(get, exchange, port)


async def test_repeated_bursts_reuse_their_connections_by_default() -> None:
    async with raw_server("keep-alive") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=5, max_connections=60)
        await _bursts(exchange, server.port, bursts=5, size=60)
        await exchange.aclose()
    assert server.requests == 300
    # every connection a burst opened stays in the pool for the next one: none is closed and reopened
    # (the old default kept 50 idle under a cap of 100, and reopened the rest on every burst)
    assert server.connections <= 60


async def test_a_smaller_keepalive_closes_the_connections_beyond_it() -> None:
    async with raw_server("keep-alive") as server:
        exchange = HttpExchange(
            f"http://127.0.0.1:{server.port}/api/v10", timeout=5, max_connections=30, keepalive=5
        )
        await _bursts(exchange, server.port, bursts=5, size=30)
        await exchange.aclose()
    assert server.requests == 150
    assert server.connections > 30  # each burst reopened what the last one closed


async def test_a_server_that_never_answers_is_a_transport_error_at_the_timeout() -> None:
    async with raw_server("silent") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=0.2)
        with pytest.raises(TRANSPORT_ERRORS, match=r"no response within 0\.2 s"):
            await get(exchange, server.port)
        await exchange.aclose()


def task_names() -> set[str]:
    """The names of every task of this trio run (system tasks included)."""
    names: set[str] = set()
    pending = [trio.lowlevel.current_root_task()]
    while pending:
        task = pending.pop()
        if task is not None:
            names.add(task.name)
            pending += [child for nursery in task.child_nurseries for child in nursery.child_tasks]
    return names


async def test_a_stalled_request_on_a_kept_alive_connection_times_out_and_the_connection_is_dropped() -> None:
    """The timeout closes the connection under the request (no cancel scope per request): the request fails
    between its timeout and 1.25 times it, the connection is not reused, and the timeout task ends when
    nothing is in flight any more."""
    async with raw_server("silent-second") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=0.4)
        assert await get(exchange, server.port) == 200  # the first request is answered, kept alive
        assert "rest:timeouts" in task_names()
        started = trio.current_time()
        with pytest.raises(TRANSPORT_ERRORS, match=r"no response within 0\.4 s"):
            await get(exchange, server.port)  # the second one, on the same connection, never is
        assert 0.4 <= trio.current_time() - started < 0.4 * 1.25 + 0.2
        assert await get(exchange, server.port) == 200  # on a fresh connection
        assert server.connections == 2
        await trio.sleep(0.4)  # a quarter of the timeout, and then some: the timeout task has ended
        assert "rest:timeouts" not in task_names()
        await exchange.aclose()


async def test_waiting_for_a_connection_slot_is_bounded_by_the_request_deadline() -> None:
    async with raw_server("silent") as server:
        exchange = HttpExchange(f"http://127.0.0.1:{server.port}/api/v10", timeout=0.3, max_connections=1)
        errors: list[str] = []

        async def request() -> None:
            try:
                await get(exchange, server.port)
            except TRANSPORT_ERRORS as error:
                errors.append(str(error))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(request)  # takes the only connection, gets no answer
            await trio.testing.wait_all_tasks_blocked()
            nursery.start_soon(request)  # waits for the slot, past its own deadline
        await exchange.aclose()
    assert sorted(errors) == ["no connection free within 0.3 s", "no response within 0.3 s"]


async def test_a_refused_connection_is_a_transport_error() -> None:
    async with raw_server("keep-alive") as server:
        port = server.port
    exchange = HttpExchange(f"http://127.0.0.1:{port}/api/v10", timeout=2)
    with pytest.raises(TRANSPORT_ERRORS):
        await get(exchange, port)
    await exchange.aclose()


@asynccontextmanager
async def tls_server(self_signed: SelfSigned) -> AsyncIterator[tuple[RawServer, int]]:
    """A keep-alive `RawServer` behind TLS with the self-signed certificate; yields it and its port."""
    server = RawServer("keep-alive")

    async def serve(stream: trio.abc.Stream) -> None:
        with contextlib.suppress(trio.BrokenResourceError):  # a refusing client aborts its handshake
            await server.serve(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, serve, 0, self_signed.server_context(), host="127.0.0.1")
        )
        yield server, listeners[0].transport_listener.socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def test_https_requests_reuse_one_tls_connection_and_the_certificate_is_verified(
    self_signed: SelfSigned,
) -> None:
    async with tls_server(self_signed) as (server, port):
        base = f"https://127.0.0.1:{port}/api/v10"
        exchange = HttpExchange(base, timeout=5, ssl_context=self_signed.trusting_client_context())
        for _ in range(5):
            assert await get(exchange, port, "https") == 200
        await exchange.aclose()
        assert server.requests == 5 and server.connections == 1
        untrusting = HttpExchange(base, timeout=5)  # the system trust store: a self-signed server is refused
        with pytest.raises(TRANSPORT_ERRORS) as refused:
            await get(untrusting, port, "https")
        assert "CERTIFICATE_VERIFY_FAILED" in repr(refused.value.__cause__ or refused.value)
        await untrusting.aclose()


async def test_a_rejected_certificate_fails_the_rest_call_at_once_instead_of_being_retried(
    self_signed: SelfSigned,
) -> None:
    """A dropped connection is retried with backoff; a certificate that fails verification is not: no retry
    can fix it, and the operator should see why at once, not after five backed-off attempts."""
    async with tls_server(self_signed) as (server, port):
        base = f"https://127.0.0.1:{port}/api/v10"
        async with RestClient(base, "token", LocalRateLimiter()) as rest:  # the system trust store
            with pytest.raises(CertificateRejected) as rejected:
                await rest.request("GET", "/users/@me")
        assert server.connections == 1  # one handshake: not retried
        assert "certificate" in str(rejected.value) and "/users/@me" in str(rejected.value)
        assert "127.0.0.1" not in str(rejected.value).split("(")[0]  # the route template, not the URL
        assert server.requests == 0
        trusting = HttpExchange(base, timeout=5, ssl_context=self_signed.trusting_client_context())
        async with RestClient(base, "token", LocalRateLimiter(), http=trusting) as rest:
            assert await rest.request("GET", "/users/@me") == {}
        assert server.requests == 1
