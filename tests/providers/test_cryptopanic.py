from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest

from cryptoagg.core.errors import (
    AuthFailed,
    BadResponse,
    ConnectionFailed,
    MissingKey,
    ProviderError,
    Unavailable,
)
from cryptoagg.providers.cryptopanic import CryptoPanicProvider, parse_posts
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond

KEY = "cp-secret-4f3e2d1c"
FIXTURE = "news/cryptopanic_posts.json"


def assert_no_key(exc: BaseException) -> None:
    """Nor does any exception a traceback of `exc` would print."""
    seen: BaseException | None = exc
    while seen is not None:
        assert KEY not in str(seen) and KEY not in repr(seen)
        assert all(KEY not in str(arg) for arg in seen.args)
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)


async def test_news_sends_the_key_as_auth_token() -> None:
    rec = Recorder(replay(FIXTURE))
    items = await make(CryptoPanicProvider, rec, api_key=KEY).news()
    assert len(items) == 5
    [request] = rec.requests
    assert request.url.host == "cryptopanic.com"
    assert request.url.path == "/api/v1/posts/"
    assert dict(request.url.params) == {"auth_token": KEY, "public": "true"}


def test_parse_posts() -> None:
    items = parse_posts(orjson.loads(fixture_bytes(FIXTURE)))
    first = items[0]
    assert first.title == "NEO ($NEO) price is up 20.99%"
    assert (
        first.url == "https://cryptopanic.com/news/841770/NEO-NEO-price-is-up-2099-in-the-last-24h"
    )
    assert first.source == "CoinMarketCap"
    assert first.published_at == datetime(2018, 1, 18, 9, 45, 28, 965353, tzinfo=UTC)
    assert first.currencies == ("NEO",)
    assert first.provider == "cryptopanic"
    # a post without a `currencies` key
    assert (
        items[1].title == "China considering more stringent Regulations on Cryptocurrency Trading"
    )
    assert items[1].source == "ZyCrypto"
    assert items[1].published_at == datetime(2018, 1, 18, 9, 33, tzinfo=UTC)
    assert items[1].currencies == ()
    assert items[2].title == "VeChain ($VEN) price is up 10.86%"
    assert items[4].source == "Verge Reddit"
    assert items[4].currencies == ("XVG",)
    assert items[4].url == "https://cryptopanic.com/news/841629/Verge-is-great"


def test_a_post_without_url_links_to_its_cryptopanic_page() -> None:
    payload = orjson.loads(fixture_bytes(FIXTURE))
    post = payload["results"][3]
    del post["url"]
    [item] = parse_posts({"results": [post]})
    assert item.url == (
        "https://cryptopanic.com/news/841636/"
        "Cryptocurrency-hardware-wallet-company-Ledger-raises-75-million"
    )


@pytest.mark.parametrize(
    ("status", "error"), [(500, Unavailable), (502, Unavailable), (401, AuthFailed)]
)
async def test_http_errors_never_carry_the_key(status: int, error: type[ProviderError]) -> None:
    body = b'{"status": "Incomplete", "info": "Token not found"}'
    provider = make(CryptoPanicProvider, respond(body, status), api_key=KEY)
    with pytest.raises(error) as info:
        await provider.news()
    assert_no_key(info.value)


async def test_transport_errors_never_carry_the_key() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    provider = make(CryptoPanicProvider, handler, api_key=KEY)
    with pytest.raises(ConnectionFailed) as info:
        await provider.news()
    assert_no_key(info.value)


@pytest.mark.parametrize(
    "body",
    [b'{"status": "Incomplete", "info": "Token not found"}', b"<html>Cloudflare</html>"],
    ids=["error-object", "html"],
)
async def test_unusable_200_bodies_are_bad_responses(body: bytes) -> None:
    provider = make(CryptoPanicProvider, respond(body), api_key=KEY)
    with pytest.raises(BadResponse) as info:
        await provider.news()
    assert_no_key(info.value)


async def test_without_a_key_nothing_is_sent() -> None:
    rec = Recorder(replay(FIXTURE))
    provider = make(CryptoPanicProvider, rec)
    assert provider.disabled_reason == "missing key"
    with pytest.raises(MissingKey):
        await provider.news()
    assert rec.requests == []
