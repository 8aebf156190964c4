"""Transport decompression for ``zlib-stream`` and ``zstd-stream``.

Why one inflater per connection: with transport compression Discord compresses the whole connection as ONE
stream, so every message depends on the dictionary built by all earlier ones. The decompression context must
live exactly as long as the websocket connection — a new connection (including a resume) starts a new
stream, so the shard creates a fresh inflater on every connect.

zlib-stream: a gateway message may span several websocket messages; it is complete when the received bytes
end with the zlib sync-flush marker ``00 00 ff ff``. Nearly always a websocket message is a whole gateway
message, so the fast path inflates it directly without touching the buffer; only split messages are
buffered.

zstd-stream: every websocket message is exactly one gateway message, flushed but not ending the zstd frame,
so there is no marker to look for: feed each message to the one streaming decompressor and take what it
yields.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import zstandard

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


class DecompressionError(ValueError):
    """The compressed stream is corrupt; the connection cannot continue and must be re-established."""


class Inflater(Protocol):
    """Turns the connection's compressed websocket messages into complete gateway messages."""

    def feed(self, data: bytes) -> bytes | None:
        """Add one websocket message; return a whole decompressed gateway message, or None if incomplete."""
        ...


class ZlibStreamInflater:
    """zlib-stream: one ``decompressobj`` for the connection, messages end with ``00 00 ff ff``."""

    __slots__ = ("_buffer", "_inflater")

    def __init__(self) -> None:
        self._inflater = zlib.decompressobj()
        self._buffer = bytearray()

    def feed(self, data: bytes) -> bytes | None:
        if not self._buffer:
            if data[-4:] == ZLIB_SUFFIX:  # fast path: a whole gateway message in one websocket message
                return self._inflate(data)
            self._buffer += data
            return None
        self._buffer += data
        if self._buffer[-4:] != ZLIB_SUFFIX:
            return None
        chunk = bytes(self._buffer)
        self._buffer.clear()
        return self._inflate(chunk)

    def _inflate(self, data: bytes) -> bytes:
        try:
            return self._inflater.decompress(data)
        except zlib.error as exc:
            raise DecompressionError(f"zlib-stream corrupt: {exc}") from None


class ZstdStreamInflater:
    """zstd-stream: one streaming zstd decompressor; each websocket message is one gateway message."""

    __slots__ = ("_decompressor",)

    def __init__(self) -> None:
        self._decompressor = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, data: bytes) -> bytes | None:
        try:
            out: bytes = self._decompressor.decompress(data)
        except zstandard.ZstdError as exc:
            raise DecompressionError(f"zstd-stream corrupt: {exc}") from None
        return out or None


class PassthroughInflater:
    """No transport compression: each websocket message already is a gateway message."""

    __slots__ = ()

    def feed(self, data: bytes) -> bytes | None:
        return data


SUPPORTED_COMPRESSION = ("zlib-stream", "zstd-stream")


def new_inflater(compression: str | None) -> Inflater:
    """A fresh inflater for one connection using the given ``compress`` query value (None = none)."""
    if compression is None:
        return PassthroughInflater()
    if compression == "zlib-stream":
        return ZlibStreamInflater()
    if compression == "zstd-stream":
        return ZstdStreamInflater()
    raise ValueError(f"unsupported gateway compression {compression!r}; use one of {SUPPORTED_COMPRESSION}")
