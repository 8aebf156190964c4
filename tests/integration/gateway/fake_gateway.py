"""A small scripted Discord gateway for shard tests (wsproto on trio, loopback, ephemeral port).

Not the emulator: it only knows what the shard tests need — HELLO, IDENTIFY -> READY, RESUME -> replay of
missed dispatches -> RESUMED, heartbeat ACKs (which a test can switch off to make a zombie), zlib-stream, and
test-driven faults (op 7, op 9, a close code, a TCP drop, events recorded but lost in flight). Every
dispatch of a session is kept so a resume replays exactly what the client has not acknowledged.
"""

from __future__ import annotations

import socket
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage


class FakeSession:
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.events: list[dict[str, Any]] = []  # index i holds seq i + 1

    @property
    def seq(self) -> int:
        return len(self.events)

    def record(self, t: str, d: Any) -> dict[str, Any]:
        payload = {"op": 0, "t": t, "s": self.seq + 1, "d": d}
        self.events.append(payload)
        return payload


class FakeConnection:
    def __init__(self, gateway: FakeGateway, stream: trio.SocketStream) -> None:
        self.gateway = gateway
        self.stream = stream
        self.ws = WSConnection(ConnectionType.SERVER)
        self.lock = trio.Lock()
        self.compressor: Any = None
        self.query: dict[str, list[str]] = {}
        self.path = ""
        self.session: FakeSession | None = None
        self.closed_by_client: int | None = None
        self.open = True

    async def send_payload(self, payload: dict[str, Any]) -> None:
        data = orjson.dumps(payload)
        async with self.lock:
            if not self.open:
                return
            if self.compressor is not None:
                frame = self.compressor.compress(data) + self.compressor.flush(zlib.Z_SYNC_FLUSH)
                # split big messages in two websocket messages to exercise the client's buffering
                if len(frame) > 64:
                    half = len(frame) // 2
                    out = self.ws.send(BytesMessage(data=frame[:half], message_finished=True))
                    out += self.ws.send(BytesMessage(data=frame[half:], message_finished=True))
                else:
                    out = self.ws.send(BytesMessage(data=frame))
            else:
                out = self.ws.send(TextMessage(data=data.decode()))
            try:
                await self.stream.send_all(out)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.open = False

    async def close(self, code: int) -> None:
        async with self.lock:
            if not self.open:
                return
            self.open = False
            with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await self.stream.send_all(self.ws.send(CloseConnection(code=code, reason="fake gateway")))

    async def drop(self) -> None:
        async with self.lock:
            self.open = False
            self.stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            await self.stream.aclose()

    async def run(self) -> None:
        while True:
            data = await self.stream.receive_some(65536)
            if not data:
                return
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, Request):
                    parts = urlsplit(event.target)
                    self.path = parts.path
                    self.query = parse_qs(parts.query)
                    if self.query.get("compress") == ["zlib-stream"]:
                        self.compressor = zlib.compressobj()
                    async with self.lock:
                        await self.stream.send_all(self.ws.send(AcceptConnection()))
                    self.gateway.connections.append(self)
                    interval = self.gateway.heartbeat_interval_ms
                    await self.send_payload({"op": 10, "d": {"heartbeat_interval": interval}})
                elif isinstance(event, TextMessage):
                    await self.on_client_payload(orjson.loads(event.data))
                elif isinstance(event, CloseConnection):
                    self.closed_by_client = event.code
                    self.gateway.client_close_codes.append(event.code)
                    async with self.lock:
                        if self.open:
                            self.open = False
                            with suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                                await self.stream.send_all(self.ws.send(event.response()))
                    return

    async def on_client_payload(self, payload: dict[str, Any]) -> None:
        gateway = self.gateway
        op, d = payload["op"], payload.get("d")
        gateway.client_ops.append(op)
        if op == 1:
            gateway.heartbeats.append(d)
            if gateway.ack_heartbeats:
                await self.send_payload({"op": 11})
        elif op == 2:
            gateway.identifies.append(d)
            if d.get("token") != gateway.token:
                await self.close(4004)
                return
            session = FakeSession(f"session-{len(gateway.identifies)}")
            gateway.sessions[session.session_id] = session
            gateway.current = session
            self.session = session
            ready = session.record(
                "READY",
                {
                    "v": 10,
                    "session_id": session.session_id,
                    "resume_gateway_url": f"{gateway.url}/resume",
                    "user": {"id": "42", "username": "Twi Bot Shard"},
                    "guilds": [{"id": "1000", "unavailable": True}],
                    "shard": d.get("shard"),
                    "application": {"id": "4242"},
                },
            )
            await self.send_payload(ready)
        elif op == 6:
            gateway.resumes.append((self.path, d))
            session = gateway.sessions.get(d.get("session_id"))
            if session is None or not gateway.resumable:
                await self.send_payload({"op": 9, "d": False})
                return
            self.session = session
            gateway.current = session
            start = max(0, int(d.get("seq") or 0) - gateway.replay_overlap)
            for event in session.events[start:]:
                await self.send_payload(event)
            await self.send_payload(session.record("RESUMED", {}))


class FakeGateway:
    def __init__(self, *, token: str = "test-token", heartbeat_interval_ms: int = 45_000) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.url = ""
        self.connections: list[FakeConnection] = []
        self.sessions: dict[str, FakeSession] = {}
        self.current: FakeSession | None = None
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[tuple[str, dict[str, Any]]] = []
        self.heartbeats: list[Any] = []
        self.client_ops: list[int] = []
        self.client_close_codes: list[int] = []
        self.ack_heartbeats = True
        self.resumable = True
        self.replay_overlap = (
            0  # replay this many already-acknowledged events too (the client must drop them)
        )

    def gateway_bot(self, *, remaining: int = 1000, shards: int = 1) -> dict[str, Any]:
        return {
            "url": self.url,
            "shards": shards,
            "session_start_limit": {"total": 1000, "remaining": remaining, "reset_after": 3_600_000,
                                    "max_concurrency": 1},
        }  # fmt: skip

    @property
    def live(self) -> FakeConnection:
        return self.connections[-1]

    async def dispatch(self, t: str, d: Any) -> int:
        """Record a dispatch in the current session and send it on the live connection; returns its seq."""
        assert self.current is not None
        payload = self.current.record(t, d)
        await self.live.send_payload(payload)
        return int(payload["s"])

    def lose(self, t: str, d: Any) -> int:
        """Record a dispatch that never reaches the client (in flight when the connection dies)."""
        assert self.current is not None
        return int(self.current.record(t, d)["s"])


@asynccontextmanager
async def fake_gateway(**kwargs: Any) -> AsyncIterator[FakeGateway]:
    gateway = FakeGateway(**kwargs)

    async def on_connection(stream: trio.SocketStream) -> None:
        connection = FakeConnection(gateway, stream)
        try:
            await connection.run()
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
            pass
        finally:
            connection.open = False
            await trio.aclose_forcefully(stream)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, on_connection, 0, host="127.0.0.1"))
        gateway.url = f"ws://127.0.0.1:{listeners[0].socket.getsockname()[1]}"
        yield gateway
        nursery.cancel_scope.cancel()
