"""The inbound websocket frame parser, checked against wsproto's own server-side encoder (hypothesis)."""

from __future__ import annotations

from collections import deque

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage

from protocol.transport.inbound import (
    CloseReceived,
    InboundFrameParser,
    InboundProtocolError,
    PingReceived,
)

# a message: (is_text, content pieces) — several pieces means a fragmented message
message_strategy = st.tuples(
    st.booleans(),
    st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=3),
)


def encode(messages: list[tuple[bool, list[bytes]]], pings: list[int]) -> tuple[bytes, list[bytes | str]]:
    server = Connection(ConnectionType.SERVER)
    wire = bytearray()
    expected: list[bytes | str] = []
    for index, (is_text, pieces) in enumerate(messages):
        if index in pings:
            wire += server.send(Ping(payload=b"p%d" % index))
        if is_text:
            texts = [piece.decode("latin-1") for piece in pieces]
            for i, text in enumerate(texts):
                wire += server.send(TextMessage(data=text, message_finished=i == len(texts) - 1))
            expected.append("".join(texts))
        else:
            for i, piece in enumerate(pieces):
                wire += server.send(BytesMessage(data=piece, message_finished=i == len(pieces) - 1))
            expected.append(b"".join(pieces))
    return bytes(wire), expected


@settings(max_examples=200)
@given(
    st.lists(message_strategy, min_size=1, max_size=12),
    st.lists(st.integers(min_value=1, max_value=700), max_size=30),
    st.lists(st.integers(min_value=0, max_value=11), max_size=3),
)
def test_parser_matches_wsproto_encoding_for_any_split(
    messages: list[tuple[bool, list[bytes]]], cuts: list[int], pings: list[int]
) -> None:
    wire, expected = encode(messages, pings)
    parser = InboundFrameParser(max_message_size=1 << 20)
    got: deque[bytes | str] = deque()
    controls: list[object] = []
    position = 0
    for cut in [*cuts, len(wire)]:
        chunk = wire[position : position + cut]
        position += len(chunk)
        if chunk:
            controls.extend(parser.feed(chunk, got) or [])
    assert position == len(wire)
    assert list(got) == expected
    assert controls == [PingReceived(b"p%d" % i) for i in sorted(set(pings)) if i < len(messages)]


def test_large_message_split_over_many_reads_and_extended_lengths() -> None:
    server = Connection(ConnectionType.SERVER)
    big = b"x" * 200_000  # 64-bit length
    medium = "y" * 1000  # 16-bit length
    wire = server.send(BytesMessage(data=big)) + server.send(TextMessage(data=medium))
    parser = InboundFrameParser(max_message_size=1 << 20)
    got: deque[bytes | str] = deque()
    for start in range(0, len(wire), 65536):
        parser.feed(wire[start : start + 65536], got)
    assert list(got) == [big, medium]


def test_close_frame_code_and_reason() -> None:
    server = Connection(ConnectionType.SERVER)
    parser = InboundFrameParser(1024)
    got: deque[bytes | str] = deque()
    controls = parser.feed(server.send(CloseConnection(code=4004, reason="Authentication failed.")), got)
    assert controls == [CloseReceived(4004, "Authentication failed.")]
    assert parser.feed(b"\x88\x00", got) == [CloseReceived(1005, "")]


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"\x81\x85abcd" + b"x" * 5, "masked"),
        (b"\xc1\x01x", "reserved bits"),
        (b"\x83\x01x", "unknown opcode"),
        (b"\x80\x01x", "continuation frame without"),
        (b"\x01\x01a\x81\x01b", "fragmented message is open"),
        (b"\x89\x7e\x00\x7e" + b"p" * 126, "control frames"),
        (b"\x81\x02\xff\xfe", "UTF-8"),
        (b"\x82\x7f" + (2000).to_bytes(8, "big"), "too big"),
        (b"\x88\x01x", "one-byte"),
    ],
)
def test_protocol_errors(wire: bytes, message: str) -> None:
    parser = InboundFrameParser(max_message_size=1000)
    with pytest.raises(InboundProtocolError, match=message):
        parser.feed(wire, deque())


def test_fragmented_message_over_the_size_cap() -> None:
    parser = InboundFrameParser(max_message_size=10)
    with pytest.raises(InboundProtocolError, match="too big"):
        parser.feed(b"\x02\x08" + b"a" * 8 + b"\x80\x08" + b"b" * 8, deque())
