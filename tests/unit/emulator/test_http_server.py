"""The h11 connection loop over an in-memory stream: keep-alive, pipelining, close, and upgrade hand-off."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from protocol.emulator.http_server import (
    HttpRequest,
    HttpResponse,
    make_request,
    serve_http_connection,
    websocket_accept,
)


async def echo_handler(request: HttpRequest) -> HttpResponse:
    body = f"{request.method} {request.path} {request.query} {request.body.decode()}".encode()
    return HttpResponse(
        200, body, (("x-seen", request.headers.get("x-test", "")),), content_type="text/plain"
    )


async def read_until(stream: trio.abc.Stream, marker: bytes, count: int = 1) -> bytes:
    data = b""
    with trio.fail_after(5):
        while data.count(marker) < count:
            chunk = await stream.receive_some(65536)
            if not chunk:
                break
            data += chunk
    return data


async def test_keep_alive_and_pipelined_requests_share_one_connection() -> None:
    client, server = trio.testing.memory_stream_pair()
    upgrades: list[HttpRequest] = []

    async def on_upgrade(stream: trio.abc.Stream, request: HttpRequest, trailing: bytes) -> None:
        upgrades.append(request)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_http_connection, server, echo_handler, on_upgrade)
        await client.send_all(
            b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Test: one\r\n\r\n"
            b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody"
        )
        data = await read_until(client, b"HTTP/1.1 200", 2)
        assert data.count(b"HTTP/1.1 200") == 2
        assert b"GET /a {'x': '1'} " in data
        assert b"POST /b {} body" in data
        assert b"x-seen: one" in data
        await client.send_all(b"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        last = await read_until(client, b"GET /c")
        assert b"GET /c" in last
        # the server closes after a "Connection: close" request
        with trio.fail_after(5):
            assert await client.receive_some(100) == b""
    assert upgrades == []


async def test_websocket_upgrade_is_answered_and_handed_off_with_trailing_bytes() -> None:
    client, server = trio.testing.memory_stream_pair()
    handed: list[tuple[HttpRequest, bytes]] = []

    async def on_upgrade(stream: trio.abc.Stream, request: HttpRequest, trailing: bytes) -> None:
        handed.append((request, trailing))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_http_connection, server, echo_handler, on_upgrade)
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        await client.send_all(
            b"GET /resume?v=10 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key.encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x00"
        )
        response = await read_until(client, b"\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 101")
    assert websocket_accept(key).encode() in response
    assert websocket_accept(key) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3 example
    ((request, trailing),) = handed
    assert request.path == "/resume" and request.raw_query == "v=10"
    assert trailing == b"\x81\x00"


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40))
def test_request_target_is_split_like_urlsplit(tail: str) -> None:
    """The shortcut for query-less targets gives exactly what urlsplit and parse_qsl give, for any target
    either codec lets through (visible ASCII)."""
    for target in ("/" + tail, tail):
        try:
            parts = urlsplit(target)
        except ValueError:  # "//[": an invalid authority, refused the same way
            with pytest.raises(ValueError):
                make_request("get", target, {}, b"")
            continue
        request = make_request("get", target, {}, b"")
        assert request.method == "GET"
        assert (request.path, request.raw_query) == (parts.path, parts.query)
        assert request.query == dict(parse_qsl(parts.query, keep_blank_values=True))
