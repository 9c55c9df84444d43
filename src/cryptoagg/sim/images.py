"""Coin logos for the simulated image CDN: generated PNGs, so mock mode shows real-looking
images offline. Each is a disc in the coin's own colour with a symmetric 5x5 pattern (like an
identicon), anti-aliased at the edge, drawn from a hash of the coin id: the same coin always
gets the same picture, and no two seeded coins look alike. Encoded with zlib (no imaging
library)."""

from __future__ import annotations

import colorsys
import hashlib
import struct
import zlib
from functools import lru_cache

#: pixels per side of each CoinGecko size name
SIZES = {"thumb": 32, "small": 64, "standard": 128, "large": 250}
_GRID = 5


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def encode_png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGBA PNG of `rows` (each `width` * 4 bytes)."""
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _rgb(hue: float, lightness: float, saturation: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


@lru_cache(maxsize=512)
def coin_png(coin_id: str, size: int) -> bytes:
    """The logo of `coin_id`, `size` pixels square."""
    digest = hashlib.sha256(coin_id.encode()).digest()
    hue = digest[0] / 256
    disc = _rgb(hue, 0.45, 0.65)
    mark = _rgb((hue + 0.5) % 1.0, 0.92, 0.4)
    # the left three columns decide, mirrored to the right: a symmetric pattern
    cells = {
        (col, row)
        for row in range(_GRID)
        for col in range(_GRID)
        if digest[1 + row * 3 + min(col, _GRID - 1 - col)] & 1
    }
    radius = size / 2
    inner = radius * 0.62  # the pattern's square sits inside the disc
    cell = 2 * inner / _GRID
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            dx, dy = x + 0.5 - radius, y + 0.5 - radius
            coverage = min(1.0, max(0.0, radius - (dx * dx + dy * dy) ** 0.5))
            colour = disc
            col, line = int((dx + inner) // cell), int((dy + inner) // cell)
            if (col, line) in cells and abs(dx) < inner and abs(dy) < inner:
                colour = mark
            row += bytes((*colour, round(coverage * 255)))
        rows.append(bytes(row))
    return encode_png(size, size, rows)
