"""A small HTTP/1.1 server on trio streams with h11: keep-alive, and WebSocket upgrade hand-off.

Why our own and not an ASGI server: the emulator must run inside a test's trio nursery on an ephemeral port,
start in milliseconds, and serve REST and the gateway on the same port (Discord's gateway URL comes from
``GET /gateway/bot``, so one port keeps configuration to one address). h11 does the parsing; this module only
runs the connection loop: read a request, call the handler, write the response, start the next cycle.

A request with ``Upgrade: websocket`` is answered with ``101 Switching Protocols`` here (the accept key is the
RFC 6455 hash) and the stream, the request and any bytes already read after it are handed to the WebSocket
handler, which speaks frames with wsproto's low-level ``Connection``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

import attrs
import h11
import trio

logger = logging.getLogger(__name__)

_WS_MAGIC = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_BODY = 16 * 1024 * 1024


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


HttpHandler = Callable[[HttpRequest], Awaitable[HttpResponse]]
WebSocketHandler = Callable[[trio.abc.Stream, HttpRequest, bytes], Awaitable[None]]


def websocket_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1(key.encode() + _WS_MAGIC).digest()).decode()  # noqa: S324


def _parse_request(event: h11.Request, body: bytes) -> HttpRequest:
    target = event.target.decode("latin-1")
    parts = urlsplit(target)
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in event.headers}
    return HttpRequest(
        method=event.method.decode("ascii").upper(),
        path=parts.path,
        query=dict(parse_qsl(parts.query, keep_blank_values=True)),
        headers=headers,
        body=body,
        raw_query=parts.query,
    )


def _is_websocket_upgrade(request: HttpRequest) -> bool:
    return (
        request.headers.get("upgrade", "").lower() == "websocket"
        and "upgrade" in request.headers.get("connection", "").lower()
    )


async def serve_http_connection(
    stream: trio.abc.Stream, handle_http: HttpHandler, handle_websocket: WebSocketHandler
) -> None:
    """Run one client connection until it closes (or is upgraded and handed off)."""
    connection = h11.Connection(h11.SERVER)
    try:
        while True:
            request = await _read_request(stream, connection)
            if request is None:
                return
            if _is_websocket_upgrade(request):
                await _upgrade(stream, connection, request, handle_websocket)
                return
            try:
                response = await handle_http(request)
            except DropConnection:
                return
            await _write_response(stream, connection, response)
            if connection.our_state is h11.MUST_CLOSE or connection.their_state is h11.MUST_CLOSE:
                return
            connection.start_next_cycle()
    except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError) as error:
        logger.debug("http connection ended: %r", error)
    finally:
        with trio.move_on_after(1) as scope:
            scope.shield = True
            await stream.aclose()


async def _read_request(stream: trio.abc.Stream, connection: h11.Connection) -> HttpRequest | None:
    request_event: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await stream.receive_some(65536)
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


async def _write_response(
    stream: trio.abc.Stream, connection: h11.Connection, response: HttpResponse
) -> None:
    headers = [("content-length", str(len(response.body))), ("server", "twi-bot-shard-emulator")]
    if response.from_edge:
        # Discord's edge adds this; discord.py treats a 429 without it as a Cloudflare ban.
        headers.append(("via", "1.1 google"))
    headers.extend(response.headers)
    if response.body:
        headers.append(("content-type", response.content_type))
    reason = b"" if response.status != 429 else b"TOO MANY REQUESTS"
    data = connection.send(h11.Response(status_code=response.status, headers=headers, reason=reason))
    if response.body:
        data = (data or b"") + (connection.send(h11.Data(data=response.body)) or b"")
    data = (data or b"") + (connection.send(h11.EndOfMessage()) or b"")
    await stream.send_all(data)


async def _upgrade(
    stream: trio.abc.Stream,
    connection: h11.Connection,
    request: HttpRequest,
    handle_websocket: WebSocketHandler,
) -> None:
    key = request.headers.get("sec-websocket-key")
    if not key:
        await _write_response(stream, connection, HttpResponse(400, b'{"message": "missing key", "code": 0}'))
        return
    response = h11.InformationalResponse(
        status_code=101,
        headers=[
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-accept", websocket_accept(key)),
        ],
        reason=b"Switching Protocols",
    )
    await stream.send_all(connection.send(response) or b"")
    trailing, _closed = connection.trailing_data
    await handle_websocket(stream, request, bytes(trailing))
