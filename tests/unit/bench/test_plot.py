"""The dependency-free PNG line plot: a valid PNG with the requested size and the series drawn."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest

from bench.scenarios.plot import PALETTE, Canvas, line_plot_png, nice_ceiling, write_line_plot


def _decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Minimal PNG reader for our own output (8-bit RGB, filter 0): width, height, rows."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    offset = 8
    chunks: dict[bytes, bytes] = {}
    idat = b""
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind = png[offset + 4 : offset + 8]
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks[kind] = data
        if kind == b"IDAT":
            idat += data
        offset += 12 + length
    assert b"IEND" in chunks
    width, height, depth, color_type, *_ = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, color_type) == (8, 2)
    raw = zlib.decompress(idat)
    stride = width * 3 + 1
    rows = [raw[i * stride + 1 : (i + 1) * stride] for i in range(height)]
    return width, height, rows


def test_canvas_round_trips_pixels_through_png() -> None:
    canvas = Canvas(4, 3)
    canvas.set(1, 2, (10, 20, 30))
    canvas.set(99, 99, (1, 2, 3))  # outside: ignored, not an error
    width, height, rows = _decode(canvas.to_png())
    assert (width, height) == (4, 3)
    assert rows[2][3:6] == bytes((10, 20, 30))
    assert rows[0][0:3] == bytes((255, 255, 255))


def test_line_plot_draws_each_series_in_its_colour(tmp_path: Path) -> None:
    series = {
        "ours p99": [(100.0, 1.0), (800.0, 3.0), (1600.0, 9.0)],
        "hikari p99": [(100.0, 4.0), (800.0, 40.0), (1600.0, 900.0)],
    }
    path = write_line_plot(
        tmp_path / "latency.png", series, title="latency", x_label="offered", y_label="ms", log_y=True
    )
    width, height, rows = _decode(path.read_bytes())
    assert (width, height) == (900, 560)
    pixels = {bytes(row[i : i + 3]) for row in rows for i in range(0, len(row), 3)}
    assert bytes(PALETTE[0]) in pixels
    assert bytes(PALETTE[1]) in pixels


def test_line_plot_with_no_points_still_renders() -> None:
    png = line_plot_png({}, title="empty", x_label="x", y_label="y")
    assert _decode(png)[:2] == (900, 560)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, 1.0), (1.0, 1.0), (1.2, 2.0), (2.2, 2.5), (3.0, 5.0), (1600.0, 2000.0), (0.03, 0.05)],
)
def test_nice_ceiling(value: float, expected: float) -> None:
    assert nice_ceiling(value) == pytest.approx(expected)
