"""A dependency-free line plot written straight to PNG (latency vs offered load).

Why not matplotlib: it is a 40 MB install with a compiled core for one chart per run, and the benchmark
harness must work in a fresh clone with only the project's dependencies. A latency curve needs axes, a few
polylines, markers, tick labels and a legend; an RGB pixel buffer, a 3x5 bitmap font scaled up, and the
PNG container (zlib + CRC32 from the stdlib) cover that in a page of code.

Values are plotted on linear axes from zero to a rounded-up maximum; the y axis can be logarithmic because
latency tails span orders of magnitude.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

Color = tuple[int, int, int]

WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)
GREY: Color = (215, 215, 215)
PALETTE: tuple[Color, ...] = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14))

# 3x5 glyphs, one string of 15 cells (row-major) per character.
_FONT: dict[str, str] = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", ".": "000000000000010", "-": "000000111000000",
    "/": "001001010100100", ":": "000010000010000", "(": "010100100100010", ")": "010001001001010",
    " ": "000000000000000", "=": "000111000111000", "%": "101001010100101", ",": "000000000010100",
    "A": "010101111101101", "B": "110101110101110", "C": "011100100100011", "D": "110101101101110",
    "E": "111100110100111", "F": "111100110100100", "G": "011100101101011", "H": "101101111101101",
    "I": "111010010010111", "J": "001001001101010", "K": "101101110101101", "L": "100100100100111",
    "M": "101111111101101", "N": "110101101101101", "O": "010101101101010", "P": "110101110100100",
    "Q": "010101101110011", "R": "110101110101101", "S": "011100010001110", "T": "111010010010010",
    "U": "101101101101111", "V": "101101101101010", "W": "101101111111101", "X": "101101010101101",
    "Y": "101101010010010", "Z": "111001010100111", "_": "000000000000111", "+": "000010111010000",
}  # fmt: skip


class Canvas:
    """An RGB pixel buffer with the few drawing primitives a line chart needs."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width = width
        self.height = height
        self._pixels = bytearray(bytes(background) * (width * height))

    def pixel(self, x: int, y: int) -> Color:
        offset = (y * self.width + x) * 3
        return (self._pixels[offset], self._pixels[offset + 1], self._pixels[offset + 2])

    def set(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            offset = (y * self.width + x) * 3
            self._pixels[offset : offset + 3] = bytes(color)

    def rect(self, x: int, y: int, w: int, h: int, color: Color) -> None:
        for yy in range(y, y + h):
            for xx in range(x, x + w):
                self.set(xx, yy, color)

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, thickness: int = 1) -> None:
        """Bresenham's line, thickened by stamping a square brush."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        error = dx + dy
        half = thickness // 2
        while True:
            self.rect(x0 - half, y0 - half, thickness, thickness, color)
            if x0 == x1 and y0 == y1:
                return
            doubled = 2 * error
            if doubled >= dy:
                error += dy
                x0 += sx
            if doubled <= dx:
                error += dx
                y0 += sy

    def text(self, x: int, y: int, text: str, color: Color = BLACK, scale: int = 2) -> None:
        for index, char in enumerate(text.upper()):
            glyph = _FONT.get(char, _FONT[" "])
            for cell, bit in enumerate(glyph):
                if bit == "1":
                    row, col = divmod(cell, 3)
                    self.rect(x + (index * 4 + col) * scale, y + row * scale, scale, scale, color)

    def to_png(self) -> bytes:
        raw = b"".join(
            b"\x00" + bytes(self._pixels[row * self.width * 3 : (row + 1) * self.width * 3])
            for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def text_width(text: str, scale: int = 2) -> int:
    return len(text) * 4 * scale


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= value (axis maxima people can read)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10.0**exponent
        if candidate >= value * (1 - 1e-12):
            return candidate
    return 10.0 ** (exponent + 1)


def _label(value: float) -> str:
    return f"{value:g}" if abs(value) < 10000 else f"{value:.0f}"


def line_plot_png(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = False,
    width: int = 900,
    height: int = 560,
) -> bytes:
    """Render ``{name: [(x, y), ...]}`` as a line chart with markers and a legend; returns PNG bytes."""
    canvas = Canvas(width, height)
    left, right, top, bottom = 90, 30, 80, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [p for values in series.values() for p in values if math.isfinite(p[1])]
    x_max = nice_ceiling(max((p[0] for p in points), default=1.0))
    y_values = [p[1] for p in points if p[1] > 0] or [1.0]
    if log_y:
        y_low = 10.0 ** math.floor(math.log10(min(y_values)))
        y_high = 10.0 ** math.ceil(math.log10(max(y_values)))
        if y_high <= y_low:
            y_high = y_low * 10

        def to_y(value: float) -> int:
            clamped = min(max(value, y_low), y_high)
            fraction = (math.log10(clamped) - math.log10(y_low)) / (math.log10(y_high) - math.log10(y_low))
            return top + plot_h - round(fraction * plot_h)

        y_ticks = [y_low * 10.0**k for k in range(round(math.log10(y_high / y_low)) + 1)]
    else:
        y_high = nice_ceiling(max(y_values))

        def to_y(value: float) -> int:
            return top + plot_h - round(min(max(value, 0.0), y_high) / y_high * plot_h)

        y_ticks = [y_high * k / 5 for k in range(6)]

    def to_x(value: float) -> int:
        return left + round(value / x_max * plot_w)

    for tick in y_ticks:
        y = to_y(tick)
        canvas.line(left, y, left + plot_w, y, GREY)
        label = _label(tick)
        canvas.text(left - 8 - text_width(label), y - 5, label)
    for k in range(6):
        tick = x_max * k / 5
        x = to_x(tick)
        canvas.line(x, top, x, top + plot_h, GREY)
        label = _label(tick)
        canvas.text(x - text_width(label) // 2, top + plot_h + 10, label)
    canvas.line(left, top, left, top + plot_h, BLACK, 2)
    canvas.line(left, top + plot_h, left + plot_w, top + plot_h, BLACK, 2)
    canvas.text(left, 15, title, scale=3)
    canvas.text(left + plot_w // 2 - text_width(x_label) // 2, height - 30, x_label)
    canvas.text(8, top - 22, y_label)

    for index, (name, values) in enumerate(series.items()):
        color = PALETTE[index % len(PALETTE)]
        pixels = [(to_x(x), to_y(y)) for x, y in sorted(values) if math.isfinite(y)]
        for (x0, y0), (x1, y1) in itertools.pairwise(pixels):
            canvas.line(x0, y0, x1, y1, color, 3)
        for x, y in pixels:
            canvas.rect(x - 4, y - 4, 9, 9, color)
        legend_y = top + 10 + index * 22
        canvas.rect(left + 20, legend_y, 14, 14, color)
        canvas.text(left + 40, legend_y + 2, name)
    return canvas.to_png()


def write_line_plot(
    path: Path,
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = False,
) -> Path:
    """`line_plot_png` to a file; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(line_plot_png(series, title=title, x_label=x_label, y_label=y_label, log_y=log_y))
    return path
