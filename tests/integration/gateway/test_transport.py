"""The websocket client (protocol.transport) against a tiny in-test wsproto server on loopback."""

from __future__ import annotations

import contextlib
from functools import partial

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Pong, Request, TextMessage

from protocol.transport import (
    CertificateRejectedError,
    ConnectionClosedError,
    HandshakeError,
    TransportError,
    open_websocket,
)
from protocol.transport.websocket import connect_websocket
from tests.fixtures.tls import SelfSigned
from tests.integration.gateway.wsserver import ServerSide, tiny_server


async def test_text_binary_and_fragmented_messages_with_query_string() -> None:
    seen: dict[str, str] = {}

    async def handler(side: ServerSide) -> None:
        seen["target"] = side.target
        await side.send_text('{"op":10}')
        await side.send_bytes(b"\x00\x01")
        await side.send_text("hel", finished=False)
        await side.send_text("lo", finished=True)
        await side.send_bytes(b"ab", finished=False)
        await side.send_bytes(b"cd", finished=True)
        event = await side.next_event()
        assert isinstance(event, TextMessage)
        await side.send_text("echo:" + event.data)
        await side.next_event()  # the close

    async with tiny_server(handler) as url, open_websocket(url + "/gw?v=10&encoding=json") as ws:
        assert [await ws.receive() for _ in range(4)] == ['{"op":10}', b"\x00\x01", "hello", b"abcd"]
        await ws.send("ping!")
        assert await ws.receive() == "echo:ping!"
    assert seen["target"] == "/gw?v=10&encoding=json"


async def test_many_messages_in_one_read_are_all_delivered() -> None:
    async def handler(side: ServerSide) -> None:
        frames = b"".join(side.ws.send(TextMessage(data=f"m{i}")) for i in range(500))
        await side.stream.send_all(frames)
        await side.next_event()

    async with tiny_server(handler) as url, open_websocket(url) as ws:
        got = [await ws.receive() for _ in range(500)]
    assert got == [f"m{i}" for i in range(500)]


async def test_server_close_code_is_reported_and_handshake_completed() -> None:
    done = trio.Event()
    events: list[object] = []

    async def handler(side: ServerSide) -> None:
        await side.send_text("last")
        await side.close(4004, "Authentication failed.")
        events.extend(side.events)
        done.set()

    async with tiny_server(handler) as url:
        ws = await connect_websocket(url)
        assert await ws.receive() == "last"
        with pytest.raises(ConnectionClosedError) as info:
            await ws.receive()
        assert info.value.code == 4004
        assert info.value.reason == "Authentication failed."
        await done.wait()
        await ws.close()
    # the client answered the close frame (clean close handshake)
    assert any(isinstance(e, CloseConnection) for e in events)


async def test_tcp_drop_is_code_none() -> None:
    async def handler(side: ServerSide) -> None:
        await side.send_text("one")
        await side.drop()

    async with tiny_server(handler) as url, open_websocket(url) as ws:
        assert await ws.receive() == "one"
        with pytest.raises(ConnectionClosedError) as info:
            await ws.receive()
        assert info.value.code is None
        with pytest.raises(ConnectionClosedError):
            await ws.send("too late")


async def test_client_close_sends_code_and_waits_for_answer() -> None:
    received: list[object] = []

    async def handler(side: ServerSide) -> None:
        received.append(await side.next_event())

    async with tiny_server(handler) as url:
        ws = await connect_websocket(url)
        await ws.close(4900, "zombie")
        assert ws.closed is not None and ws.closed.code == 4900
    (event,) = received
    assert isinstance(event, CloseConnection) and event.code == 4900


async def test_ping_is_answered_with_pong() -> None:
    pongs: list[object] = []

    async def handler(side: ServerSide) -> None:
        await side.ping(b"hi")
        await side.send_text("after-ping")
        pongs.append(await side.next_event())
        await side.next_event()

    async with tiny_server(handler) as url, open_websocket(url) as ws:
        assert await ws.receive() == "after-ping"
        with trio.fail_after(5):
            while not pongs:
                await trio.sleep(0.01)
    assert isinstance(pongs[0], Pong) and pongs[0].payload == b"hi"


async def test_message_size_cap() -> None:
    async def handler(side: ServerSide) -> None:
        await side.send_bytes(b"x" * 2000)
        await side.next_event()

    async with tiny_server(handler) as url:
        ws = await connect_websocket(url, max_message_size=1000)
        with pytest.raises(ConnectionClosedError, match="too big"):
            await ws.receive()


async def test_connect_errors_are_typed() -> None:
    with pytest.raises(TransportError, match="not a websocket URL"):
        await connect_websocket("http://127.0.0.1:1/")
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(TransportError, match="cannot connect"):
        await connect_websocket(f"ws://127.0.0.1:{port}/")


async def test_upgrade_refused_is_handshake_error() -> None:
    async def plain_http(stream: trio.SocketStream) -> None:
        await stream.receive_some(65536)
        await stream.send_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        await stream.aclose()

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, plain_http, 0)
        port = listeners[0].socket.getsockname()[1]
        with pytest.raises(HandshakeError) as info:
            await connect_websocket(f"ws://127.0.0.1:{port}/")
        assert info.value.status == 404
        nursery.cancel_scope.cancel()


__all__ = ["BytesMessage"]


async def test_wss_goes_through_tls_and_verifies_the_certificate(self_signed: SelfSigned) -> None:
    server_context = self_signed.server_context()

    async def on_connection(stream: trio.SSLStream[trio.SocketStream]) -> None:
        ws = WSConnection(ConnectionType.SERVER)
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, Request):
                        await stream.send_all(
                            ws.send(AcceptConnection()) + ws.send(TextMessage(data="over tls"))
                        )
                    elif isinstance(event, CloseConnection):
                        await stream.send_all(ws.send(event.response()))
                        return

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            partial(trio.serve_ssl_over_tcp, on_connection, 0, server_context, host="127.0.0.1")
        )
        port = listeners[0].transport_listener.socket.getsockname()[1]
        trusted = self_signed.trusting_client_context()
        async with open_websocket(f"wss://127.0.0.1:{port}/?v=10", ssl_context=trusted) as ws:
            assert await ws.receive() == "over tls"
        with pytest.raises(CertificateRejectedError, match=r"certificate of 127\.0\.0\.1") as refused:
            await connect_websocket(f"wss://127.0.0.1:{port}/")  # system trust store: self-signed is refused
        assert isinstance(refused.value, TransportError)  # callers that only catch TransportError still do
        assert "self-signed" in str(refused.value) or "verify" in str(refused.value)
        nursery.cancel_scope.cancel()
