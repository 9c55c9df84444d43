from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from cryptoagg.core.errors import BadResponse, Unavailable
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.news import (
    SUMMARY_CHARS,
    CoinDeskProvider,
    CointelegraphProvider,
    DecryptProvider,
    clean_url,
    parse_rss,
)
from tests.providers.support import Recorder, fixture_bytes, make, replay, respond

COINDESK = "news/coindesk_rss.xml"
COINTELEGRAPH = "news/cointelegraph_rss_THIRD_PARTY_REGENERATED.xml"
DECRYPT = "news/decrypt_rss_THIRD_PARTY_REGENERATED.xml"


def rss(*items: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
        + "".join(f"<item>{item}</item>" for item in items)
        + "</channel></rss>"
    )


@pytest.mark.parametrize(
    ("cls", "fixture", "host", "path"),
    [
        (CoinDeskProvider, COINDESK, "www.coindesk.com", "/arc/outboundfeeds/rss/"),
        (CointelegraphProvider, COINTELEGRAPH, "cointelegraph.com", "/rss"),
        (DecryptProvider, DECRYPT, "decrypt.co", "/feed"),
    ],
)
async def test_each_feed_is_fetched_from_its_path(
    cls: type[HttpProvider], fixture: str, host: str, path: str
) -> None:
    rec = Recorder(replay(fixture))
    items = await make(cls, rec).news()
    assert len(items) == 3
    assert all(i.provider == cls.name and i.currencies == () for i in items)
    [request] = rec.requests
    assert (request.url.host, request.url.path, request.url.query) == (host, path, b"")


async def test_coindesk_items() -> None:
    items = await make(CoinDeskProvider, replay(COINDESK)).news()
    first = items[0]
    assert first.title == (
        "Circle and Tether step in to freeze hacker wallet after massive Bitget crypto heist"
    )
    assert first.url == (
        "https://www.coindesk.com/markets/2026/09/25/"
        "circle-and-tether-step-in-to-freeze-hacker-wallet-after-massive-bitget-crypto-heist"
    )
    assert first.source == "CoinDesk"
    assert first.published_at == datetime(2026, 9, 25, 14, 41, 53, tzinfo=UTC)
    # the real <description> survives the empty <dc:description/> that follows it
    assert first.summary == (
        "The stablecoin issuer blacklisted a wallet holding about $318,000 in USDT and USDC. "
        "Most of the stolen funds sit in ether, which can't be frozen."
    )
    assert [i.published_at.minute for i in items] == [41, 37, 32]
    assert items[2].title == (
        "Tether confirms minimal EQIBank exposure following $89M US asset seizure"
    )


async def test_cointelegraph_links_lose_their_utm_parameters() -> None:
    items = await make(CointelegraphProvider, replay(COINTELEGRAPH)).news()
    assert [i.url for i in items] == [
        "https://cointelegraph.com/news/memecoin-season-crypto-social-media-sentiment-low-santiment",
        "https://cointelegraph.com/news/trump-media-files-crypto-etfs-bitcoin-ether-cronos-sec",
        "https://cointelegraph.com/news/ark-invest-buys-coinbase-15m-after-selling",
    ]
    assert items[0].title == "Memecoin market showing 'classic capitulation signal': Santiment"
    assert items[0].source == "Cointelegraph"
    assert items[0].published_at == datetime(2026, 2, 14, 6, 24, 14, tzinfo=UTC)
    assert items[2].summary is not None
    assert items[2].summary.startswith("Cathie Wood’s ARK Invest added nearly $15.2 million")


async def test_decrypt_items() -> None:
    items = await make(DecryptProvider, replay(DECRYPT)).news()
    assert [i.title for i in items] == [
        "Bitcoin Mining Profits Hit 14-Month Low After Winter Storm Rocks Miners: CryptoQuant",
        "India Faces Pressure to Rethink Crypto Taxes Ahead of Union Budget as Trading "
        "Shifts Offshore",
        "Crypto Crash: Liquidations Top $2.5 Billion as Bitcoin, Ethereum and XRP Prices Plummet",
    ]
    assert items[1].url == "https://decrypt.co/356450/india-crypto-taxes-trading-shifts-offshore"
    assert items[1].source == "Decrypt"
    assert items[1].published_at == datetime(2026, 1, 31, 16, 31, 2, tzinfo=UTC)
    assert items[0].summary == (
        'Bitcoin miners are "extremely underpaid" given the price of Bitcoin and current BTC '
        "mining conditions, according to a CryptoQuant report."
    )


def test_items_without_link_or_date_are_skipped() -> None:
    text = rss(
        "<title>No link</title><pubDate>Sat, 14 Feb 2026 06:24:14 +0000</pubDate>",
        "<title>No date</title><link>https://example.com/a</link>",
        "<title>Kept</title><link>https://example.com/b</link>"
        "<pubDate>Sat, 14 Feb 2026 08:24:14 +0200</pubDate>",
    )
    [item] = parse_rss(text, "decrypt", "Decrypt")
    assert item.title == "Kept"
    assert item.url == "https://example.com/b"
    assert item.published_at == datetime(2026, 2, 14, 6, 24, 14, tzinfo=UTC)
    assert item.summary is None


def test_summary_is_plain_text_and_bounded() -> None:
    html_item = (
        "<title>A</title><link>https://example.com/a</link>"
        "<pubDate>Sat, 14 Feb 2026 06:24:14 +0000</pubDate>"
        "<description><![CDATA[<p><img src='x.jpg'></p>\n<p>Bitcoin &amp; <b>ether</b>\n"
        "rallied.</p>]]></description>"
    )
    long_item = (
        "<title>B</title><link>https://example.com/b</link>"
        "<pubDate>Sat, 14 Feb 2026 06:24:14 +0000</pubDate>"
        f"<description>{'word ' * 300}</description>"
    )
    short, long = parse_rss(rss(html_item, long_item), "coindesk", "CoinDesk")
    assert short.summary == "Bitcoin & ether rallied."
    assert long.summary is not None
    assert len(long.summary) <= SUMMARY_CHARS
    assert long.summary.endswith("word…")


def test_clean_url_keeps_other_parameters() -> None:
    assert clean_url("https://x.io/a?id=7&utm_source=rss&UTM_medium=feed") == "https://x.io/a?id=7"
    assert clean_url("https://x.io/a?utm_source=rss") == "https://x.io/a"
    assert clean_url(" https://x.io/a?q=a%20b ") == "https://x.io/a?q=a%20b"


def test_an_empty_channel_is_no_news() -> None:
    assert parse_rss(rss(), "decrypt", "Decrypt") == []


@pytest.mark.parametrize("body", ["<html>oops", "", '{"error": "not found"}'])
async def test_a_body_that_is_not_a_feed_is_a_bad_response(body: str) -> None:
    with pytest.raises(BadResponse):
        await make(DecryptProvider, respond(body)).news()


def test_the_parser_never_opens_what_the_body_names(tmp_path: Path) -> None:
    # feedparser given a plain string would open a file (or fetch a URL) of that name.
    feed = tmp_path / "feed.xml"
    feed.write_bytes(fixture_bytes(DECRYPT))
    with pytest.raises(BadResponse):
        parse_rss(str(feed), "decrypt", "Decrypt")


async def test_server_error_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        await make(CoinDeskProvider, respond("oops", 503)).news()


# -- conditional GET -------------------------------------------------------------------------

ETAG = '"5f1e-coindesk"'
LAST_MODIFIED = "Thu, 25 Sep 2026 14:45:00 GMT"


class Feed:
    """A publisher's feed: 200 with validators, 304 (no body) when the client's copy is
    current. Keeps what it received and what it answered."""

    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        self.body = body
        self.headers = headers
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        etag = self.headers.get("etag")
        if etag is not None and request.headers.get("if-none-match") == etag:
            response = httpx.Response(304, headers=self.headers)
        else:
            response = httpx.Response(200, content=self.body, headers=self.headers)
        self.responses.append(response)
        return response


class Charges:
    """The outbound gate: counts the requests that leave."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def before_send(self, provider: str) -> None:
        self.sent.append(provider)


async def test_an_unchanged_feed_costs_no_body_and_returns_the_same_items() -> None:
    feed = Feed(fixture_bytes(COINDESK), {"etag": ETAG, "last-modified": LAST_MODIFIED})
    charges = Charges()
    provider = make(CoinDeskProvider, feed, outbound=charges)
    first = await provider.news()
    again = await provider.news()
    assert len(first) == 3 and again == first
    assert again[0].title.startswith("Circle and Tether step in")
    unconditional, conditional = feed.requests
    assert "if-none-match" not in unconditional.headers
    assert "if-modified-since" not in unconditional.headers
    assert conditional.headers["if-none-match"] == ETAG
    assert conditional.headers["if-modified-since"] == LAST_MODIFIED
    assert [r.status_code for r in feed.responses] == [200, 304]
    assert feed.responses[1].content == b""
    assert charges.sent == ["coindesk", "coindesk"]  # the 304 is a request, charged too
    assert provider.outcomes["ok"] == 2


async def test_a_changed_feed_is_parsed_and_its_new_validators_are_sent_next() -> None:
    feed = Feed(fixture_bytes(COINDESK), {"etag": ETAG})
    provider = make(CoinDeskProvider, feed)
    assert len(await provider.news()) == 3
    feed.body = rss(
        "<title>Fresh</title><link>https://example.com/fresh</link>"
        "<pubDate>Thu, 25 Sep 2026 15:00:00 +0000</pubDate>"
    ).encode()
    feed.headers = {"etag": '"5f1f-coindesk"'}
    [fresh] = await provider.news()
    assert fresh.title == "Fresh"
    assert await provider.news() == [fresh]
    assert [r.headers.get("if-none-match") for r in feed.requests] == [
        None,
        ETAG,
        '"5f1f-coindesk"',
    ]
    assert [r.status_code for r in feed.responses] == [200, 200, 304]


async def test_last_modified_alone_is_sent_back_as_if_modified_since() -> None:
    feed = Feed(fixture_bytes(DECRYPT), {"last-modified": LAST_MODIFIED})
    provider = make(DecryptProvider, feed)
    await provider.news()
    await provider.news()
    second = feed.requests[1]
    assert second.headers["if-modified-since"] == LAST_MODIFIED
    assert "if-none-match" not in second.headers


async def test_a_feed_without_validators_is_always_fetched_in_full() -> None:
    rec = Recorder(replay(DECRYPT))
    provider = make(DecryptProvider, rec)
    await provider.news()
    await provider.news()
    assert all(
        "if-none-match" not in r.headers and "if-modified-since" not in r.headers
        for r in rec.requests
    )


async def test_a_bad_body_keeps_the_previous_validators() -> None:
    feed = Feed(fixture_bytes(COINDESK), {"etag": ETAG})
    provider = make(CoinDeskProvider, feed)
    first = await provider.news()
    feed.body, feed.headers = b"<html>oops", {"etag": '"broken"'}
    with pytest.raises(BadResponse):
        await provider.news()
    feed.body, feed.headers = fixture_bytes(COINDESK), {"etag": ETAG}
    assert await provider.news() == first
    assert feed.requests[2].headers["if-none-match"] == ETAG
    assert feed.responses[2].status_code == 304


async def test_a_304_to_an_unconditional_request_is_an_error() -> None:
    provider = make(CoinDeskProvider, respond("", 304))
    with pytest.raises(Unavailable, match="HTTP 304"):
        await provider.news()
    assert provider.outcomes["unavailable"] == 1
