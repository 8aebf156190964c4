"""A lean sans-IO HTTP/1.1 client codec for the REST hot path: request bytes out, responses in.

Why not h11: h11 is a complete, careful implementation of both sides of HTTP/1.1, and it showed up as ~10 % of
the bot's CPU while answering interactions — normalising and validating every header of every request into
event objects, then a ``next_event()`` loop of event objects and state transitions per response. Our request
headers are prebuilt byte pairs that the client owns, and the peer is Discord (or our own emulator), so the
client needs a small subset, done in a few C-speed string operations:

* `encode_request` serialises a request with ONE ``bytes.join``: the request line, the caller's header pairs,
  ``Content-Length`` (also ``Content-Length: 0`` for POST/PUT/PATCH without a body) and the body.
* `ResponseParser` is fed the bytes as they arrive and returns a `Response` once one is complete. The common
  case — a whole response in one receive — is one ``find(b"\\r\\n\\r\\n")``, one regex match of the status
  line, one ``findall`` over the header block, a ``dict`` to find the framing headers and a slice of the body.
  It handles ``Content-Length`` and ``Transfer-Encoding: chunked`` bodies (chunk extensions are ignored,
  trailers are parsed and returned apart from the headers), responses without a body (1xx, 204, 304, and any
  answer to HEAD), bodies delimited by the server closing the connection (`ResponseParser.feed_eof`; such a
  connection is then not reusable), skips 1xx informational responses, and says whether the connection may
  carry another request (HTTP/1.1 unless ``Connection: close``; HTTP/1.0 only with ``keep-alive``).

What it deliberately does not do: the server side, pipelining (one request at a time per connection, so any
byte after a complete response is an error), ``Upgrade``/``101`` and ``CONNECT``, transfer codings other than
``chunked``, content codings (we never send ``Accept-Encoding``), header value normalisation beyond trimming
the surrounding whitespace, or bare-LF line endings.

How it stays safe:

* Injection: the request target, method, header names and values may not contain CR, LF or NUL (nor the
  target and method a space); the check runs once on the joined head by counting its line ends, which must
  be exactly the ones we wrote. The codec owns framing, so a caller's ``Content-Length`` or
  ``Transfer-Encoding`` header is refused too. Violations raise `InvalidRequestError` (a `ValueError`).
* Parsing is strict where framing is decided and refuses what it cannot frame unambiguously: a malformed
  status line or header line (including obs-fold continuation lines, bare CR/LF and control characters), a
  bad, negative or conflicting ``Content-Length`` (identical duplicates are accepted), ``Content-Length``
  together with ``Transfer-Encoding`` (a request-smuggling pattern), an unsupported transfer coding, a
  malformed chunk size or chunk terminator, an unexpected ``101``, or bytes after the end of the response all
  raise `ProtocolError`, and the caller closes the connection.
* Limits bound what a broken or hostile peer can make us buffer: each head (and the trailer block) at most
  `MAX_HEAD_SIZE` bytes and `MAX_HEADERS` fields, a chunk-size line at most `MAX_CHUNK_LINE` bytes, and the
  body at most ``max_body_size`` bytes. Waiting for a head is linear in the bytes received, however they are
  split (each receive is searched once, never the whole buffer again).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final, NamedTuple

__all__ = [
    "MAX_BODY_SIZE",
    "MAX_CHUNK_LINE",
    "MAX_HEADERS",
    "MAX_HEAD_SIZE",
    "Http11Error",
    "InvalidRequestError",
    "ProtocolError",
    "Response",
    "ResponseParser",
    "encode_request",
]

MAX_HEAD_SIZE: Final = 65_536
MAX_HEADERS: Final = 256
MAX_CHUNK_LINE: Final = 4096
MAX_BODY_SIZE: Final = 256 * 1024 * 1024

Headers = list[tuple[bytes, bytes]]


class Http11Error(Exception):
    """Anything this codec refuses."""


class ProtocolError(Http11Error):
    """The peer sent something that is not a well-formed HTTP/1.1 response (or broke a limit)."""


class InvalidRequestError(Http11Error, ValueError):
    """The request cannot be serialised safely (CR/LF/NUL that would split lines, or framing headers)."""


class Response(NamedTuple):
    """A complete final response: names in ``headers`` and ``trailers`` are lower-cased."""

    status: int
    headers: Headers
    body: bytes
    keep_alive: bool  # the connection may carry another request
    reason: bytes
    http_version: bytes  # b"1.1" or b"1.0"
    trailers: Headers


# --------------------------------------------------------------------------------------------- requests

_BODY_METHODS: Final = frozenset((b"POST", b"PUT", b"PATCH"))


def encode_request(
    method: bytes, target: bytes, headers: Sequence[tuple[bytes, bytes]], body: bytes = b""
) -> bytes:
    """The request's bytes: request line, ``headers``, ``Content-Length`` when needed, blank line, body.

    ``headers`` must name the ``Host``; they must not carry ``Content-Length`` or ``Transfer-Encoding`` (the
    codec frames the body itself). Raises `InvalidRequestError` (a `ValueError`) on CR, LF or NUL in any of
    the fields, or a space in the method or target.
    """
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        parts += (name, b": ", value, b"\r\n")
    lines = len(headers) + 2
    if body:
        parts += (b"Content-Length: %d\r\n\r\n" % len(body), body)
        lines += 1
    elif method in _BODY_METHODS:
        parts.append(b"Content-Length: 0\r\n\r\n")
        lines += 1
    else:
        parts.append(b"\r\n")
    out = b"".join(parts)
    head_end = len(out) - len(body)
    if (
        out.count(b"\n", 0, head_end) != lines
        or out.count(b"\r", 0, head_end) != lines
        or out.find(b"\0", 0, head_end) >= 0
        or b" " in target
        or b" " in method
    ):
        raise InvalidRequestError("CR, LF or NUL in the request head, or a space in the method or target")
    lowered = out[:head_end].lower()
    if lowered.count(b"\ncontent-length:") != lines - len(headers) - 2 or b"\ntransfer-encoding:" in lowered:
        raise InvalidRequestError("Content-Length and Transfer-Encoding are set by the codec, not the caller")
    return out


# -------------------------------------------------------------------------------------------- responses

# "HTTP/1.x NNN reason"; the reason phrase may be empty or (leniently) absent with its space.
_STATUS_LINE: Final = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")
# One whole field line (anchored at a line start): token name, colon, value trimmed of surrounding SP/HTAB.
# A line that does not match (obs-fold, no colon, space before the colon, control characters, bare CR) is
# caught by comparing the number of matches with the number of line ends.
_FIELD_LINE: Final = re.compile(
    rb"^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*((?:[^\x00-\x08\x0a-\x1f\x7f]*[^\x00-\x20\x7f])?)[ \t]*\r\n",
    re.MULTILINE,
)
_CHUNK_SIZE_LINE: Final = re.compile(rb"([0-9A-Fa-f]{1,15})[ \t]*(?:;[^\x00-\x08\x0a-\x1f\x7f]*)?")

_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_CLOSE, _DONE = range(8)


def _fields(block: bytes, start: int, what: str) -> Headers:
    """The field lines of ``block[start:]`` (each ending with CRLF), names lower-cased."""
    raw: list[tuple[bytes, bytes]] = _FIELD_LINE.findall(block, start)
    if len(raw) != block.count(b"\n", start):
        raise ProtocolError(f"malformed {what} line (or obsolete line folding)")
    if len(raw) > MAX_HEADERS:
        raise ProtocolError(f"more than {MAX_HEADERS} {what} fields")
    return [(name.lower(), value) for name, value in raw]


def _content_length(value: bytes) -> int:
    if value.isdigit() and len(value) <= 18:
        return int(value)
    # A list of identical values ("42, 42", or repeated fields joined by the parser) is allowed by RFC 9110.
    values = {v.strip(b" \t") for v in value.split(b",")}
    if len(values) != 1:
        raise ProtocolError(f"conflicting Content-Length values {value[:80]!r}")
    (single,) = values
    if not (single.isdigit() and len(single) <= 18):
        raise ProtocolError(f"invalid Content-Length {value[:80]!r}")
    return int(single)


class ResponseParser:
    """Incremental parser of ONE response (after any 1xx): `feed` bytes until it returns the `Response`.

    Make a new parser for each request. ``head=True`` when the request was a HEAD (the response has no body
    whatever its headers say). When the connection reaches end of file, call `feed_eof`: it completes a
    response delimited by the close, and raises `ProtocolError` for any other, unfinished one.
    """

    __slots__ = (
        "_body",
        "_buf",
        "_head",
        "_headers",
        "_keep_alive",
        "_reason",
        "_received",
        "_remaining",
        "_response",
        "_scanned",
        "_state",
        "_status",
        "_version",
        "max_body_size",
    )

    def __init__(self, *, head: bool = False, max_body_size: int = MAX_BODY_SIZE) -> None:
        self.max_body_size = max_body_size
        self._head = head
        self._state = _HEAD
        self._buf = bytearray()  # bytes received but not consumed yet (an unfinished head or chunk line)
        self._scanned = 0  # how much of _buf was already searched for its delimiter
        self._body: list[bytes] = []
        self._received = 0  # body bytes so far (for max_body_size)
        self._remaining = 0  # bytes left in a Content-Length body or the current chunk
        self._status = 0
        self._reason = b""
        self._version = b"1.1"
        self._headers: Headers = []
        self._keep_alive = False
        self._response: Response | None = None

    @property
    def complete(self) -> bool:
        return self._response is not None

    def feed(self, data: bytes | bytearray) -> Response | None:
        """Consume ``data``; returns the response once it is complete, else None (more bytes needed)."""
        if self._response is not None:
            if data:
                raise ProtocolError("bytes after the end of the response (no request was pipelined)")
            return self._response
        if not data:
            return None
        buf: bytes | bytearray
        if self._buf:
            self._buf += data
            buf = self._buf
        else:
            buf = data
        pos = self._run(buf, len(buf))
        if buf is self._buf:
            del self._buf[:pos]
        elif pos < len(buf):  # a delimiter is still missing: keep the rest for the next feed
            self._buf = bytearray(buf[pos:])
        return self._response

    def _run(self, buf: bytes | bytearray, end: int) -> int:
        """Advance through ``buf`` as far as it goes; returns the index of the first unconsumed byte."""
        pos = 0
        while pos < end:
            state = self._state
            if state == _HEAD:
                new = self._parse_head(buf, pos, end)
            elif state == _LENGTH:
                new = self._take_body(buf, pos, end)
                if not self._remaining:
                    self._finish(b"".join(self._body))
            elif state == _CHUNK_DATA:
                new = self._take_body(buf, pos, end)
                if not self._remaining:
                    self._state = _CHUNK_END
            elif state == _CHUNK_SIZE:
                new = self._parse_chunk_size(buf, pos, end)
            elif state == _CHUNK_END:
                new = self._parse_chunk_end(buf, pos, end)
            elif state == _TRAILERS:
                new = self._parse_trailers(buf, pos, end)
            elif state == _UNTIL_CLOSE:
                self._add_body(bytes(buf[pos:end]))
                new = end
            else:  # _DONE
                raise ProtocolError("bytes after the end of the response (no request was pipelined)")
            if new < 0:
                return pos
            pos = new
        return pos

    def feed_eof(self) -> Response:
        """The peer closed the connection: the response if that completes it, else `ProtocolError`."""
        if self._response is not None:
            return self._response
        if self._state == _UNTIL_CLOSE:
            self._finish(b"".join(self._body))
            assert self._response is not None
            return self._response
        raise ProtocolError("the connection closed before the response was complete")

    # ------------------------------------------------------------------------------------------ steps

    def _find(self, buf: bytes | bytearray, delimiter: bytes, pos: int, end: int, limit: int) -> int:
        """Index of ``delimiter`` in ``buf[pos:end]``, searching only bytes not searched before; -1 when
        absent (then the bytes up to ``end`` count as searched), `ProtocolError` past ``limit`` bytes."""
        scanned = self._scanned
        start = pos + scanned - len(delimiter) + 1 if scanned >= len(delimiter) else pos
        index = buf.find(delimiter, start, end)
        if index < 0:
            if end - pos > limit:
                raise ProtocolError(f"no end of line within {limit} bytes")
            self._scanned = end - pos
            return -1
        self._scanned = 0
        if index - pos > limit:
            raise ProtocolError(f"no end of line within {limit} bytes")
        return index

    def _parse_head(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        index = self._find(buf, b"\r\n\r\n", pos, end, MAX_HEAD_SIZE)
        if index < 0:
            return -1
        head = bytes(buf[pos : index + 2])  # the status line and each field line, with their CRLF
        line_end = head.find(b"\r\n")
        match = _STATUS_LINE.fullmatch(head, 0, line_end)
        if match is None:
            raise ProtocolError(f"malformed status line {head[:line_end][:100]!r}")
        minor, code, reason = match.groups()
        status = int(code)
        headers = _fields(head, line_end + 2, "header")
        if status < 200:
            if status == 101:
                raise ProtocolError("unexpected 101 Switching Protocols (we never ask to upgrade)")
            return index + 4  # an informational response: the final one follows
        self._status = status
        self._reason = reason or b""
        self._version = b"1.1" if minor == b"1" else b"1.0"
        self._headers = headers
        return self._frame(buf, index + 4, end, minor == b"1", headers)

    def _frame(self, buf: bytes | bytearray, pos: int, end: int, http11: bool, headers: Headers) -> int:
        """Decide how the body is delimited (RFC 9112 §6.3) and whether the connection stays open."""
        fields = dict(headers)
        if len(fields) == len(headers):
            length = fields.get(b"content-length")
            coding = fields.get(b"transfer-encoding")
            connection = fields.get(b"connection")
        else:  # repeated fields: a list of their values
            length = _joined(headers, b"content-length")
            coding = _joined(headers, b"transfer-encoding")
            connection = _joined(headers, b"connection")
        keep_alive = http11
        if connection is not None:
            connection = connection.lower()
            if connection != b"keep-alive":
                tokens = {token.strip(b" \t") for token in connection.split(b",")}
                keep_alive = (http11 or b"keep-alive" in tokens) and b"close" not in tokens
            else:
                keep_alive = True
        self._keep_alive = keep_alive
        status = self._status
        if self._head or status == 204 or status == 304:  # noqa: PLR1714
            self._finish(b"")
            return pos
        if coding is not None:
            if length is not None:
                raise ProtocolError("both Content-Length and Transfer-Encoding (refused: ambiguous framing)")
            if coding.strip(b" \t").lower() != b"chunked":
                raise ProtocolError(f"unsupported Transfer-Encoding {coding[:80]!r}")
            self._state = _CHUNK_SIZE
            return pos
        if length is None:
            self._keep_alive = False
            self._state = _UNTIL_CLOSE
            return pos
        size = _content_length(length)
        if size > self.max_body_size:
            raise ProtocolError(f"a {size}-byte body is over the {self.max_body_size}-byte limit")
        if end - pos >= size:  # the whole body is here: the common case
            self._finish(bytes(buf[pos : pos + size]))
            return pos + size
        self._remaining = size
        self._state = _LENGTH
        return pos

    def _parse_chunk_size(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        index = self._find(buf, b"\r\n", pos, end, MAX_CHUNK_LINE)
        if index < 0:
            return -1
        match = _CHUNK_SIZE_LINE.fullmatch(buf, pos, index)
        if match is None:
            raise ProtocolError(f"malformed chunk size line {bytes(buf[pos:index])[:100]!r}")
        size = int(match.group(1), 16)
        if size:
            self._remaining = size
            self._state = _CHUNK_DATA
        else:
            self._state = _TRAILERS
        return index + 2

    def _parse_chunk_end(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        if end - pos < 2:
            if buf[pos] != 13:  # b"\r"
                raise ProtocolError("chunk data not followed by CRLF")
            return -1
        if buf[pos] != 13 or buf[pos + 1] != 10:
            raise ProtocolError("chunk data not followed by CRLF")
        self._state = _CHUNK_SIZE
        return pos + 2

    def _parse_trailers(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        if buf.startswith(b"\r\n", pos):  # no trailer fields: the usual last-chunk ending
            self._finish(b"".join(self._body))
            return pos + 2
        if end - pos < 2:
            return -1
        index = self._find(buf, b"\r\n\r\n", pos, end, MAX_HEAD_SIZE)
        if index < 0:
            return -1
        block = bytes(buf[pos : index + 2])
        trailers = _fields(block, 0, "trailer")
        self._finish(b"".join(self._body), trailers)
        return index + 4

    def _take_body(self, buf: bytes | bytearray, pos: int, end: int) -> int:
        take = min(self._remaining, end - pos)
        self._add_body(bytes(buf[pos : pos + take]))
        self._remaining -= take
        return pos + take

    def _add_body(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self.max_body_size:
            raise ProtocolError(f"the body is over the {self.max_body_size}-byte limit")
        self._body.append(data)

    def _finish(self, body: bytes, trailers: Headers | None = None) -> None:
        self._state = _DONE
        self._response = Response(
            self._status,
            self._headers,
            body,
            self._keep_alive,
            self._reason,
            self._version,
            trailers if trailers is not None else [],
        )


def _joined(headers: Headers, name: bytes) -> bytes | None:
    values = [value for field, value in headers if field == name]
    return b", ".join(values) if values else None
