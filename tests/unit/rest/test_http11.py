"""The REST client's HTTP/1.1 codec (`protocol.rest.http11`) and the pool on top of it (`HttpExchange`).

The codec tests are pure (bytes in, bytes or a `Response` out); every response is also parsed split at every
byte and in random pieces, because the parser must give the same answer however TCP cuts the stream. h11
serves as an independent oracle: it parses what we encode, and it serialises responses we must parse alike.
The last section drives `HttpExchange` over loopback against a small trio server written here, whose
connection behaviour each test chooses.
"""

from __future__ import annotations

import itertools
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial

import h11
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.rest.http import TRANSPORT_ERRORS, HttpExchange, TransportError
from protocol.rest.http11 import (
    MAX_HEAD_SIZE,
    MAX_HEADERS,
    Http11Error,
    InvalidRequestError,
    ProtocolError,
    Response,
    ResponseParser,
    encode_request,
)

HOST = [(b"Host", b"discord.test")]
JSON = b'{"id":"1","content":"hello"}'

# --------------------------------------------------------------------------------------------- encoding


def test_get_is_encoded_exactly() -> None:
    headers = [*HOST, (b"User-Agent", b"bot 1.0"), (b"Authorization", b"Bot abc.def")]
    assert encode_request(b"GET", b"/api/v10/users/@me?with_counts=true", headers) == (
        b"GET /api/v10/users/@me?with_counts=true HTTP/1.1\r\n"
        b"Host: discord.test\r\n"
        b"User-Agent: bot 1.0\r\n"
        b"Authorization: Bot abc.def\r\n"
        b"\r\n"
    )


def test_a_body_gets_its_content_length_and_follows_the_head() -> None:
    headers = [*HOST, (b"Content-Type", b"application/json")]
    assert encode_request(b"POST", b"/api/v10/channels/1/messages", headers, JSON) == (
        b"POST /api/v10/channels/1/messages HTTP/1.1\r\n"
        b"Host: discord.test\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 28\r\n"
        b"\r\n" + JSON
    )


@pytest.mark.parametrize("method", [b"POST", b"PUT", b"PATCH"])
def test_a_bodiless_post_put_or_patch_says_content_length_0(method: bytes) -> None:
    assert encode_request(method, b"/x", HOST) == method + b" /x HTTP/1.1\r\nHost: discord.test\r\n" + (
        b"Content-Length: 0\r\n\r\n"
    )


@pytest.mark.parametrize("method", [b"GET", b"DELETE", b"HEAD"])
def test_other_bodiless_methods_send_no_content_length(method: bytes) -> None:
    assert encode_request(method, b"/x", HOST) == method + b" /x HTTP/1.1\r\nHost: discord.test\r\n\r\n"


def test_a_delete_with_a_body_has_its_length() -> None:
    assert encode_request(b"DELETE", b"/x", HOST, b"{}").endswith(b"\r\nContent-Length: 2\r\n\r\n{}")


def test_the_body_may_hold_any_bytes() -> None:
    body = b"--boundary\r\n\r\n\x00\r\nContent-Length: 99\r\n\n\r"
    out = encode_request(b"POST", b"/upload", HOST, body)
    assert out.endswith(b"Content-Length: %d\r\n\r\n" % len(body) + body)


BAD_BYTES = [b"\r", b"\n", b"\r\n", b"\x00", b"\r\nX-Injected: 1"]


@pytest.mark.parametrize("bad", BAD_BYTES)
@pytest.mark.parametrize("where", ["target", "name", "value", "method", "first-value"])
def test_cr_lf_and_nul_are_refused_everywhere_in_the_head(bad: bytes, where: str) -> None:
    method, target = b"POST", b"/api/v10/channels/1/messages"
    headers = [*HOST, (b"X-Audit-Log-Reason", b"tidy up")]
    if where == "target":
        target = target[:10] + bad + target[10:]
    elif where == "method":
        method += bad
    elif where == "name":
        headers[1] = (b"X-Audit" + bad, b"tidy up")
    elif where == "value":
        headers[1] = (b"X-Audit-Log-Reason", b"tidy" + bad + b"up")
    else:
        headers[0] = (b"Host", b"discord.test" + bad)
    with pytest.raises(InvalidRequestError):
        encode_request(method, target, headers, JSON)


def test_injection_errors_are_value_errors_of_the_codec() -> None:
    with pytest.raises(ValueError, match="CR, LF or NUL") as caught:
        encode_request(b"GET", b"/x", [*HOST, (b"X", b"a\r\nHost: evil")])
    assert isinstance(caught.value, Http11Error)


def test_a_space_in_the_target_is_refused() -> None:
    with pytest.raises(InvalidRequestError):
        encode_request(b"GET", b"/x HTTP/1.1", HOST)


@pytest.mark.parametrize(
    "header", [(b"Content-Length", b"2"), (b"content-length", b"2"), (b"Transfer-Encoding", b"chunked")]
)
@pytest.mark.parametrize("body", [b"", b"{}"])
def test_framing_headers_belong_to_the_codec(header: tuple[bytes, bytes], body: bytes) -> None:
    with pytest.raises(InvalidRequestError, match="set by the codec"):
        encode_request(b"POST", b"/x", [*HOST, header], body)


_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=0, max_size=30).map(
    lambda s: s.strip().encode()
)
_NAME = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=20
)


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from([b"GET", b"POST", b"PUT", b"PATCH", b"DELETE"]),
    path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/@%?=&-_.", max_size=40),
    headers=st.lists(
        st.tuples(
            _NAME.filter(lambda n: n.lower() not in ("content-length", "transfer-encoding", "host")), _VALUE
        ),
        max_size=8,
    ),
    body=st.binary(max_size=200),
)
def test_h11_reads_what_we_encode(
    method: bytes, path: str, headers: list[tuple[str, bytes]], body: bytes
) -> None:
    pairs = [*HOST, *((name.encode(), value) for name, value in headers)]
    server = h11.Connection(h11.SERVER)
    server.receive_data(encode_request(method, b"/" + path.encode(), pairs, body))
    request = server.next_event()
    assert isinstance(request, h11.Request)
    assert request.method == method and request.target == b"/" + path.encode()
    received = [(name, value) for name, value in request.headers if name != b"content-length"]
    assert received == [(name.lower(), value) for name, value in pairs]
    data = b""
    while not isinstance(event := server.next_event(), h11.EndOfMessage):
        assert isinstance(event, h11.Data)
        data += event.data
    assert data == body
    assert server.next_event() is h11.PAUSED or server.their_state is h11.DONE


# ---------------------------------------------------------------------------------------------- parsing


def pieces(raw: bytes, cuts: list[int]) -> list[bytes]:
    edges = [0, *sorted({c for c in cuts if 0 < c < len(raw)}), len(raw)]
    return [raw[a:b] for a, b in itertools.pairwise(edges)]


def parse(chunks: Sequence[bytes | bytearray], *, head: bool = False, eof: bool = False) -> Response:
    """Feed ``chunks`` one by one; only the last may (and must) complete the response."""
    parser = ResponseParser(head=head)
    result = None
    for i, chunk in enumerate(chunks):
        assert result is None, f"complete after {i} of {len(chunks)} pieces"
        result = parser.feed(chunk)
    if eof:
        assert result is None
        result = parser.feed_eof()
    assert result is not None, "incomplete"
    assert parser.complete
    return result


def every_split(raw: bytes, *, head: bool = False, eof: bool = False) -> Response:
    """Parse ``raw`` whole, byte by byte and cut in two at every index: all must agree."""
    whole = parse([raw], head=head, eof=eof)
    assert parse([raw[i : i + 1] for i in range(len(raw))], head=head, eof=eof) == whole
    for i in range(1, len(raw)):
        assert parse([raw[:i], raw[i:]], head=head, eof=eof) == whole, f"split at {i}"
    # a bytearray (as TLS streams give) reads the same
    assert parse([bytearray(raw)], head=head, eof=eof) == whole
    return whole


DISCORD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Date: Wed, 01 May 2024 12:00:00 GMT\r\n"
    b"Content-Type: application/json\r\n"
    b"Content-Length: 28\r\n"
    b"Connection: keep-alive\r\n"
    b"X-RateLimit-Bucket: 80c17d2f203122d936070c88c8d10f33\r\n"
    b"X-RateLimit-Limit: 5\r\n"
    b"X-RateLimit-Remaining: 4\r\n"
    b"X-RateLimit-Reset-After: 1.000\r\n"
    b"Via: 1.1 google\r\n"
    b"Strict-Transport-Security: max-age=31536000; includeSubDomains\r\n"
    b"Server: cloudflare\r\n"
    b"\r\n" + JSON
)


def test_a_typical_discord_response_parses_at_every_split_point() -> None:
    response = every_split(DISCORD)
    assert response.status == 200 and response.reason == b"OK" and response.http_version == b"1.1"
    assert response.body == JSON
    assert response.keep_alive
    assert response.headers[:4] == [
        (b"date", b"Wed, 01 May 2024 12:00:00 GMT"),
        (b"content-type", b"application/json"),
        (b"content-length", b"28"),
        (b"connection", b"keep-alive"),
    ]
    assert (b"x-ratelimit-bucket", b"80c17d2f203122d936070c88c8d10f33") in response.headers
    assert len(response.headers) == 11 and response.trailers == []


@settings(max_examples=300, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=len(DISCORD) - 1), max_size=40))
def test_a_response_in_random_pieces_parses_the_same(cuts: list[int]) -> None:
    assert parse(pieces(DISCORD, cuts)) == parse([DISCORD])


def test_values_are_trimmed_and_may_be_empty_or_hold_colons_tabs_and_obs_text() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nA:   spaced out \t \r\nB:\r\nC: a: b:c\r\nD: x\ty\r\nE: caf\xc3\xa9\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    response = every_split(raw)
    assert response.headers[:5] == [
        (b"a", b"spaced out"),
        (b"b", b""),
        (b"c", b"a: b:c"),
        (b"d", b"x\ty"),
        (b"e", b"caf\xc3\xa9"),
    ]


@pytest.mark.parametrize(
    ("line", "reason"),
    [(b"HTTP/1.1 404 Not Found", b"Not Found"), (b"HTTP/1.1 200 ", b""), (b"HTTP/1.1 200", b"")],
)
def test_the_reason_phrase_may_be_long_empty_or_missing(line: bytes, reason: bytes) -> None:
    response = parse([line + b"\r\nContent-Length: 0\r\n\r\n"])
    assert response.reason == reason and response.body == b""


def test_chunked_with_extensions_and_trailers() -> None:
    raw = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b'1 ; quoted="a b"\r\n,\r\n'
        b"A\r\n world!!!!\r\n"
        b"0;last\r\n"
        b"X-Checksum: abc\r\nX-Other:  2 \r\n\r\n"
    )
    response = every_split(raw)
    assert response.body == b"hello, world!!!!"
    assert response.trailers == [(b"x-checksum", b"abc"), (b"x-other", b"2")]
    assert response.keep_alive


def test_chunked_without_trailers_and_with_an_empty_body() -> None:
    assert every_split(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n").body == b""
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    assert every_split(raw).body == b"{}"


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body_whatever_the_headers_say(status: int) -> None:
    raw = b"HTTP/1.1 %d X\r\nContent-Length: 10\r\n\r\n" % status
    response = every_split(raw)
    assert response.status == status and response.body == b"" and response.keep_alive
    chunked = b"HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n" % status
    assert every_split(chunked).body == b""


def test_a_response_to_head_has_no_body() -> None:
    head_only = DISCORD[: -len(JSON)]
    response = every_split(head_only, head=True)
    assert response.body == b"" and response.status == 200 and response.keep_alive
    # the same head without head=True waits for the 28 body bytes
    assert ResponseParser().feed(head_only) is None


def test_informational_responses_are_skipped() -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + DISCORD
    )
    response = every_split(raw)
    assert response.status == 200 and response.body == JSON
    assert (b"link", b"</style.css>; rel=preload") not in response.headers


def test_a_body_delimited_by_the_close_ends_at_eof_and_the_connection_is_not_reusable() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until the end"
    response = every_split(raw, eof=True)
    assert response.body == b"all of this until the end"
    assert not response.keep_alive
    assert parse([b"HTTP/1.1 200 OK\r\n\r\n"], eof=True).body == b""


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n", True),
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Close\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Upgrade, close\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: x-something\r\n", True),
        (b"HTTP/1.0 200 OK\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: x-something\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n", True),
        (b"HTTP/1.0 200 OK\r\nConnection: foo, keep-alive\r\n", True),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\n", False),
    ],
)
def test_whether_the_connection_may_be_reused(head: bytes, keep_alive: bool) -> None:
    response = parse([head + b"Content-Length: 2\r\n\r\n{}"])
    assert response.keep_alive is keep_alive
    assert response.http_version == head[5:8]


def test_an_http_1_0_response_without_length_is_close_delimited() -> None:
    response = parse([b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", b"abc"], eof=True)
    assert response.body == b"abc" and not response.keep_alive


@pytest.mark.parametrize("value", [b"2, 2", b"2,2"])
def test_identical_repeated_content_lengths_are_accepted(value: bytes) -> None:
    assert parse([b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\n{}"]).body == b"{}"
    twice = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}"
    assert parse([twice]).body == b"{}"


def test_a_large_body_in_many_pieces() -> None:
    body = bytes(random.Random(7).getrandbits(8) for _ in range(300_000))
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert parse(pieces(raw, list(range(1000, len(raw), 4096)))).body == body
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(
            b"%x\r\n" % len(body[i : i + 7000]) + body[i : i + 7000] + b"\r\n"
            for i in range(0, len(body), 7000)
        )
        + b"0\r\n\r\n"
    )
    assert parse(pieces(chunked, list(range(1, len(chunked), 3333)))).body == body


def test_feeding_nothing_is_harmless_and_feeding_after_completion_returns_the_same_response() -> None:
    parser = ResponseParser()
    assert parser.feed(b"") is None
    response = parser.feed(DISCORD)
    assert response is not None
    assert parser.feed(b"") is response
    assert parser.feed_eof() is response


# h11 as an oracle: responses it serialises, we must read the same.
@settings(max_examples=150, deadline=None)
@given(
    status=st.sampled_from([200, 201, 204, 304, 400, 404, 429, 500, 502]),
    headers=st.lists(
        st.tuples(
            _NAME.filter(lambda n: n.lower() not in ("content-length", "transfer-encoding", "connection")),
            _VALUE,
        ),
        max_size=10,
    ),
    body=st.binary(max_size=300),
    chunked=st.booleans(),
    close=st.booleans(),
    data=st.data(),
)
def test_we_read_what_h11_serves(
    status: int,
    headers: list[tuple[str, bytes]],
    body: bytes,
    chunked: bool,
    close: bool,
    data: st.DataObject,
) -> None:
    if status in (204, 304):
        body = b""
    server = h11.Connection(h11.SERVER)
    server.receive_data(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert isinstance(server.next_event(), h11.Request)
    assert isinstance(server.next_event(), h11.EndOfMessage)
    framing = [(b"Transfer-Encoding", b"chunked")] if chunked else [(b"Content-Length", b"%d" % len(body))]
    if status in (204, 304):
        framing = []
    pairs = [(name.encode(), value) for name, value in headers] + framing
    if close:
        pairs.append((b"Connection", b"close"))
    raw = server.send(h11.Response(status_code=status, headers=pairs)) or b""
    if body:
        half = len(body) // 2  # two Data events: two chunks when chunked
        raw += (server.send(h11.Data(data=body[:half])) or b"") + (
            server.send(h11.Data(data=body[half:])) or b""
        )
    raw += server.send(h11.EndOfMessage()) or b""
    cuts = data.draw(st.lists(st.integers(min_value=1, max_value=max(1, len(raw) - 1)), max_size=12))
    response = parse(pieces(raw, cuts))
    assert response.status == status
    assert response.body == body
    assert sorted(response.headers) == sorted((name.lower(), value) for name, value in pairs)
    assert response.keep_alive is not close


# ----------------------------------------------------------------------------------------- malformed

MALFORMED = {
    "HTTP/2 status line": b"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.2": b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
    "lower-case protocol": b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "two-digit status": b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
    "four-digit status": b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",
    "status 099": b"HTTP/1.1 099 Hmm\r\nContent-Length: 0\r\n\r\n",
    "letters in status": b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
    "not HTTP": b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n",
    "leading empty line": b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "control character in reason": b"HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
    "header without colon": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nNoColonHere\r\n\r\n",
    "space before colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    "empty header name": b"HTTP/1.1 200 OK\r\n: value\r\nContent-Length: 0\r\n\r\n",
    "space in header name": b"HTTP/1.1 200 OK\r\nX Y: 1\r\nContent-Length: 0\r\n\r\n",
    "obs-fold (space)": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued\r\nContent-Length: 0\r\n\r\n",
    "obs-fold (tab)": b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\tcontinued\r\nContent-Length: 0\r\n\r\n",
    "bare LF between headers": b"HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\nContent-Length: 0\r\n\r\n",
    "bare LF after status line": b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
    "bare CR in value": b"HTTP/1.1 200 OK\r\nX-A: 1\r2\r\nContent-Length: 0\r\n\r\n",
    "NUL in value": b"HTTP/1.1 200 OK\r\nX-A: 1\x002\r\nContent-Length: 0\r\n\r\n",
    "non-numeric Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
    "negative Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    "signed Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}",
    "fractional Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 1.5\r\n\r\n{}",
    "empty Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
    "hex Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 0x2\r\n\r\n{}",
    "absurd Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    "5000-digit Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n",
    "conflicting Content-Length fields": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}"
    ),
    "conflicting Content-Length list": b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n{}",
    "Content-Length and Transfer-Encoding": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "gzip transfer coding": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    "gzip then chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    "chunked twice": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "non-hex chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "negative chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n",
    "empty chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
    "chunk size with 0x": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n0\r\n\r\n",
    "huge chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 17 + b"\r\n",
    "chunk data longer than its size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n"
    ),
    "chunk without CRLF": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}0\r\n\r\n",
    "other bytes after chunk data": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XY1\r\nZ\r\n0\r\n\r\n"
    ),
    "chunk with LF only": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\n0\r\n\r\n",
    "malformed trailer": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nbad trailer\r\n\r\n",
    "101 without an upgrade": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    "bytes after the body": DISCORD + b"HTTP/1.1 200 OK\r\n",
    "bytes after a chunked body": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX",
    "bytes after a 204": b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\n{}",
}


def feed_all(chunks: list[bytes], *, max_body_size: int | None = None) -> None:
    parser = ResponseParser() if max_body_size is None else ResponseParser(max_body_size=max_body_size)
    for chunk in chunks:
        parser.feed(chunk)
    parser.feed_eof()


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_responses_raise_protocol_error_whole_and_byte_by_byte(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        feed_all([raw])
    with pytest.raises(ProtocolError):
        feed_all([raw[i : i + 1] for i in range(len(raw))])


def test_a_101_is_refused_at_once() -> None:
    with pytest.raises(ProtocolError, match="101 Switching Protocols"):
        ResponseParser().feed(MALFORMED["101 without an upgrade"])


def test_bytes_arriving_after_completion_in_a_later_feed_raise() -> None:
    parser = ResponseParser()
    assert parser.feed(DISCORD) is not None
    with pytest.raises(ProtocolError, match="after the end of the response"):
        parser.feed(b"H")


@pytest.mark.parametrize(
    "raw",
    [
        DISCORD[:40],  # inside the head
        DISCORD[:-1],  # one body byte short
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",  # no last chunk
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",  # unfinished trailers
        b"HTTP/1.1 100 Continue\r\n\r\n",  # only an informational response
        b"",
    ],
)
def test_eof_before_the_response_is_complete_raises(raw: bytes) -> None:
    parser = ResponseParser()
    assert parser.feed(raw) is None
    with pytest.raises(ProtocolError, match="closed before the response was complete"):
        parser.feed_eof()


def test_the_head_size_is_limited_even_when_it_never_ends() -> None:
    filler = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    endless = b"HTTP/1.1 200 OK\r\n" + filler * (MAX_HEAD_SIZE // len(filler) + 1)
    parser = ResponseParser()
    with pytest.raises(ProtocolError, match="65536"):
        for i in range(0, len(endless), 500):
            parser.feed(endless[i : i + 500])
    complete = endless + b"Content-Length: 0\r\n\r\n"
    with pytest.raises(ProtocolError, match="65536"):
        ResponseParser().feed(complete)


def test_a_head_just_under_the_limit_is_fine() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
    filler = b"X-F: " + b"a" * (MAX_HEAD_SIZE - len(head) - 9) + b"\r\n"
    assert len(head + filler) + 2 <= MAX_HEAD_SIZE
    assert parse([head + filler + b"\r\n"]).headers[-1][0] == b"x-f"


def test_the_header_count_is_limited() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
    fine = head + b"X: 1\r\n" * (MAX_HEADERS - 1) + b"\r\n"
    assert len(parse([fine]).headers) == MAX_HEADERS
    with pytest.raises(ProtocolError, match="more than 256 header"):
        ResponseParser().feed(head + b"X: 1\r\n" * MAX_HEADERS + b"\r\n")


def test_a_chunk_size_line_is_limited() -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;" + b"e" * 5000
    with pytest.raises(ProtocolError, match="4096"):
        ResponseParser().feed(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n5\r\n12345\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n12345678901",
    ],
    ids=["content-length", "chunked", "until-close"],
)
def test_the_body_size_is_limited(raw: bytes) -> None:
    with pytest.raises(ProtocolError, match="10-byte limit"):
        feed_all([raw], max_body_size=10)


def test_protocol_errors_are_codec_errors_and_transport_errors() -> None:
    assert issubclass(ProtocolError, Http11Error)
    assert ProtocolError in TRANSPORT_ERRORS


# ------------------------------------------------------------------------- HttpExchange over loopback

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 28\r\n"

Answer = Callable[[trio.SocketStream, bytes, "Server"], Awaitable[bool]]


class Server:
    """Reads requests (head + Content-Length body) and lets ``answer`` write the response; ``answer``
    returns False to close the connection afterwards."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.writes = 0
        self.port = 0

    async def serve(self, stream: trio.SocketStream) -> None:
        self.connections += 1
        stream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, True)
        buffer = b""
        async with stream:
            try:
                while True:
                    while b"\r\n\r\n" not in buffer:
                        data = await stream.receive_some(65536)
                        if not data:
                            return
                        buffer += data
                    head, buffer = buffer.split(b"\r\n\r\n", 1)
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        if name.lower() == b"content-length":
                            length = int(value)
                    while len(buffer) < length:
                        buffer += await stream.receive_some(65536)
                    self.requests.append(head + b"\r\n\r\n" + buffer[:length])
                    buffer = buffer[length:]
                    if not await self.answer(stream, self.requests[-1], self):
                        return
            except trio.BrokenResourceError:
                return

    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"


@asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[Server]:
    server = Server(answer)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server.serve, 0, host="127.0.0.1"))
        server.port = listeners[0].socket.getsockname()[1]
        yield server
        nursery.cancel_scope.cancel()


async def keep_alive(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
    await stream.send_all(OK_HEAD + b"\r\n" + JSON)
    return True


async def send(
    exchange: HttpExchange, server: Server, method: bytes = b"POST", body: bytes | None = b"{}"
) -> tuple[int, dict[str, str], bytes]:
    headers = [(b"Host", f"127.0.0.1:{server.port}".encode()), (b"Content-Type", b"application/json")]
    url = f"{server.base()}/channels/1/messages".encode()
    return await exchange.send(method, url, headers, body)


async def test_sequential_requests_reuse_one_kept_alive_connection() -> None:
    async with serving(keep_alive) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        for _ in range(5):
            status, headers, body = await send(exchange, server)
            assert (status, body) == (200, JSON)
            assert headers == {"content-type": "application/json", "content-length": "28"}
        await exchange.aclose()
    assert server.connections == 1
    assert len(server.requests) == 5
    assert server.requests[0] == (
        b"POST /api/v10/channels/1/messages HTTP/1.1\r\n"
        b"Host: 127.0.0.1:%d\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}" % server.port
    )


async def test_an_idle_connection_the_server_closed_is_retried_once_on_a_fresh_one() -> None:
    async def answer_then_close_idle(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
        await stream.send_all(OK_HEAD + b"\r\n" + JSON)  # promises keep-alive...
        return False  # ...then closes the idle connection

    async with serving(answer_then_close_idle) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        assert (await send(exchange, server))[0] == 200
        await trio.sleep(0.05)  # the server's FIN reaches the pooled connection
        status, _, body = await send(exchange, server)
        assert (status, body) == (200, JSON)
        await exchange.aclose()
    assert len(server.requests) == 2  # each request reached the server exactly once
    assert server.connections == 2  # the second went out again on a fresh connection


async def test_a_fresh_connection_closed_before_any_answer_is_not_retried() -> None:
    async def hang_up(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
        return False

    async with serving(hang_up) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        with pytest.raises(TransportError, match="closed the connection mid-response"):
            await send(exchange, server)
        await exchange.aclose()
    assert len(server.requests) == 1


async def test_a_response_split_across_many_tcp_writes() -> None:
    raw = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'3;ext=1\r\n{"i\r\n19\r\nd":"1","content":"hello"}\r\n0\r\nX-Trailer: yes\r\n\r\n'
    )

    async def dribble(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
        for i in range(0, len(raw), 7):
            await stream.send_all(raw[i : i + 7])
            server.writes += 1
            await trio.sleep(0.002)
        return True

    async with serving(dribble) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        for _ in range(2):
            status, headers, body = await send(exchange, server)
            assert (status, body) == (200, JSON)
            assert headers["transfer-encoding"] == "chunked"
        await exchange.aclose()
    assert server.writes > 40
    assert server.connections == 1


async def test_connection_close_is_honoured_even_if_the_server_keeps_the_socket_open() -> None:
    async def answer(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
        await stream.send_all(OK_HEAD + b"Connection: close\r\n\r\n" + JSON)
        return True  # would serve another request on it: the client must not send one

    async with serving(answer) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        for _ in range(3):
            assert (await send(exchange, server))[2] == JSON
        await exchange.aclose()
    assert server.connections == 3


async def test_a_close_delimited_body_is_read_to_the_end_and_not_reused() -> None:
    async def answer(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
        await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + JSON[:10])
        await trio.sleep(0.01)
        await stream.send_all(JSON[10:])
        return False

    async with serving(answer) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        for _ in range(3):
            assert (await send(exchange, server))[2] == JSON
        await exchange.aclose()
    assert server.connections == 3
    assert len(server.requests) == 3


async def test_head_requests_and_bodiless_answers_keep_the_connection() -> None:
    async def answer(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
        if request.startswith(b"HEAD"):
            await stream.send_all(OK_HEAD + b"\r\n")  # Content-Length: 28, no body
        else:
            await stream.send_all(b"HTTP/1.1 204 No Content\r\n\r\n")
        return True

    async with serving(answer) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        assert (await send(exchange, server, b"HEAD", None))[::2] == (200, b"")
        assert (await send(exchange, server, b"DELETE", None))[::2] == (204, b"")
        assert (await send(exchange, server, b"HEAD", None))[::2] == (200, b"")
        await exchange.aclose()
    assert server.connections == 1
    assert b"Content-Length" not in server.requests[0]


async def test_a_malformed_response_is_a_transport_error_and_the_connection_is_dropped() -> None:
    async def answer(stream: trio.SocketStream, request: bytes, server: Server) -> bool:
        if len(server.requests) == 1:
            await stream.send_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
        else:
            await stream.send_all(OK_HEAD + b"\r\n" + JSON)
        return True

    async with serving(answer) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        with pytest.raises(TRANSPORT_ERRORS, match="conflicting Content-Length"):
            await send(exchange, server)
        assert (await send(exchange, server))[2] == JSON
        await exchange.aclose()
    assert server.connections == 2


async def test_an_injected_header_is_refused_before_anything_is_sent() -> None:
    async with serving(keep_alive) as server:
        exchange = HttpExchange(server.base(), timeout=5)
        headers = [(b"Host", b"x"), (b"X-Audit-Log-Reason", b"hi\r\nX-Evil: 1")]
        with pytest.raises(ValueError, match="CR, LF or NUL"):
            await exchange.send(b"GET", f"{server.base()}/users/@me".encode(), headers, None)
        await exchange.aclose()
    assert server.connections == 0
