"""The HTTP exchange under `RestClient`: our own keep-alive pool of h11 connections on trio streams.

Why not ``httpx.AsyncClient``: its client layer (URL merging, cookies, auth flows, redirects, event hooks,
request/response model conversion) does nothing a bot needs and cost more CPU than the exchange itself in
``bench/rest/bench_client.py``.

Why not httpcore's pool (httpx's engine) either: it finds a connection for a request by scanning every
connection it holds (``_assign_requests_to_connections`` asks each one ``is_idle``/``has_expired``), on every
request and every release. A bot answering 100 interactions at once holds ~100 connections, so the scan is
quadratic in concurrency: in the interactions benchmark it was a fifth to a third of the bot's CPU. Here the
idle connections of the single origin sit in a deque: acquiring pops the most recently used one (warm, least
likely to have been closed by the server), releasing appends it — O(1) either way. A semaphore caps the number
of open connections.

One request on a connection: the head and the body are serialised by h11 and written with ONE send (on
loopback the send syscall dominated; over TLS each send is its own record and segment), then the response is
read with 64 KB receives. A connection goes back to the pool only when both sides finished the exchange
cleanly and the server did not ask to close; anything else closes it. A keep-alive connection the server has
closed in the meantime fails on first use with no response byte read: that request is retried once on a fresh
connection (it never reached the server's application, so the retry is safe even for POST).

Headers are passed as prebuilt lists of byte pairs (``Host``, ``Authorization``, ``User-Agent``...) so a
request costs no header normalisation on our side; ``Content-Length`` is the only per-request header. TLS
(``https`` bases: real Discord) uses `trio.SSLStream` with the default verified context.
"""

from __future__ import annotations

import collections
import contextlib
import ssl
from typing import Final
from urllib.parse import urlsplit

import h11
import trio

__all__ = ["TRANSPORT_ERRORS", "HttpExchange", "TransportError"]

_READ_SIZE: Final = 65_536


class TransportError(Exception):
    """The exchange failed below HTTP: connection refused or reset, timeout, malformed response."""


#: What a failed exchange raises (the client retries these with backoff).
TRANSPORT_ERRORS: Final = (TransportError, OSError, trio.BrokenResourceError, h11.ProtocolError)


class _StaleConnectionError(TransportError):
    """A reused keep-alive connection was closed by the server before any response byte arrived."""


class _Connection:
    """One HTTP/1.1 connection: a trio stream and its h11 state machine."""

    __slots__ = ("h11", "stream", "used")

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)
        self.used = False

    async def exchange(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], content: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        conn = self.h11
        reused = self.used
        self.used = True
        out = conn.send(h11.Request(method=method, target=target, headers=headers))
        if content:
            out = (out or b"") + (conn.send(h11.Data(data=content)) or b"")
        out = (out or b"") + (conn.send(h11.EndOfMessage()) or b"")
        await self.stream.send_all(out)
        status = 0
        response_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []
        received_any = False
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.stream.receive_some(_READ_SIZE)
                if not data and reused and not received_any:
                    raise _StaleConnectionError("the server closed the kept-alive connection")
                received_any = received_any or bool(data)
                conn.receive_data(bytes(data))
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                response_headers = list(event.headers)
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return status, response_headers, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed):
                raise TransportError("the server closed the connection mid-response")
            # h11.InformationalResponse (1xx) is skipped: the final response follows

    @property
    def reusable(self) -> bool:
        conn = self.h11
        if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
            return False
        conn.start_next_cycle()
        return True

    async def aclose(self) -> None:
        with trio.move_on_after(1) as scope:
            scope.shield = True
            with contextlib.suppress(OSError, trio.BrokenResourceError):
                await self.stream.aclose()


class HttpExchange:
    """One pooled HTTP/1.1 client for one API base (scheme, host and port fixed at construction)."""

    __slots__ = (
        "_closed",
        "_host",
        "_idle",
        "_keepalive",
        "_limit",
        "_port",
        "_prefix_len",
        "_ssl",
        "_timeout",
        "host_header",
        "origin",
    )

    def __init__(
        self,
        api_base: str,
        *,
        timeout: float,
        max_connections: int = 100,
        keepalive: int = 50,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(api_base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"API base must be an http(s) URL, got {api_base!r}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.host_header = parts.netloc.encode("ascii")
        self._prefix_len = len(self.origin)
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._timeout = timeout
        self._limit = trio.Semaphore(max_connections)
        self._keepalive = keepalive
        self._idle: collections.deque[_Connection] = collections.deque()
        self._closed = False

    async def _open(self) -> _Connection:
        stream: trio.abc.Stream = await trio.open_tcp_stream(self._host, self._port)
        if self._ssl is not None:
            tls = trio.SSLStream(stream, self._ssl, server_hostname=self._host, https_compatible=True)
            await tls.do_handshake()
            stream = tls
        return _Connection(stream)

    async def send(
        self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]], content: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; returns (status, lower-cased headers, body). Raises `TRANSPORT_ERRORS`."""
        if self._closed:
            raise TransportError("the HTTP client is closed")
        body = content or b""
        if body or method in (b"POST", b"PUT", b"PATCH"):
            headers = [*headers, (b"Content-Length", str(len(body)).encode())]
        target = url[self._prefix_len :] if url.startswith(b"http") else url
        try:
            with trio.fail_after(self._timeout):
                async with self._limit:
                    status, raw_headers, data = await self._send_pooled(method, target, headers, body)
        except trio.TooSlowError:
            raise TransportError(f"no response within {self._timeout:g} s") from None
        response_headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in raw_headers
        }
        return status, response_headers, data

    async def _send_pooled(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        while True:
            connection = self._idle.pop() if self._idle else await self._open()
            try:
                result = await connection.exchange(method, target, headers, body)
            except _StaleConnectionError:
                await connection.aclose()
                continue  # nothing reached the server's application: retry on another connection
            except BaseException:
                await connection.aclose()
                raise
            if connection.reusable and len(self._idle) < self._keepalive and not self._closed:
                self._idle.append(connection)
            else:
                await connection.aclose()
            return result

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            await self._idle.pop().aclose()
