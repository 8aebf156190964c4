"""A small HTTP/1.1 server on trio streams: keep-alive, WebSocket upgrade hand-off, and a choice of codec.

Why our own and not an ASGI server: the emulator must run inside a test's trio nursery on an ephemeral port,
start in milliseconds, and serve REST and the gateway on the same port (Discord's gateway URL comes from
``GET /gateway/bot``, so one port keeps configuration to one address). This module only runs the connection
loop: read a request, call the handler, write the response, start the next cycle.

Two codecs parse the requests and write the responses, chosen per connection (``EmulatorConfig.http_codec``):

* ``"h11"`` (the default): h11, a complete and strict implementation written by others, so every test that
  talks to the emulator also checks the client's HTTP against an independent reading of the RFCs.
* ``"fast"``: `protocol.emulator.http_fast`, a lean codec of our own for the benchmarks, where the emulator
  runs in the driver process and h11 was a fifth of the driver's CPU. It rejects malformed requests with a
  ``400`` (``501`` for ``Transfer-Encoding``) through `RequestRejected`; see that module for what it accepts.

Both produce the same `HttpRequest` (`make_request` splits the target for both) and write the same response
headers (`response_headers`). A request with ``Upgrade: websocket`` is answered with ``101 Switching
Protocols`` here (the accept key is the RFC 6455 hash) and the stream, the request and any bytes already read
after it are handed to the WebSocket handler, which speaks frames with wsproto's low-level ``Connection``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Literal, Protocol, get_args
from urllib.parse import parse_qsl, urlsplit

import attrs
import h11
import orjson
import trio

logger = logging.getLogger(__name__)

_WS_MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_BODY = 16 * 1024 * 1024
SERVER_NAME: Final = "twi-bot-shard-emulator"
RECEIVE_SIZE: Final = 65536

HttpCodec = Literal["h11", "fast"]
HTTP_CODECS: Final[tuple[HttpCodec, ...]] = get_args(HttpCodec)


@attrs.frozen(slots=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""


@attrs.frozen(slots=True)
class HttpResponse:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = "application/json"
    # Responses from Discord's API pass its edge (``Via``); a Cloudflare block does not.
    from_edge: bool = True


class DropConnection(Exception):  # noqa: N818 - a control signal, not an error
    """Raised by a handler to end the connection without any response (a network failure)."""


class RequestRejected(Exception):  # noqa: N818 - named for what the server does with it
    """A codec refuses a request: the server answers ``status`` (400 unless said otherwise) and closes."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def response(self) -> HttpResponse:
        body = orjson.dumps({"message": f"{self.status}: {self.args[0]}", "code": 0})
        return HttpResponse(self.status, body, from_edge=False)


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
WebSocketHandler = Callable[[trio.abc.Stream, HttpRequest, bytes], Awaitable[None]]


def websocket_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + _WS_MAGIC).digest()).decode()  # noqa: S324


def make_request(method: str, target: str, headers: dict[str, str], body: bytes) -> HttpRequest:
    """The `HttpRequest` of a parsed request (``headers`` already lower-cased), whichever codec parsed it."""
    if target.startswith("/") and not target.startswith("//") and "?" not in target and "#" not in target:
        # The usual origin-form target without a query: exactly what urlsplit gives, without its cost.
        return HttpRequest(method.upper(), target, {}, headers, body, "")
    parts = urlsplit(target)
    return HttpRequest(
        method=method.upper(),
        path=parts.path,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        raw_query=parts.query,
    )


def response_headers(response: HttpResponse) -> list[tuple[str, str]]:
    """The header fields every response carries, in order (the codec adds ``Connection`` when it closes)."""
    headers = [("content-length", str(len(response.body))), ("server", SERVER_NAME)]
    if response.from_edge:
        # Discord's edge adds this; discord.py treats a 429 without it as a Cloudflare ban.
        headers.append(("via", "1.1 google"))
    headers.extend(response.headers)
    if response.body:
        headers.append(("content-type", response.content_type))
    return headers


def switching_protocols_headers(accept: str) -> list[tuple[str, str]]:
    """The header fields of the ``101 Switching Protocols`` answer to a WebSocket upgrade."""
    return [("upgrade", "websocket"), ("connection", "Upgrade"), ("sec-websocket-accept", accept)]


def _parse_request(event: h11.Request, body: bytes) -> HttpRequest:
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in event.headers}
    return make_request(event.method.decode("ascii"), event.target.decode("latin-1"), headers, body)


def _is_websocket_upgrade(request: HttpRequest) -> bool:
    return (
        request.headers.get("upgrade", "").lower() == "websocket"
        and "upgrade" in request.headers.get("connection", "").lower()
    )


class ServerConnection(Protocol):
    """One connection's HTTP/1.1 state as the loop drives it, whichever codec reads and writes the bytes."""

    async def read_request(self, stream: trio.abc.Stream) -> HttpRequest | None:
        """The next complete request, or None when the client closed between requests."""

    def encode_response(self, response: HttpResponse) -> bytes:
        """The bytes of ``response`` to the request just read."""

    def encode_switching_protocols(self, accept: str) -> bytes:
        """The bytes of the ``101`` answer to the WebSocket upgrade just read."""

    def trailing_data(self) -> bytes:
        """Bytes received after the end of the request just read (the first frames after an upgrade)."""

    def start_next_cycle(self) -> bool:
        """Get ready for the next request; False when the connection must close instead."""


async def serve_http_connection(
    stream: trio.abc.Stream,
    handle_http: HttpHandler,
    handle_websocket: WebSocketHandler,
    codec: HttpCodec = "h11",
) -> None:
    """Run one client connection until it closes (or is upgraded and handed off)."""
    connection = _open_connection(codec)
    try:
        while True:
            request = await connection.read_request(stream)
            if request is None:
                return
            if _is_websocket_upgrade(request):
                await _upgrade(stream, connection, request, handle_websocket)
                return
            try:
                response = await handle_http(request)
            except DropConnection:
                return
            await stream.send_all(connection.encode_response(response))
            if not connection.start_next_cycle():
                return
    except RequestRejected as error:
        logger.debug("http request rejected with %d: %s", error.status, error)
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(connection.encode_response(error.response()))
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError) as error:
        logger.debug("http connection ended: %r", error)
    finally:
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await stream.aclose()


def _open_connection(codec: HttpCodec) -> ServerConnection:
    if codec == "fast":
        # Imported here because http_fast builds this module's requests, so it imports this module.
        from protocol.emulator.http_fast import FastServerConnection

        return FastServerConnection()
    if codec == "h11":
        return _H11Connection()
    raise ValueError(f"unknown HTTP codec {codec!r} (expected one of {HTTP_CODECS})")


async def _upgrade(
    stream: trio.abc.Stream,
    connection: ServerConnection,
    request: HttpRequest,
    handle_websocket: WebSocketHandler,
) -> None:
    key = request.headers.get("sec-websocket-key")
    if not key:
        missing = HttpResponse(400, b'{"message": "missing key", "code": 0}')
        await stream.send_all(connection.encode_response(missing))
        return
    await stream.send_all(connection.encode_switching_protocols(websocket_accept(key)))
    await handle_websocket(stream, request, connection.trailing_data())


class _H11Connection:
    """The default codec: h11's server-side connection, strict about everything the client sends."""

    def __init__(self) -> None:
        self._h11 = h11.Connection(h11.SERVER)

    async def read_request(self, stream: trio.abc.Stream) -> HttpRequest | None:
        connection = self._h11
        request_event: h11.Request | None = None
        body = bytearray()
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await stream.receive_some(RECEIVE_SIZE)
                connection.receive_data(bytes(data))
                continue
            if event is h11.PAUSED:
                # A request asking to switch protocols: h11 pauses after its end of message.
                if request_event is None:
                    return None
                return _parse_request(request_event, bytes(body))
            if isinstance(event, h11.Request):
                request_event = event
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > MAX_BODY:
                    raise h11.RemoteProtocolError("body too large")
            elif isinstance(event, h11.EndOfMessage):
                if request_event is None:
                    return None
                return _parse_request(request_event, bytes(body))
            elif isinstance(event, h11.ConnectionClosed):
                return None

    def encode_response(self, response: HttpResponse) -> bytes:
        connection = self._h11
        reason = b"" if response.status != 429 else b"TOO MANY REQUESTS"
        head = h11.Response(status_code=response.status, headers=response_headers(response), reason=reason)
        data = connection.send(head) or b""
        if response.body:
            data += connection.send(h11.Data(data=response.body)) or b""
        return data + (connection.send(h11.EndOfMessage()) or b"")

    def encode_switching_protocols(self, accept: str) -> bytes:
        response = h11.InformationalResponse(
            status_code=101, headers=switching_protocols_headers(accept), reason=b"Switching Protocols"
        )
        return self._h11.send(response) or b""

    def trailing_data(self) -> bytes:
        trailing, _closed = self._h11.trailing_data
        return bytes(trailing)

    def start_next_cycle(self) -> bool:
        connection = self._h11
        if connection.our_state is h11.MUST_CLOSE or connection.their_state is h11.MUST_CLOSE:
            return False
        connection.start_next_cycle()
        return True
