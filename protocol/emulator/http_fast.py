"""A lean server-side HTTP/1.1 codec for the emulator, so the benchmark driver is not the bottleneck.

Why it exists: in the load benchmark (``python -m bench interactions``) the emulator runs inside the driver
process, and the driver must be able to outpace every bot it measures. With h11 parsing each interaction
callback and writing each answer, h11 (``Connection.next_event``, ``Connection.send``, header validation) was
about a fifth of the driver's busy CPU: it turns every request into event objects, normalises and validates
each header into a new list, and walks a state machine per event. This codec does the same job for the
requests the emulator actually gets with a handful of C-speed string operations per request. It is opt-in
(``EmulatorConfig(http_codec="fast")``, which the benchmarks set); h11 stays the default and is what the test
suite runs, so the clients' HTTP is still checked against an independent, strict implementation.

What it accepts: requests fed in pieces split anywhere (`RequestParser.feed`, then
`RequestParser.next_request` until it says more bytes are needed), several pipelined requests in one read,
empty lines before a request line, a request line ``METHOD SP request-target SP HTTP/1.1`` (or ``HTTP/1.0``,
which closes after the answer unless the request says ``Connection: keep-alive``; HTTP/1.1 keeps the
connection unless ``Connection: close``), ``name: value`` header lines (names lower-cased, values stripped of
surrounding spaces and tabs; of a repeated header the last value counts, as in the h11 path), and a body
framed by ``Content-Length`` (identical repeated values are accepted). Bytes after a request's end stay
buffered: the next request, or for a WebSocket upgrade the first frames, handed over as ``trailing_data``
exactly like the h11 path does.

What it rejects, with `HttpCodecError` (a `RequestRejected`: the server answers with its status and closes):

* ``400``: a malformed request line or a version other than 1.0/1.1, a header line without a colon or with a
  name that is not a token, obsolete line folding (a line starting with a space or tab), CR, LF, NUL or other
  control characters inside a header value (bare LF line ends included), a ``Content-Length`` that is not a
  plain decimal number (negative, signed, empty, ...) or repeated with different values, a missing ``Host``
  in HTTP/1.1 or a repeated one, and anything after a request that already failed;
* ``501``: any ``Transfer-Encoding``. There is no chunked support at all: the emulator's clients send
  ``Content-Length``, and refusing the header outright also closes the request-smuggling door;
* ``431``: a head (request line and headers) over `MAX_HEAD` (64 KiB);
* ``413``: a ``Content-Length`` over `MAX_BODY` (16 MiB, the h11 path's limit), refused before any body.

Responses (`encode_response`) carry a reason phrase from `http.HTTPStatus` (``429`` keeps the h11 path's
``TOO MANY REQUESTS``, so peers see the same status line either way) and exactly the headers the h11 path
writes (`protocol.emulator.http_server.response_headers`), plus ``Connection: close`` when the connection
will close (or ``keep-alive`` to an HTTP/1.0 client that asked for it). A handler's header name or value
containing CR, LF or NUL raises `InvalidResponseError` instead of splitting the head. `FastServerConnection`
is the thin adapter the server's connection loop drives; everything else here is sans-IO.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Final, NamedTuple

import trio

from protocol.emulator.http_server import (
    MAX_BODY,
    RECEIVE_SIZE,
    HttpRequest,
    HttpResponse,
    RequestRejected,
    make_request,
    response_headers,
    switching_protocols_headers,
)

__all__ = [
    "MAX_HEAD",
    "FastServerConnection",
    "HttpCodecError",
    "InvalidResponseError",
    "ParsedRequest",
    "RequestParser",
    "encode_response",
    "encode_switching_protocols",
]

MAX_HEAD: Final = 64 * 1024


class HttpCodecError(RequestRejected):
    """The client sent something this codec refuses; ``status`` is what the server answers before closing."""


class InvalidResponseError(ValueError):
    """A response that cannot be written safely (CR/LF/NUL in a header, a body where none is allowed)."""


class ParsedRequest(NamedTuple):
    request: HttpRequest
    keep_alive: bool  # the connection may carry another request after this one's answer
    http_version: str  # "1.1" or "1.0"


# --------------------------------------------------------------------------------------------- requests

_TCHARS: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# The whole first line: method token, a target of visible ASCII, the version (1.0 or 1.1 only).
_REQUEST_LINE: Final = re.compile(rf"({_TCHARS}) ([\x21-\x7e]+) HTTP/1\.([01])")
# One whole header line, anchored at a line start; the value is trimmed of surrounding spaces and tabs and
# may hold no control character but a tab. A line that does not match (no colon, a space before the colon,
# obs-fold, a control character, a bare CR or LF) leaves the number of matches below the number of line
# ends, which is how it is caught. Matching stays linear in the line's length: the only backtracking is the
# value giving back trailing whitespace (or, on a bad line, each position trying the run of spaces after it).
_HEADER_LINE: Final = re.compile(
    rf"^({_TCHARS}):[ \t]*((?:[^\x00-\x20\x7f](?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?)?)[ \t]*\r\n",
    re.MULTILINE,
)
_DIGITS: Final = re.compile(r"[0-9]{1,18}")


class _Head(NamedTuple):
    method: str
    target: str
    headers: dict[str, str]
    keep_alive: bool
    http_version: str
    end: int  # where the request (head and body) ends in the buffer
    body_start: int


class RequestParser:
    """Requests out of the bytes a client sends, fed in any pieces: `feed`, then `next_request` in a loop."""

    __slots__ = ("_buffer", "_failed", "_head", "_searched")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._searched = 0  # bytes at the buffer's start already searched for the end of the head
        self._head: _Head | None = None  # a head parsed while its body is still arriving
        self._failed = False

    def feed(self, data: bytes | bytearray) -> None:
        self._buffer += data

    @property
    def trailing_data(self) -> bytes:
        """Bytes received after the last request returned (not yet parsed)."""
        return bytes(self._buffer)

    def next_request(self) -> ParsedRequest | None:
        """The next complete request, or None until more bytes are fed. Raises `HttpCodecError`."""
        if self._failed:
            raise HttpCodecError("Bad Request")
        try:
            head = self._head or self._parse_head()
        except HttpCodecError:
            self._failed = True
            raise
        if head is None:
            return None
        buffer = self._buffer
        if len(buffer) < head.end:
            self._head = head
            return None
        self._head = None
        self._searched = 0
        with memoryview(buffer) as view:
            body = bytes(view[head.body_start : head.end])
        del buffer[: head.end]
        request = make_request(head.method, head.target, head.headers, body)
        return ParsedRequest(request, head.keep_alive, head.http_version)

    def _parse_head(self) -> _Head | None:
        buffer = self._buffer
        while buffer.startswith(b"\r\n"):  # empty lines before a request line are ignored (RFC 9112 §2.2)
            del buffer[:2]
            self._searched = 0
        end = buffer.find(b"\r\n\r\n", max(0, self._searched - 3))
        if end < 0:
            if buffer.find(b"\n\n", max(0, self._searched - 1)) >= 0:
                raise HttpCodecError("Bad Request: bare LF line ends")
            if len(buffer) > MAX_HEAD:
                raise HttpCodecError("Request Header Fields Too Large", 431)
            self._searched = len(buffer)
            return None
        body_start = end + 4
        if body_start > MAX_HEAD:
            raise HttpCodecError("Request Header Fields Too Large", 431)
        text = buffer[: end + 2].decode("latin-1")
        line_end = text.find("\r\n")
        line = _REQUEST_LINE.fullmatch(text, 0, line_end)
        if line is None:
            raise HttpCodecError("Bad Request: malformed request line")
        method, target, minor = line.groups()
        fields = _HEADER_LINE.findall(text, line_end + 2)
        if len(fields) != text.count("\n", line_end + 2):
            raise HttpCodecError("Bad Request: malformed header line")
        headers: dict[str, str] = {name.lower(): value for name, value in fields}
        if len(headers) == len(fields):
            connection = headers.get("connection")
            length_values = [headers["content-length"]] if "content-length" in headers else []
        else:
            connection, length_values = _repeated_fields(fields)
        if "transfer-encoding" in headers:
            raise HttpCodecError("Not Implemented: Transfer-Encoding", 501)
        if minor == "1" and "host" not in headers:
            raise HttpCodecError("Bad Request: no Host header")
        length = _content_length(length_values)
        if length > MAX_BODY:
            raise HttpCodecError("Content Too Large", 413)
        keep_alive = _keep_alive(connection, minor)
        return _Head(method, target, headers, keep_alive, "1." + minor, body_start + length, body_start)


def _keep_alive(connection: str | None, minor: str) -> bool:
    """HTTP/1.1 keeps the connection unless ``Connection: close``; HTTP/1.0 only with ``keep-alive``."""
    if connection is None:
        return minor == "1"
    options = {option.strip(" \t").lower() for option in connection.split(",")}
    return "close" not in options if minor == "1" else "keep-alive" in options


def _repeated_fields(fields: list[tuple[str, str]]) -> tuple[str | None, list[str]]:
    """For a head that repeats a header: every ``Connection`` value joined, every ``Content-Length`` value."""
    connection: list[str] = []
    lengths: list[str] = []
    hosts = 0
    for name, value in fields:
        lowered = name.lower()
        if lowered == "connection":
            connection.append(value)
        elif lowered == "content-length":
            lengths.append(value)
        elif lowered == "host":
            hosts += 1
    if hosts > 1:
        raise HttpCodecError("Bad Request: more than one Host header")
    return (", ".join(connection) if connection else None), lengths


def _content_length(values: list[str]) -> int:
    """The body's length from every ``Content-Length`` value (comma lists too); all must agree."""
    if not values:
        return 0
    if len(values) == 1 and _DIGITS.fullmatch(values[0]):
        return int(values[0])
    lengths = {item.strip(" \t") for value in values for item in value.split(",")}
    if len(lengths) != 1:
        raise HttpCodecError("Bad Request: conflicting Content-Length")
    (length,) = lengths
    if not _DIGITS.fullmatch(length):
        raise HttpCodecError("Bad Request: invalid Content-Length")
    return int(length)


# -------------------------------------------------------------------------------------------- responses

_REASONS: Final[dict[int, str]] = {status.value: status.phrase for status in HTTPStatus}
# The h11 path sends this reason for 429 (and only for 429); peers see the same status line either way.
_REASONS[429] = "TOO MANY REQUESTS"


def encode_response(response: HttpResponse, *, connection: str | None = None, head: bool = False) -> bytes:
    """The bytes of a final response: status line, the h11 path's headers, ``Connection`` if given, body.

    ``head``: the request was HEAD, so the body is left out (its ``Content-Length`` is still announced).
    Raises `InvalidResponseError` on CR, LF or NUL in a header, a status outside 200-999, or a body on a
    204 or 304.
    """
    status = response.status
    body = response.body
    if not 200 <= status <= 999:
        raise InvalidResponseError(f"{status} is not a final response status")
    if body and status in (204, 304):
        raise InvalidResponseError(f"a {status} response has no body")
    headers = response_headers(response)
    if connection is not None:
        headers.append(("connection", connection))
    text = (
        f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
        + "\r\n".join(map(": ".join, headers))
        + "\r\n\r\n"
    )
    lines = len(headers) + 2
    if text.count("\n") != lines or text.count("\r") != lines or "\0" in text:
        raise InvalidResponseError("CR, LF or NUL in a response header")
    data = text.encode("latin-1")
    return data + body if body and not head else data


def encode_switching_protocols(accept: str) -> bytes:
    """The ``101 Switching Protocols`` answer to a WebSocket upgrade, with the h11 path's headers."""
    fields = switching_protocols_headers(accept)
    text = "HTTP/1.1 101 Switching Protocols\r\n" + "\r\n".join(map(": ".join, fields)) + "\r\n\r\n"
    if text.count("\n") != len(fields) + 2 or text.count("\r") != len(fields) + 2 or "\0" in text:
        raise InvalidResponseError("CR, LF or NUL in a response header")
    return text.encode("latin-1")


# ------------------------------------------------------------------------------------------ connection


class FastServerConnection:
    """This codec behind the server loop's `protocol.emulator.http_server.ServerConnection` interface."""

    __slots__ = ("_connection", "_head", "_parser")

    def __init__(self) -> None:
        self._parser = RequestParser()
        # The Connection header of the next response: None (keep alive), "close" or "keep-alive" (HTTP/1.0).
        self._connection: str | None = None
        self._head = False

    async def read_request(self, stream: trio.abc.Stream) -> HttpRequest | None:
        parser = self._parser
        while True:
            try:
                parsed = parser.next_request()
            except HttpCodecError:
                self._connection = "close"
                self._head = False
                raise
            if parsed is not None:
                request = parsed.request
                if not parsed.keep_alive:
                    self._connection = "close"
                elif parsed.http_version == "1.0":
                    self._connection = "keep-alive"
                else:
                    self._connection = None
                self._head = request.method == "HEAD"
                return request
            data = await stream.receive_some(RECEIVE_SIZE)
            if not data:
                return None  # closed between requests (or mid-request: nobody is left to answer)
            parser.feed(data)

    def encode_response(self, response: HttpResponse) -> bytes:
        return encode_response(response, connection=self._connection, head=self._head)

    def encode_switching_protocols(self, accept: str) -> bytes:
        return encode_switching_protocols(accept)

    def trailing_data(self) -> bytes:
        return self._parser.trailing_data

    def start_next_cycle(self) -> bool:
        return self._connection != "close"
