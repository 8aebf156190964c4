"""A tiny HTTP/1.1 server on trio + h11 for REST client tests (loopback, ephemeral port, keep-alive).

Each request is answered by a handler ``(method, path, headers, body) -> (status, headers, body)``; the
server records every request it saw (method, target, lower-cased headers, time received on trio's clock).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import attrs
import h11
import orjson
import trio

Handler = Callable[[str, str, dict[str, str], bytes], Awaitable[tuple[int, dict[str, str], Any]]]


@attrs.define
class Seen:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    at: float


@attrs.define
class TinyServer:
    handler: Handler
    port: int = 0
    seen: list[Seen] = attrs.field(factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    async def serve_connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await stream.receive_some(65536)
                    if not data:
                        return
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    method = event.method.decode()
                    target = event.target.decode()
                    headers = {k.decode().lower(): v.decode() for k, v in event.headers}
                    chunks = []
                    while True:
                        nxt = conn.next_event()
                        if nxt is h11.NEED_DATA:
                            conn.receive_data(await stream.receive_some(65536))
                            continue
                        if isinstance(nxt, h11.Data):
                            chunks.append(nxt.data)
                            continue
                        break  # EndOfMessage
                    body = b"".join(chunks)
                    self.seen.append(Seen(method, target, headers, body, trio.current_time()))
                    status, out_headers, payload = await self.handler(method, target, headers, body)
                    raw = b"" if payload is None else orjson.dumps(payload)
                    response_headers = [(k, v) for k, v in out_headers.items()]
                    if raw:
                        response_headers.append(("content-type", "application/json"))
                    response_headers.append(("content-length", str(len(raw))))
                    await stream.send_all(
                        conn.send(h11.Response(status_code=status, headers=response_headers))
                    )
                    if raw:
                        await stream.send_all(conn.send(h11.Data(data=raw)))
                    await stream.send_all(conn.send(h11.EndOfMessage()))
                    if conn.our_state is h11.MUST_CLOSE:
                        return
                    conn.start_next_cycle()
                    continue
                if isinstance(event, h11.ConnectionClosed):
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            return
        finally:
            await stream.aclose()


@asynccontextmanager
async def tiny_server(handler: Handler) -> AsyncIterator[TinyServer]:
    server = TinyServer(handler)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, server.serve_connection, 0)
        server.port = listeners[0].socket.getsockname()[1]
        try:
            yield server
        finally:
            nursery.cancel_scope.cancel()
