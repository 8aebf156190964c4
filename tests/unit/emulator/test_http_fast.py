"""The emulator's fast server-side HTTP/1.1 codec (`protocol.emulator.http_fast`) and the loop running it.

The parser tests are pure (bytes in, `ParsedRequest` out); a request is also parsed split at every byte,
because the parser must give the same answer however TCP cuts the stream. h11 is the oracle both ways: it
reads the responses we encode (and they must carry the same headers as the h11 path's), and requests it
writes as a client must become the same `HttpRequest` through the h11 path and through this codec. The last
section runs `serve_http_connection(..., codec="fast")` over in-memory streams.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import h11
import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.emulator import EmulatorConfig
from protocol.emulator.http_fast import (
    MAX_HEAD,
    HttpCodecError,
    InvalidResponseError,
    ParsedRequest,
    RequestParser,
    encode_response,
    encode_switching_protocols,
)
from protocol.emulator.http_server import (
    MAX_BODY,
    DropConnection,
    HttpRequest,
    HttpResponse,
    _H11Connection,
    _parse_request,
    serve_http_connection,
    websocket_accept,
)

JSON = b'{"type":4,"data":{"content":"Pong!"}}'
CALLBACK = (
    b"POST /api/v10/interactions/1/dG9rZW4/callback?with_response=false HTTP/1.1\r\n"
    b"Host: 127.0.0.1:8080\r\n"
    b"User-Agent: DiscordBot (https://example.test, 1.0)\r\n"
    b"Authorization: Bot abc.def.ghi\r\n"
    b"Content-Type: application/json\r\n"
    b"X-Empty:\r\n"
    b"X-Spaced: \t a  b \t\r\n"
    b"Content-Length: %d\r\n"
    b"\r\n" % len(JSON)
) + JSON
CALLBACK_REQUEST = HttpRequest(
    method="POST",
    path="/api/v10/interactions/1/dG9rZW4/callback",
    query={"with_response": "false"},
    headers={
        "host": "127.0.0.1:8080",
        "user-agent": "DiscordBot (https://example.test, 1.0)",
        "authorization": "Bot abc.def.ghi",
        "content-type": "application/json",
        "x-empty": "",
        "x-spaced": "a  b",
        "content-length": str(len(JSON)),
    },
    body=JSON,
    raw_query="with_response=false",
)

# --------------------------------------------------------------------------------------------- parsing


def parse_all(chunks: Sequence[bytes]) -> list[ParsedRequest]:
    """Feed ``chunks`` one by one, taking every request as soon as it is complete."""
    parser = RequestParser()
    parsed: list[ParsedRequest] = []
    for chunk in chunks:
        parser.feed(chunk)
        while (request := parser.next_request()) is not None:
            parsed.append(request)
    assert parser.trailing_data == b""
    return parsed


def parse_one(raw: bytes) -> ParsedRequest:
    parser = RequestParser()
    parser.feed(raw)
    parsed = parser.next_request()
    assert parsed is not None
    return parsed


def rejection(raw: bytes) -> int:
    """The status the server answers ``raw`` with (the codec's error), fed whole and byte by byte."""
    with pytest.raises(HttpCodecError) as whole:
        parse_all([raw])
    with pytest.raises(HttpCodecError) as split:
        parse_all([raw[i : i + 1] for i in range(len(raw))])
    assert split.value.status == whole.value.status
    return whole.value.status


def test_a_callback_post_parses_to_the_request_the_h11_path_builds() -> None:
    parsed = parse_one(CALLBACK)
    assert parsed == ParsedRequest(CALLBACK_REQUEST, keep_alive=True, http_version="1.1")
    assert parsed.request == h11_request(CALLBACK)[0]


def test_a_request_with_a_body_parses_the_same_at_every_split_point() -> None:
    expected = [parse_one(CALLBACK)]
    assert parse_all([CALLBACK[i : i + 1] for i in range(len(CALLBACK))]) == expected
    for i in range(1, len(CALLBACK)):
        assert parse_all([CALLBACK[:i], CALLBACK[i:]]) == expected, f"split at {i}"


def test_nothing_is_returned_before_the_last_byte() -> None:
    parser = RequestParser()
    for byte in CALLBACK[:-1]:
        parser.feed(bytes([byte]))
        assert parser.next_request() is None
    parser.feed(CALLBACK[-1:])
    assert parser.next_request() is not None
    assert parser.next_request() is None


@settings(max_examples=200, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=3 * len(CALLBACK) - 1), max_size=30))
def test_pipelined_requests_in_random_pieces_parse_the_same(cuts: list[int]) -> None:
    raw = CALLBACK * 3
    edges = [0, *sorted(set(cuts)), len(raw)]
    assert parse_all([raw[a:b] for a, b in itertools.pairwise(edges)]) == [parse_one(CALLBACK)] * 3


def test_pipelined_requests_in_one_read_come_out_in_order() -> None:
    raw = (
        b"GET /a?x=1&y= HTTP/1.1\r\nHost: h\r\n\r\n"
        + CALLBACK
        + b"\r\n"  # a stray empty line before the next request line is ignored
        + b"DELETE /c HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"
        + b"get /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    )
    first, second, third, fourth = parse_all([raw])
    assert first.request == HttpRequest("GET", "/a", {"x": "1", "y": ""}, {"host": "h"}, b"", "x=1&y=")
    assert second.request == CALLBACK_REQUEST
    assert (third.request.method, third.request.path, third.request.body) == ("DELETE", "/c", b"")
    assert fourth.request.method == "GET"  # upper-cased, as the h11 path does
    assert [p.keep_alive for p in (first, second, third, fourth)] == [True, True, True, False]


UPGRADE = (
    b"GET /?v=10 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def test_bytes_after_a_request_stay_buffered_as_trailing_data_like_h11s() -> None:
    raw = UPGRADE + b"\x81\x05hello\x88"
    parser = RequestParser()
    parser.feed(raw)
    parsed = parser.next_request()
    assert parsed is not None
    assert parsed.request.headers["upgrade"] == "websocket"
    request, trailing, _ = h11_request(raw)
    assert parsed.request == request
    assert parser.trailing_data == trailing == b"\x81\x05hello\x88"


@pytest.mark.parametrize(
    ("version", "connection", "keep_alive"),
    [
        (b"1.1", None, True),
        (b"1.1", b"keep-alive", True),
        (b"1.1", b"close", False),
        (b"1.1", b"Keep-Alive, CLOSE", False),
        (b"1.1", b"Upgrade", True),
        (b"1.0", None, False),
        (b"1.0", b"close", False),
        (b"1.0", b"keep-alive", True),
        (b"1.0", b"Upgrade,  Keep-Alive", True),
    ],
)
def test_keep_alive_follows_the_version_and_the_connection_header(
    version: bytes, connection: bytes | None, keep_alive: bool
) -> None:
    header = b"" if connection is None else b"Connection: " + connection + b"\r\n"
    parsed = parse_one(b"GET / HTTP/" + version + b"\r\nHost: h\r\n" + header + b"\r\n")
    assert parsed.keep_alive is keep_alive
    assert parsed.http_version == version.decode()


def test_repeated_connection_headers_are_all_read() -> None:
    parsed = parse_one(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n")
    assert not parsed.keep_alive


def test_http_10_needs_no_host_and_identical_content_lengths_are_accepted() -> None:
    parsed = parse_one(b"POST /x HTTP/1.0\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n{}")
    assert parsed.request.body == b"{}"
    assert parse_one(b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\n\r\n{}").request.body == b"{}"


def test_values_keep_colons_obs_text_and_inner_whitespace_and_the_last_repeat_wins() -> None:
    parsed = parse_one(b"GET / HTTP/1.1\r\nHost: h:1\r\nX-A: a:b\tc \r\nX-B: caf\xe9\r\nx-a: second\r\n\r\n")
    assert parsed.request.headers == {"host": "h:1", "x-a": "second", "x-b": "café"}


BAD_REQUESTS = {
    "no version": b"GET /\r\nHost: h\r\n\r\n",
    "HTTP/2.0": b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "lower-case version": b"GET / http/1.1\r\nHost: h\r\n\r\n",
    "two spaces": b"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
    "space in target": b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n",
    "non-ASCII target": b"GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n",
    "method not a token": b"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
    "empty request line": b" \r\nHost: h\r\n\r\n",
    "header without colon": b"GET / HTTP/1.1\r\nHost: h\r\nX-Broken\r\n\r\n",
    "space before colon": b"GET / HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n",
    "empty header name": b"GET / HTTP/1.1\r\nHost: h\r\n: b\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: b\r\n  folded\r\n\r\n",
    "obs-fold with a tab": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: b\r\n\tfolded\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: b\x00c\r\n\r\n",
    "control character in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: b\x1bc\r\n\r\n",
    "DEL in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: b\x7f\r\n\r\n",
    "bare CR in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: b\rc\r\n\r\n",
    "bare LF in a value": b"GET / HTTP/1.1\r\nHost: h\r\nX-A: b\nX-B: c\r\n\r\n",
    "bare LF line ends": b"GET / HTTP/1.1\nHost: h\n\n",
    "negative Content-Length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n",
    "signed Content-Length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\nx",
    "empty Content-Length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
    "hex Content-Length": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x1\r\n\r\nx",
    "non-ASCII digits": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \xb2\r\n\r\nxx",
    "conflicting Content-Length": (
        b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"
    ),
    "conflicting Content-Length list": b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\nxx",
    "no Host in HTTP/1.1": b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n",
    "two Hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
}


@pytest.mark.parametrize("raw", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_malformed_requests_are_answered_with_400(raw: bytes) -> None:
    assert rejection(raw) == 400


@pytest.mark.parametrize(
    "coding",
    [b"chunked", b"identity", b"gzip, chunked", b"Chunked"],
    ids=["chunked", "identity", "gzip", "case"],
)
def test_any_transfer_encoding_is_answered_with_501(coding: bytes) -> None:
    raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: " + coding + b"\r\n\r\n0\r\n\r\n"
    assert rejection(raw) == 501
    with_length = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert rejection(with_length + b"0\r\n\r\n") == 501


def test_a_head_over_64_kib_is_answered_with_431_whether_or_not_its_end_arrived() -> None:
    filler = b"X-Filler: " + b"a" * 1000 + b"\r\n"
    head = b"GET / HTTP/1.1\r\nHost: h\r\n" + filler * (MAX_HEAD // len(filler) + 1)
    parser = RequestParser()
    parser.feed(head)  # no blank line yet: the parser stops waiting once the head is too long
    with pytest.raises(HttpCodecError) as error:
        parser.next_request()
    assert error.value.status == 431
    whole = RequestParser()
    whole.feed(head + b"\r\n")
    with pytest.raises(HttpCodecError) as error:
        whole.next_request()
    assert error.value.status == 431
    # just under the limit is fine
    fits = RequestParser()
    fits.feed(b"GET / HTTP/1.1\r\nHost: h\r\nX-A: " + b"a" * (MAX_HEAD - 100) + b"\r\n\r\n")
    assert fits.next_request() is not None


def test_a_body_over_max_body_is_answered_with_413_before_it_arrives() -> None:
    parser = RequestParser()
    parser.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1))
    with pytest.raises(HttpCodecError) as error:
        parser.next_request()
    assert error.value.status == 413
    at_limit = RequestParser()
    at_limit.feed(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % MAX_BODY)
    assert at_limit.next_request() is None  # waiting for the body


def test_a_failed_parser_refuses_everything_after() -> None:
    parser = RequestParser()
    parser.feed(b"BAD\r\n\r\n")
    with pytest.raises(HttpCodecError):
        parser.next_request()
    parser.feed(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    with pytest.raises(HttpCodecError):
        parser.next_request()


# ------------------------------------------------------------------------------- h11 as the reference


def h11_request(raw: bytes) -> tuple[HttpRequest, bytes, bool]:
    """``raw`` read by the h11 path: the request, the bytes h11 leaves after it, and whether h11 would keep
    the connection alive after answering it."""
    server = h11.Connection(h11.SERVER)
    server.receive_data(raw)
    head = server.next_event()
    assert isinstance(head, h11.Request)
    body = b""
    while not isinstance(event := server.next_event(), h11.EndOfMessage):
        assert isinstance(event, h11.Data)
        body += event.data
    return _parse_request(head, body), bytes(server.trailing_data[0]), server.their_state is h11.DONE


def h11_reads(
    data: bytes, *, method: str = "GET", upgrade: bool = False
) -> tuple[h11.Response | h11.InformationalResponse, bytes, bool]:
    """``data`` read by an h11 client that sent ``method``: the response, its body, whether it is reusable."""
    client = h11.Connection(h11.CLIENT)
    headers = [("host", "h")]
    if upgrade:
        headers += [("connection", "Upgrade"), ("upgrade", "websocket")]
    client.send(h11.Request(method=method, target="/", headers=headers))
    client.send(h11.EndOfMessage())
    client.receive_data(data)
    response = client.next_event()
    assert isinstance(response, h11.Response | h11.InformationalResponse)
    body = b""
    if isinstance(response, h11.Response):
        while not isinstance(event := client.next_event(), h11.EndOfMessage):
            assert isinstance(event, h11.Data)
            body += event.data
    else:
        assert client.next_event() is h11.PAUSED
    return response, body, client.our_state is h11.DONE and client.their_state is h11.DONE


def h11_path_writes(response: HttpResponse, request: bytes = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n") -> bytes:
    """The bytes the h11 path writes for ``response`` to ``request``."""
    connection = _H11Connection()
    connection._h11.receive_data(request)
    while not isinstance(connection._h11.next_event(), h11.EndOfMessage):
        pass
    return connection.encode_response(response)


RESPONSES = {
    "200 json": HttpResponse(200, JSON, (("X-RateLimit-Limit", "5"), ("X-RateLimit-Bucket", "abc"))),
    "204": HttpResponse(204),
    "429": HttpResponse(
        429,
        b'{"message": "You are being rate limited.", "retry_after": 0.25, "global": false}',
        (("Retry-After", "1"), ("X-RateLimit-Scope", "user")),
    ),
    "429 from Cloudflare": HttpResponse(429, b"blocked", content_type="text/plain", from_edge=False),
    "400": HttpResponse(400, b'{"message": "400: Bad Request", "code": 50035}'),
    "404 empty": HttpResponse(404),
    "502": HttpResponse(502, b"bad gateway", content_type="text/html"),
    "unknown status": HttpResponse(599, b"?"),
}


@pytest.mark.parametrize("response", RESPONSES.values(), ids=RESPONSES.keys())
def test_h11_reads_our_responses_like_the_h11_paths(response: HttpResponse) -> None:
    ours, ours_body, reusable = h11_reads(encode_response(response))
    theirs, theirs_body, _ = h11_reads(h11_path_writes(response))
    assert isinstance(ours, h11.Response) and isinstance(theirs, h11.Response)
    assert ours.status_code == theirs.status_code == response.status
    assert ours.headers == theirs.headers  # same names, values and order
    assert ours_body == theirs_body == response.body
    assert reusable
    if response.status == 429:
        assert ours.reason == theirs.reason == b"TOO MANY REQUESTS"


def test_status_lines_have_reason_phrases() -> None:
    assert encode_response(HttpResponse(200, b"x")).startswith(b"HTTP/1.1 200 OK\r\n")
    assert encode_response(HttpResponse(204)) == (
        b"HTTP/1.1 204 No Content\r\n"
        b"content-length: 0\r\nserver: twi-bot-shard-emulator\r\nvia: 1.1 google\r\n\r\n"
    )
    assert encode_response(HttpResponse(429)).startswith(b"HTTP/1.1 429 TOO MANY REQUESTS\r\n")
    assert encode_response(HttpResponse(599)).startswith(b"HTTP/1.1 599 \r\n")


def test_closing_responses_say_so_like_the_h11_paths() -> None:
    response = HttpResponse(200, JSON)
    closing = b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    ours, _, reusable = h11_reads(encode_response(response, connection="close"))
    theirs, _, _ = h11_reads(h11_path_writes(response, closing))
    assert isinstance(ours, h11.Response) and isinstance(theirs, h11.Response)
    assert (b"connection", b"close") in ours.headers and (b"connection", b"close") in theirs.headers
    assert not reusable


def test_a_head_request_gets_the_length_but_not_the_body() -> None:
    data = encode_response(HttpResponse(200, JSON), head=True)
    assert data.endswith(b"\r\n\r\n") and b"content-length: %d\r\n" % len(JSON) in data
    response, body, reusable = h11_reads(data, method="HEAD")
    assert isinstance(response, h11.Response) and body == b"" and reusable


def test_the_101_answer_matches_the_h11_paths() -> None:
    accept = websocket_accept("dGhlIHNhbXBsZSBub25jZQ==")
    ours, _, _ = h11_reads(encode_switching_protocols(accept), upgrade=True)
    h11_path = _H11Connection()
    h11_path._h11.receive_data(UPGRADE)
    while h11_path._h11.next_event() is not h11.PAUSED:
        pass
    theirs, _, _ = h11_reads(h11_path.encode_switching_protocols(accept), upgrade=True)
    assert isinstance(ours, h11.InformationalResponse) and isinstance(theirs, h11.InformationalResponse)
    assert ours.status_code == 101 and ours.reason == b"Switching Protocols"
    assert ours.headers == theirs.headers
    assert (b"sec-websocket-accept", accept.encode()) in ours.headers


@pytest.mark.parametrize(
    "header",
    [
        ("X-A", "b\r\nSet-Cookie: evil"),
        ("X-A", "b\nc"),
        ("X-A", "b\rc"),
        ("X-A", "b\x00"),
        ("X-A\r\nX-B", "c"),
        ("X-A:\nb", "c"),
    ],
)
def test_handlers_cannot_inject_lines_into_the_head(header: tuple[str, str]) -> None:
    with pytest.raises(InvalidResponseError, match="CR, LF or NUL"):
        encode_response(HttpResponse(200, b"{}", (header,)))
    with pytest.raises(InvalidResponseError, match="CR, LF or NUL"):
        encode_response(HttpResponse(200, b"{}", content_type="".join(header)))


@pytest.mark.parametrize("status", [101, 199, 1000, 0])
def test_only_final_statuses_can_be_encoded(status: int) -> None:
    with pytest.raises(InvalidResponseError):
        encode_response(HttpResponse(status))


@pytest.mark.parametrize("status", [204, 304])
def test_no_body_on_204_or_304(status: int) -> None:
    with pytest.raises(InvalidResponseError):
        encode_response(HttpResponse(status, b"x"))


_TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_RESERVED = ("host", "content-length", "transfer-encoding", "connection", "upgrade")
_HEADER_NAME = st.text(alphabet=_TCHAR, min_size=1, max_size=20).filter(lambda n: n.lower() not in _RESERVED)
# Visible ASCII and obs-text with inner spaces and tabs; h11 refuses surrounding whitespace in what it sends.
_HEADER_VALUE = st.text(
    alphabet=st.characters(
        min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f", include_characters="\t"
    ),
    max_size=40,
).map(lambda s: s.strip(" \t").encode("latin-1"))
_PATH = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789@%-_.~:!$&'()*+,;=", max_size=12), max_size=5
).map(lambda segments: "/" + "/".join(segments))
_QUERY = st.lists(
    st.tuples(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_%+", max_size=8),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789%+=/:", max_size=8),
    ),
    max_size=4,
).map(lambda pairs: "&".join(f"{key}={value}" for key, value in pairs))


@settings(max_examples=300, deadline=None)
@given(
    method=st.one_of(
        st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        st.text(alphabet=_TCHAR, min_size=1, max_size=10),
    ),
    path=_PATH,
    query=st.one_of(st.none(), _QUERY),
    headers=st.lists(st.tuples(_HEADER_NAME, _HEADER_VALUE), max_size=10),
    body=st.binary(max_size=300),
    close=st.booleans(),
    cuts=st.lists(st.integers(min_value=1, max_value=2000), max_size=8),
)
def test_requests_h11_writes_read_the_same_through_both_codecs(
    method: str,
    path: str,
    query: str | None,
    headers: list[tuple[str, bytes]],
    body: bytes,
    close: bool,
    cuts: list[int],
) -> None:
    target = path if query is None else f"{path}?{query}"
    fields: list[tuple[str, bytes]] = [("Host", b"discord.test"), *headers]
    if body or method in ("POST", "PUT", "PATCH"):
        fields.append(("Content-Length", b"%d" % len(body)))
    if close:
        fields.append(("Connection", b"close"))
    client = h11.Connection(h11.CLIENT)
    raw = client.send(h11.Request(method=method, target=target, headers=fields)) or b""
    if body:
        raw += client.send(h11.Data(data=body)) or b""
    raw += client.send(h11.EndOfMessage()) or b""

    through_h11, _, h11_keeps_alive = h11_request(raw)

    edges = [0, *sorted({cut for cut in cuts if cut < len(raw)}), len(raw)]
    (parsed,) = parse_all([raw[a:b] for a, b in itertools.pairwise(edges)])
    assert parsed.request == through_h11
    assert parsed.keep_alive is not close
    assert parsed.keep_alive is h11_keeps_alive


# ------------------------------------------------------------------------------------ the server loop


async def echo_handler(request: HttpRequest) -> HttpResponse:
    if request.path == "/drop":
        raise DropConnection
    body = f"{request.method} {request.path} {request.query} {request.body.decode()}".encode()
    return HttpResponse(
        200, body, (("x-seen", request.headers.get("x-test", "")),), content_type="text/plain"
    )


async def no_upgrade(stream: trio.abc.Stream, request: HttpRequest, trailing: bytes) -> None:
    raise AssertionError("no upgrade expected")


async def exchange(data: bytes) -> bytes:
    """Send ``data`` to a fast-codec connection and read until the server closes it."""
    client, server = trio.testing.memory_stream_pair()
    received = b""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_http_connection, server, echo_handler, no_upgrade, "fast")
        await client.send_all(data)
        with trio.fail_after(5):
            while chunk := await client.receive_some(65536):
                received += chunk
    return received


async def test_the_loop_serves_pipelined_requests_and_closes_after_connection_close() -> None:
    received = await exchange(
        b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nX-Test: one\r\n\r\n"
        b"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody"
        b"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        b"GET /never HTTP/1.1\r\nHost: h\r\n\r\n"
    )
    assert received.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert b"GET /a {'x': '1'} " in received and b"x-seen: one" in received
    assert b"POST /b {} body" in received
    assert received.endswith(b"connection: close\r\n\r\nGET /c {} ")
    assert b"/never" not in received


async def test_the_loop_keeps_http_10_alive_only_when_asked() -> None:
    received = await exchange(
        b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\nGET /c HTTP/1.0\r\n\r\n"
    )
    first, second = received.split(b"HTTP/1.1 200 OK\r\n")[1:]
    assert b"connection: keep-alive\r\n" in first and first.endswith(b"GET /a {} ")
    assert b"connection: close\r\n" in second and second.endswith(b"GET /b {} ")


async def test_the_loop_drops_the_connection_without_an_answer() -> None:
    assert await exchange(b"GET /drop HTTP/1.1\r\nHost: h\r\n\r\nGET /a HTTP/1.1\r\nHost: h\r\n\r\n") == b""


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET / HTTP/1.1\r\nHost: h\r\nX-Broken\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501),
        (b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n" % (MAX_BODY + 1), 413),
        (b"GET / HTTP/1.1\r\nHost: h\r\nX-A: " + b"a" * MAX_HEAD, 431),
    ],
    ids=["400", "no host", "501", "413", "431"],
)
async def test_the_loop_answers_a_rejected_request_with_its_status_and_closes(
    raw: bytes, status: int
) -> None:
    # a good request first: the rejection ends a connection that was already in use
    received = await exchange(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n" + raw)
    first, rejected = received.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 OK\r\n")
    response, body, reusable = h11_reads(b"HTTP/1.1 " + rejected)
    assert isinstance(response, h11.Response)
    assert response.status_code == status
    assert (b"connection", b"close") in response.headers
    assert body.startswith(b'{"message":"%d: ' % status)
    assert not reusable


async def test_the_loop_hands_an_upgrade_over_with_the_bytes_after_it() -> None:
    client, server = trio.testing.memory_stream_pair()
    handed: list[tuple[HttpRequest, bytes]] = []

    async def on_upgrade(stream: trio.abc.Stream, request: HttpRequest, trailing: bytes) -> None:
        handed.append((request, trailing))

    key = "dGhlIHNhbXBsZSBub25jZQ=="
    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve_http_connection, server, echo_handler, on_upgrade, "fast")
        await client.send_all(
            b"GET /resume?v=10 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key.encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x00"
        )
        response = b""
        with trio.fail_after(5):
            while b"\r\n\r\n" not in response:
                response += await client.receive_some(65536)
    assert response.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"sec-websocket-accept: " + websocket_accept(key).encode() + b"\r\n" in response
    ((request, trailing),) = handed
    assert request.path == "/resume" and request.raw_query == "v=10"
    assert trailing == b"\x81\x00"


async def test_an_upgrade_without_a_key_is_refused() -> None:
    received = await exchange(
        b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    )
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert received.endswith(b'{"message": "missing key", "code": 0}')


def test_the_codec_is_chosen_per_emulator_and_h11_stays_the_default() -> None:
    assert EmulatorConfig().http_codec == "h11"
    assert EmulatorConfig(http_codec="fast").http_codec == "fast"
    with pytest.raises(ValueError, match="http_codec"):
        EmulatorConfig(http_codec="h2")  # type: ignore[arg-type]
