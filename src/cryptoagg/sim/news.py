"""Simulated news: CoinDesk, Cointelegraph and Decrypt RSS 2.0 feeds (in the style of the
`news/*.xml` recordings) and CryptoPanic posts (`news/cryptopanic_posts.json`).

Stories are drawn from an RNG seeded by (seed, feed, time slot): one story per feed every 23
minutes, the same in every answer and across restarts; titles name seeded assets, and the price
quoted in a summary is the walk's.

The RSS feeds change only every `FEED_UPDATE_S` and answer conditional GET as publishers' feeds
do: every 200 carries an `ETag` (a hash of the body) and a `Last-Modified` (when the feed was
last rebuilt, also its `lastBuildDate`), and a request whose `If-None-Match` matches (or, without
one, whose `If-Modified-Since` is not older than that) gets a `304 Not Modified`, no body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import rng_for
from cryptoagg.sim.state import Handler, Routes, SimProvider, SimState, iso_z, json

#: every title names its asset so that the news linker links it, also when the asset's name or
#: ticker is an ordinary word (Stellar, LINK): by a ticker in parentheses or a token word after
#: it (tests/sim/test_news.py)
HEADLINES = (
    "{name} price climbs as traders eye new highs",
    "Analysts split on where {name} ({symbol}) heads next",
    "{name} network activity hits a monthly record",
    "Whales move large amounts of {name} ({symbol}) to exchanges",
    "{name} slips as the market cools after a strong week",
    "{symbol} futures traders brace for volatility",
    "Developers ship a major {name} upgrade",
    "ETF flows lift {name} ({symbol}) as institutions return",
)
AUTHORS = ("Jamie Rivera", "Sam Okafor", "Alex Chen", "Priya Nair", "Jordan Blake")
#: feed -> (path, channel title, channel link, article link pattern)
FEEDS = {
    "coindesk": (
        "/coindesk/arc/outboundfeeds/rss/",
        "CoinDesk: Bitcoin, Ethereum, Crypto News and Price Data",
        "https://www.coindesk.com/",
        "https://www.coindesk.com/markets/{date}/{slug}",
    ),
    "cointelegraph": (
        "/cointelegraph/rss",
        "Cointelegraph.com News",
        "https://cointelegraph.com",
        "https://cointelegraph.com/news/{slug}?utm_source=rss_feed&utm_medium=rss"
        "&utm_campaign=rss_partner_inbound",
    ),
    "decrypt": (
        "/decrypt/feed",
        "Decrypt",
        "https://decrypt.co",
        "https://decrypt.co/{n}/{slug}",
    ),
}
RSS_TYPE = "application/rss+xml; charset=utf-8"
#: how often the feeds change: CoinDesk's `<ttl>` (minutes) says 5
FEED_UPDATE_S = 300


#: one story per slot of this length per feed: a story keeps its time, title and URL
STORY_SLOT_S = 23 * 60


class Story:
    __slots__ = ("author", "number", "published", "slug", "summary", "symbol", "title")

    def __init__(self, state: SimState, feed: str, slot: int) -> None:
        rng = rng_for(state.seed, feed, slot)
        asset = rng.choice(state.model.assets[:25])
        self.symbol = asset.symbol
        self.title = rng.choice(HEADLINES).format(name=asset.name, symbol=asset.symbol)
        self.published = datetime.fromtimestamp(slot * STORY_SLOT_S + rng.randint(0, 20) * 60, UTC)
        words = self.title.lower().replace("(", "").replace(")", "").split()
        self.slug = "-".join(words)
        price = state.model.usd(asset.id, self.published.timestamp())
        self.summary = f"{asset.name} traded near ${price:,.{2 if price >= 1 else 6}f} today."
        self.author = rng.choice(AUTHORS)
        self.number = 350_000 + slot % 100_000


def built_at(state: SimState, step_s: int) -> datetime:
    """The start of the current `step_s`: when a feed that changes every `step_s` was built."""
    return datetime.fromtimestamp(state.now_s() // step_s * step_s, UTC)


def stories(state: SimState, feed: str, count: int, step_s: int = 60) -> list[Story]:
    """The `count` newest stories as of `built_at(state, step_s)`, newest first. A story is
    drawn from (seed, feed, its time slot), so it is the same story — time, title, URL — in
    every answer and after a restart, as a publisher's feed is."""
    now = built_at(state, step_s)
    last = int(now.timestamp()) // STORY_SLOT_S - 1  # a whole slot: its story is published
    return [Story(state, feed, slot) for slot in range(last, last - count, -1)]


def not_modified(request: Request, etag: str, modified: datetime) -> bool:
    """Whether the client's copy is current (RFC 9110 §13.1.2: `If-None-Match` compares weakly
    and, when present, `If-Modified-Since` is ignored)."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if not since:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    return modified <= (when if when.tzinfo else when.replace(tzinfo=UTC))


def _item(feed: str, story: Story) -> str:
    link = FEEDS[feed][3].format(
        date=story.published.strftime("%Y/%m/%d"), slug=story.slug, n=story.number
    )
    return (
        "    <item>\n"
        f"      <title><![CDATA[{story.title}]]></title>\n"
        f"      <link>{escape(link)}</link>\n"
        f'      <guid isPermaLink="false">{escape(link)}</guid>\n'
        f"      <pubDate>{format_datetime(story.published)}</pubDate>\n"
        f"      <description><![CDATA[{story.summary}]]></description>\n"
        f"      <dc:creator><![CDATA[{story.author}]]></dc:creator>\n"
        f"      <category><![CDATA[{story.symbol}]]></category>\n"
        f"      <enclosure url={quoteattr(f'https://images.example/{story.slug}.jpg')} "
        'length="0" type="image/jpeg"/>\n'
        "    </item>\n"
    )


def rss_routes(feed: str) -> Callable[[SimState], Routes]:
    """The routes of one publication's feed."""
    return lambda state: [feed_route(state, feed)]


def feed_route(state: SimState, feed: str) -> tuple[str, Handler]:
    path, title, link, _ = FEEDS[feed]

    async def render(request: Request) -> Response:
        built = built_at(state, FEED_UPDATE_S)
        items = "".join(_item(feed, s) for s in stories(state, feed, 10, FEED_UPDATE_S))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">\n'
            "  <channel>\n"
            f"    <title>{escape(title)}</title>\n"
            f"    <link>{escape(link)}</link>\n"
            f"    <description>{escape(title)}</description>\n"
            f"    <lastBuildDate>{format_datetime(built)}</lastBuildDate>\n"
            "    <language>en-US</language>\n"
            f"    <ttl>{FEED_UPDATE_S // 60}</ttl>\n" + items + "  </channel>\n</rss>\n"
        )
        etag = f'"{hashlib.blake2b(body.encode(), digest_size=12).hexdigest()}"'
        headers = {"etag": etag, "last-modified": format_datetime(built, usegmt=True)}
        if not_modified(request, etag, built):
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=RSS_TYPE)

    return path, render


def cryptopanic_routes(state: SimState) -> Routes:
    async def posts(request: Request) -> Response:
        if not request.query_params.get("auth_token"):
            return json({"status": "Incomplete", "info": "Auth token required"}, 401)
        results = []
        for n, story in enumerate(stories(state, "cryptopanic", 20)):
            post_id = 20_000_000 + int(story.published.timestamp() // 60) % 1_000_000
            stamp = iso_z(story.published)
            results.append(
                {
                    "kind": "news",
                    "domain": "simnews.example",
                    "votes": {"negative": n % 2, "positive": n % 5, "important": n % 3},
                    "source": {"domain": "simnews.example", "title": "Sim Newswire", "path": None},
                    "title": story.title,
                    "published_at": stamp,
                    "slug": story.slug,
                    "currencies": [
                        {
                            "code": story.symbol,
                            "title": story.symbol,
                            "slug": story.symbol.lower(),
                            "url": f"https://cryptopanic.com/news/{story.symbol.lower()}/",
                        }
                    ],
                    "body": f"<p>{escape(story.summary)}</p>",
                    "id": post_id,
                    "created_at": stamp,
                    "url": f"https://cryptopanic.com/news/{post_id}/{story.slug}",
                }
            )
        return json({"count": len(results), "next": None, "previous": None, "results": results})

    return [("/cryptopanic/api/v1/posts/", posts)]


SIMULATED = (
    *(SimProvider(feed, rss_routes(feed), feed=True) for feed in FEEDS),
    SimProvider("cryptopanic", cryptopanic_routes),
)
