"""Transport compression for the emulator's gateway: ``zlib-stream`` and ``zstd-stream``.

Why one compressor per connection: Discord's transport compression is a single stream for the life of a
connection. Each message is compressed into the same deflate (or zstd) context and flushed so it can be
decoded on its own: ``Z_SYNC_FLUSH`` ends every zlib message with ``00 00 ff ff``, which is how clients find
message boundaries; zstd flushes a block per message. A client that creates a new inflater per message, or
that forgets to keep the window between messages, fails against this emulator exactly as against Discord.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import zstandard


class StreamCompressor(Protocol):
    def compress(self, data: bytes) -> bytes: ...


class ZlibStreamCompressor:
    __slots__ = ("_context",)

    def __init__(self, level: int = zlib.Z_DEFAULT_COMPRESSION) -> None:
        self._context = zlib.compressobj(level)

    def compress(self, data: bytes) -> bytes:
        return self._context.compress(data) + self._context.flush(zlib.Z_SYNC_FLUSH)


class ZstdStreamCompressor:
    __slots__ = ("_context",)

    def __init__(self) -> None:
        self._context = zstandard.ZstdCompressor().compressobj()

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._context.compress(data)
        out += self._context.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return out


def compressor_for(
    mode: str | None, *, zlib_level: int = zlib.Z_DEFAULT_COMPRESSION
) -> StreamCompressor | None:
    """The compressor for a ``compress=`` query value; None for no transport compression."""
    if mode == "zlib-stream":
        return ZlibStreamCompressor(zlib_level)
    if mode == "zstd-stream":
        return ZstdStreamCompressor()
    return None
