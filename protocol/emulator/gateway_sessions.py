"""Gateway sessions: sequence numbers and the replay buffer that makes RESUME lossless.

Why sessions outlive connections: Discord keeps a session for a while after its socket drops, numbering
every dispatch meant for it. A client that resumes with the last ``s`` it saw gets exactly the dispatches it
missed, in order, and then RESUMED. The emulator does the same: a dispatch is numbered and buffered on the
session whether or not a connection is attached, and sent at once when one is. A test can then drop the TCP
connection mid-stream and assert that the client saw every sequence number exactly once.

The buffer is bounded (``replay_buffer_size``); a resume from before its oldest entry gets op 9 (not
resumable), as Discord does when a session has fallen too far behind.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import Any, Protocol

import attrs
import orjson


class FrameSink(Protocol):
    """Where a session's encoded frames go while a connection is attached."""

    def send_frame(self, frame: bytes) -> None: ...


@attrs.frozen(slots=True)
class _Encoded:
    data: bytes


@attrs.define(slots=True, eq=False, kw_only=True)
class GatewaySession:
    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    resume_query: str = ""
    seq: int = 0
    buffer: collections.deque[tuple[int, bytes]]
    connection: FrameSink | None = None
    invalidated: bool = False
    dispatched: int = 0
    # While the initial guilds stream out after READY, other dispatches wait here (unnumbered), so that
    # every GUILD_CREATE of the initial load comes before any event, as a client expects.
    held: list[tuple[str, Any]] | None = None
    # The last presence the client set (op 3, or ``presence`` in IDENTIFY), for tests to read.
    presence: dict[str, Any] | None = None

    def push(self, event: str, payload: Any) -> None:
        """Number, encode and buffer one dispatch; send it if a connection is attached."""
        if self.held is not None:
            self.held.append((event, payload))
            return
        self.seq += 1
        self._emit(orjson.dumps({"op": 0, "s": self.seq, "t": event, "d": payload}))

    def push_encoded(self, event: str, payload_json: bytes) -> None:
        """`push` for a payload that is already JSON (benchmarks encode a payload once, send it often)."""
        if self.held is not None:
            self.held.append((event, _Encoded(payload_json)))
            return
        self.seq += 1
        self._emit_encoded(event, payload_json)

    def _emit_encoded(self, event: str, payload_json: bytes) -> None:
        self._emit(b'{"op":0,"s":%d,"t":"%s","d":%s}' % (self.seq, event.encode(), payload_json))

    def _emit(self, frame: bytes) -> None:
        self.buffer.append((self.seq, frame))
        self.dispatched += 1
        if self.connection is not None:
            self.connection.send_frame(frame)

    def hold(self) -> None:
        """Start holding dispatches (the initial guild load is being streamed)."""
        if self.held is None:
            self.held = []

    def push_initial(self, event: str, payload: Any) -> None:
        """A dispatch of the initial load: numbered now, ahead of anything held."""
        self.seq += 1
        self._emit(orjson.dumps({"op": 0, "s": self.seq, "t": event, "d": payload}))

    def push_initial_encoded(self, event: str, payload_json: bytes) -> None:
        """`push_initial` for a payload that is already JSON."""
        self.seq += 1
        self._emit_encoded(event, payload_json)

    def release(self) -> None:
        """End the initial load: number and send everything held, in arrival order."""
        held, self.held = self.held or [], None
        for event, payload in held:
            if isinstance(payload, _Encoded):
                self.push_encoded(event, payload.data)
            else:
                self.push(event, payload)

    def frames_after(self, seq: int) -> list[bytes] | None:
        """Buffered frames with a sequence number above ``seq``; None when some were already discarded."""
        if seq >= self.seq:
            return []
        if not self.buffer or self.buffer[0][0] > seq + 1:
            return None
        return [frame for number, frame in self.buffer if number > seq]


class SessionRegistry:
    """Every session by id, for RESUME and for routing dispatches by shard."""

    def __init__(self, buffer_size: int) -> None:
        self._buffer_size = buffer_size
        self._sessions: dict[str, GatewaySession] = {}

    def create(self, session_id: str, shard_id: int, shard_count: int, intents: int) -> GatewaySession:
        session = GatewaySession(
            session_id=session_id,
            shard_id=shard_id,
            shard_count=shard_count,
            intents=intents,
            buffer=collections.deque(maxlen=self._buffer_size),
        )
        self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> GatewaySession | None:
        session = self._sessions.get(session_id)
        if session is None or session.invalidated:
            return None
        return session

    def invalidate(self, session: GatewaySession) -> None:
        session.invalidated = True
        self._sessions.pop(session.session_id, None)

    def live(self) -> list[GatewaySession]:
        return list(self._sessions.values())

    def sessions_view(self) -> Iterable[GatewaySession]:
        """The live sessions without a copy (do not create or invalidate sessions while iterating)."""
        return self._sessions.values()
