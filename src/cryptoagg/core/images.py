"""Coin images as the domain sees them: bytes and a media type, the type read from the bytes
themselves (never from what a server claims), and the generic icon that stands in when a
coin's own image cannot be had: a monogram of its ticker, generated (no file, no font)."""

from __future__ import annotations

import colorsys
import hashlib
import string
from dataclasses import dataclass

#: what the generic icon is sent as
ICON_MEDIA_TYPE = "image/svg+xml"
#: raster formats accepted from a provider, with the file extension each is stored under
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}
_LABEL_CHARACTERS = frozenset(string.ascii_uppercase + string.digits)
_LABEL_MAX = 4
#: font size by label length (the icon is 64 units wide)
_FONT_SIZES = {1: 32, 2: 26, 3: 20, 4: 16}
_GREY = "#8a8f98"


@dataclass(frozen=True, slots=True)
class Image:
    data: bytes
    media_type: str


def sniff(data: bytes) -> str | None:
    """The media type of PNG, JPEG, GIF and WebP data by its signature; None for anything
    else (SVG included: a document that can carry script is never taken from a provider)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def monogram_label(symbol: str | None) -> str:
    """Up to four letters and digits of a ticker, upper case; `?` when none is left."""
    kept = [c for c in (symbol or "").upper() if c in _LABEL_CHARACTERS]
    return "".join(kept[:_LABEL_MAX]) or "?"


def _colour(seed: str) -> str:
    """A stable, readable background for white text: hue from the seed, fixed lightness."""
    hue = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:2], "big") / 65536
    red, green, blue = colorsys.hls_to_rgb(hue, 0.4, 0.5)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def monogram(symbol: str | None, seed: str | None) -> Image:
    """A 64x64 SVG disc with the ticker's letters; its colour follows `seed` (the asset id),
    grey without one (an unknown asset). Only letters and digits reach the markup."""
    label = monogram_label(symbol)
    fill = _colour(seed) if seed else _GREY
    size = _FONT_SIZES[len(label)]
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="32" fill="{fill}"/>'
        f'<text x="32" y="32" dy="0.35em" text-anchor="middle" fill="#fff" font-size="{size}" '
        'font-weight="600" font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif">'
        f"{label}</text></svg>"
    )
    return Image(svg.encode(), ICON_MEDIA_TYPE)
