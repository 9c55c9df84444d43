"""CoinGecko's coin images: only URLs on its image hosts are turned into paths, and a fetch
goes to the CDN alone (no key, no redirect), counted in the budget, checked by its bytes."""

from __future__ import annotations

import httpx
import orjson
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import BadRequest, BadResponse, Unavailable
from cryptoagg.core.images import Image
from cryptoagg.providers.base import ProviderContext
from cryptoagg.providers.coingecko import MAX_IMAGE_BYTES, CoinGeckoProvider, parse_image_url
from cryptoagg.providers.coingecko_parse import parse_markets, parse_trending
from tests.providers.support import NOW, Recorder, fixture_bytes, make, respond

PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452") + b"\x00" * 32
THUMB = "https://coin-images.coingecko.com/coins/images/32949/standard/QubicLogo-Token.png"


class Spent:
    """An `Outbound` that counts the requests charged."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def before_send(self, provider: str) -> None:
        self.sent.append(provider)

    def not_sent(self, provider: str) -> None:
        self.sent.remove(provider)


def test_every_recorded_image_url_is_on_the_image_hosts() -> None:
    trending = parse_trending(orjson.loads(fixture_bytes("coingecko/search_trending.json")))
    markets = parse_markets(orjson.loads(fixture_bytes("coingecko/coins_markets.json")), NOW)
    urls = [c.thumb for c in trending] + [e.image for e in markets]
    assert urls and all(url is not None for url in urls)
    paths = [parse_image_url(url or "") for url in urls]
    assert all(p is not None and p.startswith("/coins/images/") for p in paths), urls
    assert parse_image_url(f"{THUMB}?1731185925") == (
        "/coins/images/32949/standard/QubicLogo-Token.png"
    )
    assert markets[0].image == (
        "https://assets.coingecko.com/coins/images/1/large/bitcoin.png?1696501400"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/coins/images/1/large/bitcoin.png",
        "https://coin-images.coingecko.com.evil.example/coins/images/1/large/bitcoin.png",
        "http://coin-images.coingecko.com/coins/images/1/large/bitcoin.png",
        "https://coin-images.coingecko.com:8443/coins/images/1/large/bitcoin.png",
        "https://user:pw@coin-images.coingecko.com/coins/images/1/large/bitcoin.png",
        "https://coin-images.coingecko.com/coins/images/1/large/../../../admin.png",
        "https://coin-images.coingecko.com/coins/images/1/large/bitcoin.svg",
        "https://coin-images.coingecko.com/api/v3/ping",
        "https://coin-images.coingecko.com/coins/images/1/large/a%2F..%2Fb.png",
        "https://[::1]/coins/images/1/large/bitcoin.png",
        "https://coin-images.coingecko.com:99999/coins/images/1/large/bitcoin.png",
        "//coin-images.coingecko.com/coins/images/1/large/bitcoin.png",
        "",
    ],
)
def test_any_other_url_is_refused(url: str) -> None:
    assert parse_image_url(url) is None


async def test_an_image_is_fetched_from_the_cdn_without_the_key_and_counted() -> None:
    rec = Recorder(respond(PNG, headers={"content-type": "text/html"}))  # the claim is ignored
    spent = Spent()
    provider = make(CoinGeckoProvider, rec, api_key="cg-demo-123", outbound=spent)
    assert isinstance(provider, CoinGeckoProvider)
    path = provider.image_path(THUMB)
    assert path is not None
    image = await provider.image(path)
    assert image == Image(PNG, "image/png")
    [request] = rec.requests
    assert str(request.url) == THUMB
    assert "x-cg-demo-api-key" not in request.headers
    assert spent.sent == ["coingecko"]
    assert provider.outcomes["ok"] == 1


async def test_a_redirect_is_not_followed() -> None:
    rec = Recorder(respond(b"", 302, {"location": "http://169.254.169.254/latest/meta-data"}))
    # the server's client follows redirects (API hosts may move); the image host opts out
    client = httpx.AsyncClient(transport=httpx.MockTransport(rec), follow_redirects=True)
    provider = CoinGeckoProvider(ProviderContext(client=client, registry=seeded_registry()))
    with pytest.raises(Unavailable, match="HTTP 302"):
        await provider.image("/coins/images/1/large/bitcoin.png")
    assert [r.url.host for r in rec.requests] == ["coin-images.coingecko.com"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "not a PNG"),
        (b"<html>Access Denied</html>", "not a PNG"),
        (PNG + b"\x00" * MAX_IMAGE_BYTES, "image over"),
    ],
)
async def test_what_is_not_an_image_is_a_bad_response(body: bytes, message: str) -> None:
    provider = make(CoinGeckoProvider, respond(body))
    assert isinstance(provider, CoinGeckoProvider)
    with pytest.raises(BadResponse, match=message):
        await provider.image("/coins/images/1/large/bitcoin.png")


async def test_a_path_not_from_image_path_is_refused_before_any_request() -> None:
    rec = Recorder(respond(PNG))
    spent = Spent()
    provider = make(CoinGeckoProvider, rec, outbound=spent)
    assert isinstance(provider, CoinGeckoProvider)
    with pytest.raises(BadRequest):
        await provider.image("/api/v3/coins/list")
    assert rec.requests == [] and spent.sent == []


async def test_the_image_host_follows_upstream_base_url() -> None:
    rec = Recorder(respond(PNG))
    provider = make(CoinGeckoProvider, rec, upstream_base_url="http://sim:1")
    assert isinstance(provider, CoinGeckoProvider)
    await provider.image("/coins/images/1/large/bitcoin.png")
    assert str(rec.requests[0].url) == (
        "http://sim:1/coingecko/images/coins/images/1/large/bitcoin.png"
    )
