"""A tiny websocket server (wsproto on trio) for testing the client transport; not the emulator.

Each accepted connection runs the test's handler with a `ServerSide` that can send text/binary/fragmented
messages, pings, close frames, or drop the TCP connection without a close frame.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    Request,
    TextMessage,
)


class ServerSide:
    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.events: list[Event] = []
        self.target = ""

    async def handshake(self) -> None:
        while True:
            data = await self.stream.receive_some(65536)
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, Request):
                    self.target = event.target
                    await self.stream.send_all(self.ws.send(AcceptConnection()))
                    return

    async def send_text(self, text: str, *, finished: bool = True) -> None:
        await self.stream.send_all(self.ws.send(TextMessage(data=text, message_finished=finished)))

    async def send_bytes(self, data: bytes, *, finished: bool = True) -> None:
        await self.stream.send_all(self.ws.send(BytesMessage(data=data, message_finished=finished)))

    async def ping(self, payload: bytes = b"p") -> None:
        await self.stream.send_all(self.ws.send(Ping(payload=payload)))

    async def close(self, code: int, reason: str = "") -> None:
        await self.stream.send_all(self.ws.send(CloseConnection(code=code, reason=reason)))
        # wait for the client's close response
        with trio.move_on_after(5):
            while True:
                data = await self.stream.receive_some(65536)
                if not data:
                    break
                self.ws.receive_data(data)
                for event in self.ws.events():
                    self.events.append(event)
                if any(isinstance(e, CloseConnection) for e in self.events):
                    break
        await self.stream.aclose()

    async def drop(self) -> None:
        """Close TCP abruptly (RST), no close frame."""
        self.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        await self.stream.aclose()

    async def next_event(self) -> Event | None:
        """Read until one client event (message, pong, close) arrives; answer the client's close."""
        while True:
            for event in self.ws.events():
                self.events.append(event)
                if isinstance(event, CloseConnection):
                    await self.stream.send_all(self.ws.send(event.response()))
                return event
            data = await self.stream.receive_some(65536)
            if not data:
                return None
            self.ws.receive_data(data)


Handler = Callable[[ServerSide], Awaitable[None]]


@asynccontextmanager
async def tiny_server(handler: Handler) -> AsyncIterator[str]:
    """Serve ``handler`` on an ephemeral loopback port; yields ``ws://127.0.0.1:PORT``."""

    async def on_connection(stream: trio.SocketStream) -> None:
        side = ServerSide(stream)
        try:
            await side.handshake()
            await handler(side)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, on_connection, 0, host="127.0.0.1"))
        port = listeners[0].socket.getsockname()[1]
        yield f"ws://127.0.0.1:{port}"
        nursery.cancel_scope.cancel()


__all__ = ["Pong", "ServerSide", "tiny_server"]
