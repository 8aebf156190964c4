"""The HTTP exchange under `RestClient`: our own keep-alive pool of HTTP/1.1 connections on trio streams.

Why not ``httpx.AsyncClient``: its client layer (URL merging, cookies, auth flows, redirects, event hooks,
request/response model conversion) does nothing a bot needs and cost more CPU than the exchange itself in
``bench/rest/bench_client.py``.

Why not httpcore's pool (httpx's engine) either: it finds a connection for a request by scanning every
connection it holds (``_assign_requests_to_connections`` asks each one ``is_idle``/``has_expired``), on every
request and every release. A bot answering 100 interactions at once holds ~100 connections, so the scan is
quadratic in concurrency: in the interactions benchmark it was a fifth to a third of the bot's CPU. Here the
idle connections of the single origin sit in a deque: acquiring pops the most recently used one (warm, least
likely to have been closed by the server), releasing appends it — O(1) either way. A semaphore caps the number
of open connections, and by default every one of them may stay idle in the pool: with a smaller idle limit
(it was 50 under a cap of 100) a burst of 100 concurrent interaction callbacks closed half its connections
on release and opened them again on the next burst, a TCP handshake on both sides each time
(``open_tcp_stream`` and ``getaddrinfo`` were ~2 % of the bot's samples in the closed-loop benchmark).

Why not h11 for the bytes: its per-event objects and header normalisation were ~10 % of the bot's CPU when
answering interactions. `protocol.rest.http11` is our small sans-IO HTTP/1.1 client codec (its docstring says
what it does, what it leaves out and how it stays safe): `encode_request` serialises a request in one join and
refuses CR/LF/NUL injection, `ResponseParser` takes the received bytes and returns the complete response.

One request on a connection: the request is encoded ONCE, before a connection is taken, and written with ONE
send (on loopback the send syscall dominated; over TLS each send is its own record and segment), then the
response is read with 64 KB receives and fed to a fresh `ResponseParser`. A connection goes back to the pool
only when the response was complete and well-formed and the server did not ask to close (nor delimit the body
by closing); anything else — a protocol error, a timeout, a cancellation — closes it. A keep-alive connection
the server has closed in the meantime fails on first use with no response byte read: that request is retried
on another connection, ultimately a fresh one (it never reached the server's application, so the retry is
safe even for POST).

**Timeouts without a cancel scope per request.** A request that gets no response within ``timeout`` fails with
`TransportError`. The obvious way, a cancel scope with a deadline around each request, costs trio 5 µs per
request (the scope's cancel status, and the deadline's registration and removal in the run loop) — a few
per cent of an interaction's CPU, for a timeout that almost never fires. Instead the exchange registers each
connection in use with its deadline (a dict entry), and one watchdog task checks them every quarter of the
timeout; a connection past its deadline is closed under its request, which then fails as a timeout (the
connection is never reused). So a timeout fires between ``timeout`` and ``1.25 * timeout`` after the request
started. The watchdog is a trio system task (the exchange has no nursery of its own): started by the first
request that finds none running, it ends once a check finds nothing in flight. The rare slow paths keep
ordinary deadlines: opening a connection (TCP connect, TLS handshake) and waiting for a free connection slot.

Headers are passed as prebuilt lists of byte pairs (``Host``, ``Authorization``, ``User-Agent``...) so a
request costs no header normalisation on our side; the codec adds ``Content-Length``, the only per-request
header. TLS (``https`` bases: real Discord) uses `trio.SSLStream` with the default verified context.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import logging
import ssl
from typing import Final
from urllib.parse import urlsplit

import trio

from protocol.rest.http11 import ProtocolError, ResponseParser, encode_request
from protocol.transport.direct import DirectSocketStream, open_direct_tcp_stream
from supervision.held import held

log = logging.getLogger(__name__)

__all__ = ["TRANSPORT_ERRORS", "HttpExchange", "TransportError"]

_READ_SIZE: Final = 65_536


class TransportError(Exception):
    """The exchange failed below HTTP: connection refused or reset, timeout, malformed response."""


#: What a failed exchange raises (the client retries these with backoff).
TRANSPORT_ERRORS: Final = (TransportError, OSError, trio.BrokenResourceError, ProtocolError)


class _StaleConnectionError(TransportError):
    """A reused keep-alive connection was closed by the server before any response byte arrived."""


class _Connection:
    """One HTTP/1.1 connection: a trio stream (``raw``: the TCP stream under it, the same one without TLS),
    whether it carried a request before, whether it may again, whether the watchdog timed it out."""

    __slots__ = ("raw", "reusable", "stream", "timed_out", "used")

    def __init__(self, stream: trio.abc.Stream, raw: DirectSocketStream) -> None:
        self.stream = stream
        self.raw = raw
        self.used = False
        self.reusable = False
        self.timed_out = False

    async def exchange(self, request: bytes, head: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Send the encoded ``request`` and read its response (``head``: it was a HEAD request)."""
        reused = self.used
        self.used = True
        self.reusable = False
        stream = self.stream
        await stream.send_all(request)
        self.raw.expect_wait()  # the response cannot be there yet: skip the recv that would find nothing
        parser = ResponseParser(head=head)
        data = await stream.receive_some(_READ_SIZE)
        if not data and reused:
            raise _StaleConnectionError("the server closed the kept-alive connection")
        while data:
            response = parser.feed(data)
            if response is not None:
                self.reusable = response.keep_alive
                return response.status, response.headers, response.body
            data = await stream.receive_some(_READ_SIZE)
        try:  # end of file: completes a body delimited by the close, else the response was cut short
            response = parser.feed_eof()
        except ProtocolError:
            raise TransportError("the server closed the connection mid-response") from None
        return response.status, response.headers, response.body

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
        "_in_flight",
        "_keepalive",
        "_limit",
        "_port",
        "_prefix_len",
        "_ssl",
        "_timeout",
        "_watching",
        "host_header",
        "origin",
    )

    def __init__(
        self,
        api_base: str,
        *,
        timeout: float,
        max_connections: int = 100,
        keepalive: int | None = None,
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
        self._keepalive = max_connections if keepalive is None else keepalive
        self._idle: collections.deque[_Connection] = collections.deque()
        self._in_flight: dict[_Connection, float] = {}  # connection in use -> its request's deadline
        self._watching = False
        self._closed = False

    async def _open(self, deadline: float) -> _Connection:
        raw: DirectSocketStream | None = None
        with trio.move_on_at(deadline):
            try:
                raw = await open_direct_tcp_stream(self._host, self._port)
                if self._ssl is None:
                    return _Connection(raw, raw)
                tls = trio.SSLStream(raw, self._ssl, server_hostname=self._host, https_compatible=True)
                await tls.do_handshake()
                return _Connection(tls, raw)
            except BaseException:
                if raw is not None:
                    await trio.aclose_forcefully(raw)
                raise
        raise TransportError(f"no connection within {self._timeout:g} s")

    async def send(
        self, method: bytes, url: bytes, headers: list[tuple[bytes, bytes]], content: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; returns (status, lower-cased headers, body). Raises `TRANSPORT_ERRORS`, or
        `ValueError` for a request that cannot be sent safely (CR, LF or NUL in the target or a header)."""
        if self._closed:
            raise TransportError("the HTTP client is closed")
        target = url[self._prefix_len :] if url.startswith(b"http") else url
        # Encoded once, before any connection is taken: a stale-connection retry resends the same bytes, and
        # an unsafe request (CR/LF/NUL in a header or the target) raises ValueError before anything is sent.
        request = encode_request(method, target, headers, content or b"")
        deadline = trio.current_time() + self._timeout
        try:
            async with held(self._limit, deadline=deadline):
                status, raw_headers, data = await self._send_pooled(request, method == b"HEAD", deadline)
        except trio.TooSlowError:
            raise TransportError(f"no connection free within {self._timeout:g} s") from None
        # names are already lower-case (the codec lowers them)
        response_headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in raw_headers}
        return status, response_headers, data

    async def _send_pooled(
        self, request: bytes, head: bool, deadline: float
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        in_flight = self._in_flight
        while True:
            connection = self._idle.pop() if self._idle else await self._open(deadline)
            in_flight[connection] = deadline
            if not self._watching:
                self._start_watchdog()
            try:
                result = await connection.exchange(request, head)
            except _StaleConnectionError:
                await connection.aclose()
                continue  # nothing reached the server's application: retry on another connection
            except BaseException:
                await connection.aclose()
                if connection.timed_out:
                    raise TransportError(f"no response within {self._timeout:g} s") from None
                raise
            finally:
                del in_flight[connection]
            if connection.reusable and len(self._idle) < self._keepalive and not self._closed:
                self._idle.append(connection)
            else:
                await connection.aclose()
            return result

    def _start_watchdog(self) -> None:
        self._watching = True
        # a fresh context: the watchdog must not carry the log fields of the request that happened to start it
        trio.lowlevel.spawn_system_task(self._watchdog, name="rest:timeouts", context=contextvars.Context())

    async def _watchdog(self) -> None:
        """Close each connection whose request is past its deadline; end once nothing is in flight."""
        try:
            period = self._timeout / 4
            while self._in_flight and not self._closed:
                await trio.sleep(period)
                now = trio.current_time()
                for connection, deadline in list(self._in_flight.items()):
                    if deadline <= now and not connection.timed_out:
                        connection.timed_out = True
                        await connection.raw.aclose()  # wakes the request's receive: it fails as a timeout
        except Exception:  # a system task's error would end the whole trio run
            log.exception("the REST timeout watchdog failed; it restarts with the next request")
        finally:
            self._watching = False

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            await self._idle.pop().aclose()
