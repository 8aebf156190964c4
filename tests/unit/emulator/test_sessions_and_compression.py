"""Gateway session numbering and replay, and the per-connection stream compressors."""

from __future__ import annotations

import collections
import zlib

import orjson
import pytest
import zstandard

from protocol.emulator.compression import ZlibStreamCompressor, ZstdStreamCompressor, compressor_for
from protocol.emulator.gateway_sessions import GatewaySession, SessionRegistry


class Sink:
    def __init__(self) -> None:
        self.frames: list[bytes] = []

    def send_frame(self, frame: bytes) -> None:
        self.frames.append(frame)


def make_session(buffer: int = 100) -> GatewaySession:
    return GatewaySession(
        session_id="s", shard_id=0, shard_count=1, intents=0, buffer=collections.deque(maxlen=buffer)
    )


def test_push_numbers_buffers_and_sends_when_attached() -> None:
    session = make_session()
    session.push("READY", {"a": 1})
    sink = Sink()
    session.connection = sink
    session.push("MESSAGE_CREATE", {"b": 2})
    assert session.seq == 2
    assert [orjson.loads(f)["s"] for f in sink.frames] == [2]
    decoded = orjson.loads(sink.frames[0])
    assert decoded == {"op": 0, "s": 2, "t": "MESSAGE_CREATE", "d": {"b": 2}}


def test_frames_after_returns_exactly_the_missed_ones() -> None:
    session = make_session()
    for index in range(5):
        session.push("EVENT", {"i": index})
    missed = session.frames_after(2)
    assert missed is not None
    assert [orjson.loads(f)["s"] for f in missed] == [3, 4, 5]
    assert session.frames_after(5) == []


def test_frames_after_a_trimmed_buffer_is_not_resumable() -> None:
    session = make_session(buffer=3)
    for index in range(6):
        session.push("EVENT", {"i": index})
    assert session.frames_after(1) is None
    kept = session.frames_after(3)
    assert kept is not None and len(kept) == 3


def test_registry_forgets_invalidated_sessions() -> None:
    registry = SessionRegistry(10)
    session = registry.create("abc", 0, 1, 0)
    assert registry.get("abc") is session
    registry.invalidate(session)
    assert registry.get("abc") is None
    assert registry.live() == []


def test_zlib_stream_shares_one_context_and_flushes_each_message() -> None:
    compressor = ZlibStreamCompressor()
    messages = [orjson.dumps({"op": 0, "s": i, "d": {"text": "same words " * 20}}) for i in range(3)]
    chunks = [compressor.compress(m) for m in messages]
    assert all(chunk.endswith(b"\x00\x00\xff\xff") for chunk in chunks)
    inflater = zlib.decompressobj()
    assert [inflater.decompress(c) for c in chunks] == messages
    # later messages reuse the window: decoding one alone, without the stream's history, fails
    with pytest.raises(zlib.error):
        zlib.decompressobj().decompress(chunks[1])


def test_zstd_stream_decodes_message_by_message() -> None:
    compressor = ZstdStreamCompressor()
    messages = [orjson.dumps({"op": 0, "s": i}) for i in range(3)]
    decoder = zstandard.ZstdDecompressor().decompressobj()
    assert [decoder.decompress(compressor.compress(m)) for m in messages] == messages


def test_compressor_for_query_values() -> None:
    assert isinstance(compressor_for("zlib-stream"), ZlibStreamCompressor)
    assert isinstance(compressor_for("zstd-stream"), ZstdStreamCompressor)
    assert compressor_for(None) is None
    assert compressor_for("bogus") is None
