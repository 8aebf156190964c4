"""Frame decoding, zlib-stream and zstd-stream inflation of split frames, intents, URLs, close codes."""

from __future__ import annotations

import zlib

import orjson
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from protocol.gateway.compression import (
    DecompressionError,
    PassthroughInflater,
    ZlibStreamInflater,
    ZstdStreamInflater,
    new_inflater,
)
from protocol.gateway.frames import FrameDecodeError, decode_frame, encode_payload
from protocol.gateway.intents import Intents, UnknownIntentError, intents_from_names, privileged_in
from protocol.gateway.opcodes import describe_close, is_fatal
from protocol.gateway.urls import gateway_query, with_query

MESSAGES = [
    orjson.dumps({"op": 0, "t": "MESSAGE_CREATE", "s": i, "d": {"content": "x" * (i * 97), "guild_id": "1"}})
    for i in range(1, 30)
]


def zlib_stream(messages: list[bytes]) -> list[bytes]:
    compressor = zlib.compressobj()
    return [compressor.compress(m) + compressor.flush(zlib.Z_SYNC_FLUSH) for m in messages]


def test_zlib_stream_whole_frames_fast_path() -> None:
    inflater = ZlibStreamInflater()
    assert [inflater.feed(chunk) for chunk in zlib_stream(MESSAGES)] == MESSAGES


@given(st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=40))
def test_zlib_stream_split_frames(cuts: list[int]) -> None:
    """Every message split into arbitrary websocket pieces still inflates to exactly the messages."""
    inflater = ZlibStreamInflater()
    out: list[bytes] = []
    for chunk in zlib_stream(MESSAGES):
        pieces, position = [], 0
        for cut in cuts:
            if position >= len(chunk):
                break
            pieces.append(chunk[position : position + cut])
            position += cut
        if position < len(chunk):
            pieces.append(chunk[position:])
        for i, piece in enumerate(pieces):
            result = inflater.feed(piece)
            if i < len(pieces) - 1 and not (
                chunk[: sum(map(len, pieces[: i + 1]))].endswith(b"\x00\x00\xff\xff")
            ):
                assert result is None
            if result is not None:
                out.append(result)
    assert b"".join(out) == b"".join(MESSAGES)


def test_zlib_stream_corruption_is_typed() -> None:
    inflater = ZlibStreamInflater()
    with pytest.raises(DecompressionError):
        inflater.feed(b"not zlib at all\x00\x00\xff\xff")


def test_zstd_stream_one_message_per_websocket_message() -> None:
    compressor = zstandard.ZstdCompressor().compressobj()
    inflater = ZstdStreamInflater()
    for message in MESSAGES:
        chunk = compressor.compress(message) + compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        assert inflater.feed(chunk) == message


def test_zstd_stream_split_frames() -> None:
    compressor = zstandard.ZstdCompressor().compressobj()
    inflater = ZstdStreamInflater()
    out = bytearray()
    for message in MESSAGES:
        chunk = compressor.compress(message) + compressor.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        for start in range(0, len(chunk), 7):
            out += inflater.feed(chunk[start : start + 7]) or b""
    assert bytes(out) == b"".join(MESSAGES)


def test_new_inflater_choices() -> None:
    assert isinstance(new_inflater(None), PassthroughInflater)
    assert isinstance(new_inflater("zlib-stream"), ZlibStreamInflater)
    assert isinstance(new_inflater("zstd-stream"), ZstdStreamInflater)
    with pytest.raises(ValueError, match="unsupported"):
        new_inflater("brotli")


def test_decode_frame_reads_envelope_and_interns_names() -> None:
    frame = decode_frame(b'{"op":0,"t":"GUILD_CREATE","s":7,"d":{"id":"123","name":"inn"}}')
    assert (frame.op, frame.t, frame.s) == (0, "GUILD_CREATE", 7)
    assert frame.guild_id == 123
    other = decode_frame('{"op":0,"t":"GUILD_CREATE","s":8,"d":{}}')
    assert other.t is frame.t
    assert decode_frame(b'{"op":0,"t":"MESSAGE_CREATE","s":1,"d":{"guild_id":"9"}}').guild_id == 9
    assert decode_frame(b'{"op":0,"t":"MESSAGE_CREATE","s":1,"d":{}}').guild_id is None
    hello = decode_frame(b'{"op":10,"d":{"heartbeat_interval":41250},"t":null,"s":null}')
    assert (hello.op, hello.t, hello.s, hello.d) == (10, None, None, {"heartbeat_interval": 41250})


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[1,2]", b'{"d":1}', b'{"op":"0"}', b'{"op":0,"s":1}', b'{"op":0,"t":"X","s":"1"}'],
)
def test_decode_frame_rejects_malformed(raw: bytes) -> None:
    with pytest.raises(FrameDecodeError):
        decode_frame(raw)


def test_encode_payload() -> None:
    assert orjson.loads(encode_payload(1, 5)) == {"op": 1, "d": 5}


def test_intents_from_names() -> None:
    value = intents_from_names(["guilds", "GUILD_MESSAGES", "message-content"])
    assert value == Intents.GUILDS | Intents.GUILD_MESSAGES | Intents.MESSAGE_CONTENT
    assert int(value) == 1 | 512 | 32768
    assert privileged_in(value) == ["message_content"]
    with pytest.raises(UnknownIntentError, match=r"guild_mesages.*valid names"):
        intents_from_names(["guild_mesages"])


def test_urls_keep_path_and_set_query() -> None:
    query = gateway_query("zstd-stream")
    assert (
        with_query("wss://gw.example", query) == "wss://gw.example/?v=10&encoding=json&compress=zstd-stream"
    )
    assert with_query("ws://127.0.0.1:9/gateway?x=1", gateway_query(None)) == (
        "ws://127.0.0.1:9/gateway?x=1&v=10&encoding=json"
    )
    with pytest.raises(ValueError):
        with_query("https://gw.example", query)


def test_close_code_helpers() -> None:
    assert is_fatal(4004) and not is_fatal(4000) and not is_fatal(None)
    assert "token" in describe_close(4004)
    assert describe_close(None) == "connection lost"
    assert describe_close(4900) == "4900 (resumable_close)"
    assert describe_close(4321) == "4321"
