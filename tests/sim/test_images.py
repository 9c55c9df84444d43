"""The simulated image CDN: every image URL the simulated CoinGecko answers name is a PNG."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest

from cryptoagg.sim.app import create_sim_app
from cryptoagg.sim.images import coin_png


@pytest.fixture
async def sim() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sim_app(seed=1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        yield client


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGBA rows of one of our PNGs (filter 0, one IDAT)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert (depth, colour) == (8, 6)
    length = struct.unpack(">I", png[33:37])[0]
    assert png[37:41] == b"IDAT"
    raw = zlib.decompress(png[41 : 41 + length])
    stride = 1 + width * 4
    return width, height, [raw[i * stride + 1 : (i + 1) * stride] for i in range(height)]


async def test_every_linked_image_is_a_png_of_the_named_size(sim: httpx.AsyncClient) -> None:
    trending = (await sim.get("/coingecko/api/v3/search/trending")).json()["coins"]
    markets = (await sim.get("/coingecko/api/v3/coins/markets?vs_currency=usd&per_page=3")).json()
    urls = [c["item"][size] for c in trending[:2] for size in ("thumb", "small", "large")]
    urls += [row["image"] for row in markets]
    sizes = {"standard": 128, "small": 64, "large": 250}
    for url in urls:
        parts = urlsplit(url)
        assert parts.hostname == "coin-images.coingecko.com"
        answer = await sim.get(f"/coingecko/images{parts.path}")
        assert answer.status_code == 200, url
        assert answer.headers["content-type"] == "image/png"
        width, height, rows = decode(answer.content)
        assert width == height == sizes[parts.path.split("/")[4]]
        corner, centre = rows[0][3], rows[height // 2][width * 2 + 3]
        assert (corner, centre) == (0, 255)  # a disc: transparent corners, opaque middle


async def test_unknown_coins_and_sizes_are_not_found(sim: httpx.AsyncClient) -> None:
    for path in (
        "/coingecko/images/coins/images/1/large/no-such-coin.png",
        "/coingecko/images/coins/images/1/huge/bitcoin.png",
        "/coingecko/images/coins/images/1/large/bitcoin.svg",
    ):
        assert (await sim.get(path)).status_code == 404, path


def test_each_coin_has_its_own_stable_picture() -> None:
    assert coin_png("bitcoin", 64) == coin_png("bitcoin", 64)
    assert coin_png("bitcoin", 64) != coin_png("ethereum", 64)
