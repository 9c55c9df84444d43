"""The image type is read from the bytes; the generic icon carries only letters and digits."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from cryptoagg.core.images import ICON_MEDIA_TYPE, monogram, monogram_label, sniff

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")


@pytest.mark.parametrize(
    ("data", "media_type"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", None),
        (b"<html>", None),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_the_type_comes_from_the_signature(data: bytes, media_type: str | None) -> None:
    assert sniff(data) == media_type


@pytest.mark.parametrize(
    ("symbol", "label"),
    [
        ("btc", "BTC"),
        ("1INCH", "1INC"),
        ('<script>"&', "SCRI"),
        ("€$", "?"),
        (None, "?"),
    ],
)
def test_labels_keep_four_letters_and_digits(symbol: str | None, label: str) -> None:
    assert monogram_label(symbol) == label


def test_the_icon_is_an_svg_of_the_ticker_in_the_coins_colour() -> None:
    icon = monogram("eth", "ethereum")
    assert icon.media_type == ICON_MEDIA_TYPE
    root = ET.fromstring(icon.data)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert root.find(f"{ns}text").text == "ETH"  # type: ignore[union-attr]
    fill = root.find(f"{ns}circle").get("fill")  # type: ignore[union-attr]
    assert fill is not None and re.fullmatch(r"#[0-9a-f]{6}", fill)
    assert monogram("eth", "ethereum") == icon  # stable
    assert monogram("btc", "bitcoin").data != icon.data


def test_markup_in_a_ticker_never_reaches_the_icon() -> None:
    icon = monogram('"/><script>alert(1)</script>', "x").data.decode()
    assert "<script" not in icon and "alert" not in icon
    assert ET.fromstring(icon).find("{http://www.w3.org/2000/svg}text").text == "SCRI"  # type: ignore[union-attr]


def test_an_unknown_asset_gets_a_grey_question_mark() -> None:
    icon = monogram(None, None).data.decode()
    assert 'fill="#8a8f98"' in icon and ">?</text>" in icon
