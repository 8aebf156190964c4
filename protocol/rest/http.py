"""The HTTP exchange under `RestClient`: httpcore's connection pool on trio, with corked writes.

Why not ``httpx.AsyncClient``: its client layer (URL merging, cookies, auth flows, redirects, event hooks,
request/response model conversion) does nothing a bot needs and cost more CPU than the exchange itself in
``bench/rest/bench_client.py``. We keep httpx's own engine, httpcore: pooled keep-alive connections, TLS,
timeouts, h11 parsing.

Why corked writes: httpcore writes a request's head and its body with two socket sends. On loopback the send
syscall (which also wakes the receiving process) dominated the profile, and over TLS to Discord each send is
its own TLS record and TCP segment. `CorkedBackend` wraps the network stream so that writes are buffered and
flushed as one send just before the first read — HTTP/1.1 without ``Expect: 100-continue`` always writes the
whole request before reading, so nothing waits longer than it would have.

Headers are passed as prebuilt lists of byte pairs (``Host``, ``Authorization``, ``User-Agent``...) so a
request costs no header normalisation on our side; ``Content-Length`` is the only per-request header.

The ``timeout`` parameters below are httpcore's backend interface (ASYNC109 does not apply).
"""

# ruff: noqa: ASYNC109
from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

import httpcore

__all__ = ["TRANSPORT_ERRORS", "CorkedBackend", "HttpExchange"]

#: What a failed exchange raises (connection refused/reset, timeouts, malformed HTTP).
TRANSPORT_ERRORS: Final = (
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    OSError,
)


class _CorkedStream(httpcore.AsyncNetworkStream):
    __slots__ = ("_inner", "_pending")

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._pending: list[bytes] = []

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self._pending.append(buffer)

    async def _flush(self, timeout: float | None) -> None:
        if self._pending:
            data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
            self._pending.clear()
            await self._inner.write(data, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        await self._flush(timeout)
        return await self._inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._pending.clear()
        await self._inner.aclose()

    async def start_tls(
        self, ssl_context: object, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        return _CorkedStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))  # type: ignore[arg-type]

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class CorkedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's trio backend whose streams coalesce writes until the next read."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.TrioBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)  # type: ignore[arg-type]
        return _CorkedStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[object] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(path, timeout, socket_options)  # type: ignore[arg-type]
        return _CorkedStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class HttpExchange:
    """One pooled HTTP/1.1 client for one API base (scheme, host and port fixed at construction)."""

    __slots__ = ("_pool", "_timeouts", "host_header", "origin")

    def __init__(
        self,
        api_base: str,
        *,
        timeout: float,
        max_connections: int = 100,
        keepalive: int = 50,
        pool: httpcore.AsyncConnectionPool | None = None,
    ) -> None:
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"API base must be an http(s) URL, got {api_base!r}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host_header = parts.netloc.encode("ascii")
        self._timeouts = {"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}}
        self._pool = pool or httpcore.AsyncConnectionPool(
            max_connections=max_connections,
            max_keepalive_connections=keepalive,
            keepalive_expiry=30.0,
            retries=1,  # a connect failure is retried once before it surfaces
            network_backend=CorkedBackend(),
        )

    async def send(
        self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]], content: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; returns (status, lower-cased headers, body). Raises `TRANSPORT_ERRORS`."""
        if content is not None:
            headers = [*headers, (b"Content-Length", str(len(content)).encode())]
        elif method in (b"POST", b"PUT", b"PATCH"):
            headers = [*headers, (b"Content-Length", b"0")]
        request = httpcore.Request(
            method, url, headers=headers, content=content or b"", extensions=self._timeouts
        )
        response = await self._pool.handle_async_request(request)
        try:
            body = await response.aread()
        finally:
            await response.aclose()
        response_headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in response.headers
        }
        return response.status, response_headers, body

    async def aclose(self) -> None:
        await self._pool.aclose()
