"""One gateway WebSocket connection: HELLO, heartbeats, IDENTIFY/RESUME, and the frame writer.

Why a reader and a writer task: dispatches reach a connection from anywhere (a REST handler echoing a
MESSAGE_CREATE, a test calling ``emu.dispatch``) and must never wait on the socket, so ``send_frame`` only
appends to an unbounded channel; the writer drains everything queued, compresses each frame into the one
stream context, and writes the batch with a single ``send_all``. That keeps the emulator cheap enough to push
hundreds of thousands of events in the benchmarks. The reader enforces the client's side of the protocol
(opcode order, the 120/60 s send limit, decodable frames) and closes with the documented codes.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import socket
import struct
from typing import TYPE_CHECKING, Any

import attrs
import orjson
import trio
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, Pong, TextMessage
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from protocol.emulator import gateway_codes as codes
from protocol.emulator.compression import StreamCompressor, compressor_for
from protocol.emulator.gateway_sessions import GatewaySession
from protocol.emulator.http_server import HttpRequest
from protocol.transport.direct import DirectSocketStream

if TYPE_CHECKING:
    from protocol.emulator.gateway import GatewayServer

logger = logging.getLogger(__name__)


@attrs.frozen(slots=True)
class _Close:
    code: int
    reason: str


@attrs.frozen(slots=True)
class _Raw:
    """Bytes for malformed-frame faults: not JSON-encoded; compressed only when ``compress`` is set."""

    data: bytes
    compress: bool


@attrs.frozen(slots=True)
class _WsEvent:
    """A WebSocket-level event (pong, close reply) encoded by the writer, in order with the frames."""

    event: Pong | CloseConnection


_Outgoing = bytes | _Close | _Raw | _WsEvent


class GatewayConnection:
    """The server side of one client's gateway socket."""

    def __init__(self, server: GatewayServer, stream: trio.abc.Stream, request: HttpRequest) -> None:
        self._server = server
        self._stream = stream
        self.request = request
        self.compress_mode = request.query.get("compress")
        self._compressor: StreamCompressor | None = compressor_for(
            self.compress_mode, zlib_level=server.config.zlib_level
        )
        self._ws = Connection(ConnectionType.SERVER)
        # The outbox is a plain deque plus a wake-up event: appending is the whole cost of a dispatch.
        self._outbox: collections.deque[_Outgoing] = collections.deque()
        self._outbox_ready = trio.Event()
        self._outbox_closed = False
        self._flushed = trio.Event()
        self._in_flight = False
        self._cancel_scope = trio.CancelScope()
        self._client_sends: collections.deque[float] = collections.deque()
        self._text_parts: list[str] = []
        self._bytes_parts: list[bytes] = []
        self._abort = False
        self.session: GatewaySession | None = None
        self.closed_with: int | None = None
        self.client_close_code: int | None = None
        self.heartbeats_received = 0
        self.identify_presence: dict[str, Any] | None = None
        self._last_heartbeat_at = trio.current_time()
        self.last_heartbeat_seq: int | None = None

    @property
    def shard_id(self) -> int | None:
        return None if self.session is None else self.session.shard_id

    # ---- sending --------------------------------------------------------------------------------------

    def send_frame(self, frame: bytes) -> None:
        self._queue(frame)

    def send_payload(self, payload: dict[str, Any]) -> None:
        self.send_frame(orjson.dumps(payload))

    def send_raw(self, data: bytes, *, compress: bool = True) -> None:
        """Queue bytes that are not a valid payload; with ``compress`` they go through the stream
        compressor (if the connection has one), otherwise straight into a frame."""
        self._queue(_Raw(data, compress))

    def close(self, code: int, reason: str = "") -> None:
        """Send a close frame after everything already queued, then end the connection."""
        self._queue(_Close(code, reason))

    def drop_tcp(self) -> None:
        """End the TCP connection at once with a reset, no close frame (a network failure)."""
        self._abort = True
        self._cancel_scope.cancel()

    def _encode(self, frame: bytes) -> bytes:
        # Data frames are framed here rather than by wsproto: a server frame is a two-to-ten byte
        # header and the payload (no mask), and this is the emulator's hottest path.
        if self._compressor is not None:
            data = self._compressor.compress(frame)
            return _frame_header(_OPCODE_BINARY, len(data)) + data
        return _frame_header(_OPCODE_TEXT, len(frame)) + frame  # orjson output is valid UTF-8

    def _wire_bytes(self, item: bytes | _Raw | _WsEvent) -> bytes | None:
        """The WebSocket bytes for one queued item (None when it must be dropped)."""
        if self._ws.state is not ConnectionState.OPEN and not isinstance(item, _WsEvent):
            return None  # the socket is closing: late frames are dropped, as on a real server
        if isinstance(item, bytes):
            return self._encode(item)
        if isinstance(item, _WsEvent):
            try:
                return self._ws.send(item.event)
            except LocalProtocolError:
                return None
        return self._raw_wire_bytes(item)

    def _raw_wire_bytes(self, item: _Raw) -> bytes:
        if self._compressor is None:
            return self._ws.send(TextMessage(data=item.data.decode("utf-8", "replace")))
        data = self._compressor.compress(item.data) if item.compress else item.data
        return self._ws.send(BytesMessage(data=data))

    async def _writer(self) -> None:
        try:
            await self._write_loop()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            logger.debug("gateway connection broke while writing: %r", error)
            self._cancel_scope.cancel()

    async def _write_loop(self) -> None:
        outbox = self._outbox
        while True:
            while not outbox:
                await self._outbox_ready.wait()
                self._outbox_ready = trio.Event()
            chunks: list[bytes] = []
            item = outbox.popleft()
            while not isinstance(item, _Close):
                wire = self._wire_bytes(item)
                if wire is not None:
                    chunks.append(wire)
                if len(chunks) >= 512 or not outbox:
                    break
                item = outbox.popleft()
            if isinstance(item, _Close):
                self.closed_with = item.code
                if self._ws.state is ConnectionState.OPEN:
                    chunks.append(self._ws.send(CloseConnection(code=item.code, reason=item.reason)))
            if chunks:
                self._in_flight = True
                await self._stream.send_all(b"".join(chunks))
                self._in_flight = False
            if not outbox:
                self._flushed.set()
                self._flushed = trio.Event()
            if isinstance(item, _Close):
                self._cancel_scope.cancel()
                return

    # ---- lifecycle ------------------------------------------------------------------------------------

    async def run(self, trailing: bytes) -> None:
        try:
            with self._cancel_scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer)
                    factor = self._server.config.heartbeat_timeout_factor
                    if factor is not None:
                        nursery.start_soon(self._heartbeat_watchdog, factor)
                    self.send_payload(
                        {
                            "op": codes.HELLO,
                            "d": {"heartbeat_interval": self._server.config.heartbeat_interval_ms},
                        }
                    )
                    problem = _query_problem(self.request.query)
                    if problem is not None:
                        self.close(*problem)
                    await self._reader(trailing)
                    # Let the writer flush and send its close frame; it cancels the scope when done.
                    self._queue(_Close(1006, ""))
                    await trio.sleep(5)
                    nursery.cancel_scope.cancel()
        except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
            logger.debug("gateway connection broke: %r", error)
        finally:
            self._outbox_closed = True
            self._flushed.set()
            self._server.connection_ended(self)
            with trio.CancelScope(shield=True):
                if self._abort:
                    _set_linger_zero(self._stream)
                await self._stream.aclose()

    async def _heartbeat_watchdog(self, factor: float) -> None:
        """Close a connection whose client stopped heartbeating (it must then resume), as Discord does."""
        timeout = self._server.config.heartbeat_interval_ms / 1000 * factor
        while True:
            deadline = self._last_heartbeat_at + timeout
            if trio.current_time() >= deadline:
                self.close(codes.UNKNOWN_ERROR, "Heartbeat timed out.")
                return
            await trio.sleep_until(deadline)

    async def _reader(self, trailing: bytes) -> None:
        if trailing:
            self._ws.receive_data(trailing)
        while True:
            try:
                if not self._handle_ws_events():
                    return
            except RemoteProtocolError:
                self.close(1002, "protocol error")
                return
            try:
                data = await self._stream.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as error:
                logger.debug("gateway connection broke while reading: %r", error)
                return
            if not data:
                self._ws.receive_data(None)
                self._handle_ws_events()
                return
            self._ws.receive_data(bytes(data))

    def _handle_ws_events(self) -> bool:
        for event in self._ws.events():
            if isinstance(event, TextMessage):
                self._text_parts.append(event.data)
                if event.message_finished:
                    text = "".join(self._text_parts)
                    self._text_parts.clear()
                    self._receive_payload(text.encode())
            elif isinstance(event, BytesMessage):
                self._bytes_parts.append(bytes(event.data))
                if event.message_finished:
                    data = b"".join(self._bytes_parts)
                    self._bytes_parts.clear()
                    self._receive_payload(data)
            elif isinstance(event, Ping):
                self._queue(_WsEvent(event.response()))
            elif isinstance(event, CloseConnection):
                self.client_close_code = event.code
                self._queue(_WsEvent(event.response()))
                self._queue(_Close(event.code, ""))
                return False
        return True

    def _queue(self, item: _Outgoing) -> None:
        if self._outbox_closed:
            return
        self._outbox.append(item)
        self._outbox_ready.set()

    async def wait_flushed(self) -> None:
        """Return once everything queued so far has been written (or the connection has ended)."""
        while (self._outbox or self._in_flight) and not self._outbox_closed:
            await self._flushed.wait()

    @property
    def queued(self) -> int:
        """Frames waiting for the writer (benchmarks wait for this to reach 0)."""
        return len(self._outbox)

    # ---- the protocol -----------------------------------------------------------------------------------

    def _admit(self, data: bytes) -> dict[str, Any] | None:
        """The decoded payload, or None after closing for the send limit, size or a decode error."""
        now = trio.current_time()
        window = self._server.config.gateway_send_window
        sends = self._client_sends
        sends.append(now)
        while sends and sends[0] <= now - window:
            sends.popleft()
        if len(sends) > self._server.config.gateway_send_limit:
            self.close(codes.RATE_LIMITED, "You are being rate limited.")
            return None
        if len(data) > MAX_CLIENT_PAYLOAD:
            self.close(codes.DECODE_ERROR, "Payload too large.")
            return None
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("op"), int):
            self.close(codes.DECODE_ERROR, "Error while decoding payload.")
            return None
        return payload

    def _receive_payload(self, data: bytes) -> None:
        payload = self._admit(data)
        if payload is None:
            return
        op: int = payload["op"]
        self._server.record_client_op(self, op)
        if op not in codes.CLIENT_OPCODES:
            self.close(codes.UNKNOWN_OPCODE, "Unknown opcode.")
            return
        if op == codes.HEARTBEAT:
            self._on_heartbeat(payload.get("d"))
        elif op == codes.IDENTIFY:
            self._on_identify(payload.get("d"))
        elif op == codes.RESUME:
            self._on_resume(payload.get("d"))
        elif self.session is None:
            self.close(codes.NOT_AUTHENTICATED, "Not authenticated.")
        elif op == codes.REQUEST_GUILD_MEMBERS:
            self._on_request_members(payload.get("d"))
        elif op == codes.PRESENCE_UPDATE:
            presence = payload.get("d")
            if not isinstance(presence, dict) or not isinstance(presence.get("status", "online"), str):
                self.close(codes.DECODE_ERROR, "Error while decoding payload.")
                return
            self.session.presence = presence

    def _on_heartbeat(self, seq: object) -> None:
        self._last_heartbeat_at = trio.current_time()
        self.heartbeats_received += 1
        self.last_heartbeat_seq = seq if isinstance(seq, int) else None
        if self._server.take_dropped_ack():
            return
        self.send_payload({"op": codes.HEARTBEAT_ACK})

    def _token_ok(self, token: object) -> bool:
        expected = self._server.token
        return isinstance(token, str) and token.removeprefix("Bot ") == expected

    def _identify_problem(self, data: dict[str, Any]) -> tuple[int, str] | None:
        """The close code and reason for an unacceptable IDENTIFY, in the order Discord checks."""
        if self.session is not None:
            return codes.ALREADY_AUTHENTICATED, "Already authenticated."
        if not self._token_ok(data.get("token")):
            return codes.AUTHENTICATION_FAILED, "Authentication failed."
        return self._intents_problem(data.get("intents")) or self._shard_problem(data.get("shard", [0, 1]))

    def _intents_problem(self, intents: object) -> tuple[int, str] | None:
        if not isinstance(intents, int) or intents < 0 or intents & ~codes.VALID_INTENTS:
            return codes.INVALID_INTENTS, "Invalid intent(s)."
        if intents & codes.PRIVILEGED_INTENTS & ~self._server.allowed_privileged_intents:
            return codes.DISALLOWED_INTENTS, "Disallowed intent(s)."
        return None

    def _shard_problem(self, shard: object) -> tuple[int, str] | None:
        if not _valid_shard(shard):
            return codes.INVALID_SHARD, "Invalid shard."
        assert isinstance(shard, list)
        if self._server.guilds_per_shard(shard[0], shard[1]) > 2500:
            return codes.SHARDING_REQUIRED, "Sharding required."
        return None

    def _on_identify(self, data: object) -> None:
        if not isinstance(data, dict):
            self.close(codes.DECODE_ERROR, "Error while decoding payload.")
            return
        problem = self._identify_problem(data)
        if problem is not None:
            self.close(*problem)
            return
        shard_id, shard_count = (int(part) for part in data.get("shard", [0, 1]))
        presence = data.get("presence")
        self.identify_presence = presence if isinstance(presence, dict) else None
        if self._server.identify_refusal(shard_id, shard_count, int(data["intents"])):
            self.send_payload({"op": codes.INVALID_SESSION, "d": False})
            return
        self.session = self._server.start_session(self, shard_id, shard_count, int(data["intents"]))

    def _on_resume(self, data: object) -> None:
        if not isinstance(data, dict):
            self.close(codes.DECODE_ERROR, "Error while decoding payload.")
            return
        if not self._token_ok(data.get("token")):
            self.close(codes.AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session_id = data.get("session_id")
        seq = data.get("seq")
        session = self._server.registry.get(session_id) if isinstance(session_id, str) else None
        if session is None or not (seq is None or isinstance(seq, int)):
            self.send_payload({"op": codes.INVALID_SESSION, "d": False})
            return
        last_seen = seq or 0
        if last_seen > session.seq:
            self.close(codes.INVALID_SEQ, "Invalid seq.")
            return
        missed = session.frames_after(last_seen)
        if missed is None:
            self._server.registry.invalidate(session)
            self.send_payload({"op": codes.INVALID_SESSION, "d": False})
            return
        self._server.resume_session(self, session, missed)
        self.session = session

    def _on_request_members(self, data: object) -> None:
        if not isinstance(data, dict):
            self.close(codes.DECODE_ERROR, "Error while decoding payload.")
            return
        self._server.answer_member_request(self, data)


#: Client payloads above this size close the connection with 4002 (events--gateway.mdx).
MAX_CLIENT_PAYLOAD = 4096

_OPCODE_TEXT = 0x1
_OPCODE_BINARY = 0x2


def _frame_header(opcode: int, length: int) -> bytes:
    """The header of a final, unmasked server-to-client WebSocket frame (RFC 6455 §5.2)."""
    first = 0x80 | opcode
    if length < 126:
        return bytes((first, length))
    if length < 65536:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def _query_problem(query: dict[str, str]) -> tuple[int, str] | None:
    """Close code and reason for a connection URL the emulator cannot serve (``v`` and ``encoding``)."""
    version = query.get("v")
    if version is not None and version not in ("9", "10"):
        return codes.INVALID_API_VERSION, "Invalid API version."
    encoding = query.get("encoding", "json")
    if encoding != "json":
        return codes.DECODE_ERROR, f"The emulator speaks JSON only, not {encoding!r}."
    return None


def _valid_shard(shard: object) -> bool:
    """``[shard_id, num_shards]`` with ``0 <= shard_id < num_shards``."""
    if not isinstance(shard, list) or len(shard) != 2:
        return False
    shard_id, count = shard
    return isinstance(shard_id, int) and isinstance(count, int) and 0 <= shard_id < count


def _set_linger_zero(stream: trio.abc.Stream) -> None:
    """Make the coming close a TCP reset (only meaningful for a real socket)."""
    if not isinstance(stream, trio.SocketStream | DirectSocketStream):
        return
    with contextlib.suppress(OSError):
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
