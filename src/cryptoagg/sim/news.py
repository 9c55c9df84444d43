"""Simulated news: CoinDesk, Cointelegraph and Decrypt RSS 2.0 feeds (in the style of the
`news/*.xml` recordings) and CryptoPanic posts (`news/cryptopanic_posts.json`).

Stories are drawn from an RNG seeded by (seed, feed, hour): titles name seeded assets, publication
times lie in the hours before "now", and the price quoted in a summary is the walk's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import rng_for
from cryptoagg.sim.state import Handler, Routes, SimState, iso_z, json

HEADLINES = (
    "{name} price climbs as traders eye new highs",
    "Analysts split on where {name} ({symbol}) heads next",
    "{name} network activity hits a monthly record",
    "Whales move large amounts of {symbol} to exchanges",
    "{name} slips as the market cools after a strong week",
    "{symbol} options traders brace for volatility",
    "Developers ship a major {name} upgrade",
    "ETF flows lift {name} as institutions return",
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


class Story:
    __slots__ = ("author", "number", "published", "slug", "summary", "symbol", "title")

    def __init__(self, state: SimState, feed: str, index: int, now: datetime) -> None:
        rng = rng_for(state.seed, feed, int(now.timestamp() // 3600), index)
        asset = rng.choice(state.model.assets[:25])
        self.symbol = asset.symbol
        self.title = rng.choice(HEADLINES).format(name=asset.name, symbol=asset.symbol)
        self.published = now - timedelta(minutes=23 * index + rng.randint(0, 20))
        words = self.title.lower().replace("(", "").replace(")", "").split()
        self.slug = "-".join(words)
        price = state.model.usd(asset.id, self.published.timestamp())
        self.summary = f"{asset.name} traded near ${price:,.{2 if price >= 1 else 6}f} today."
        self.author = rng.choice(AUTHORS)
        self.number = 350_000 + int(self.published.timestamp() // 60) % 100_000


def stories(state: SimState, feed: str, count: int) -> list[Story]:
    """`count` stories, newest first."""
    now = state.now().replace(second=0, microsecond=0)
    return [Story(state, feed, i, now) for i in range(count)]


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


def rss_routes(state: SimState) -> Routes:
    def feed_route(feed: str) -> tuple[str, Handler]:
        path, title, link, _ = FEEDS[feed]

        async def render(_request: Request) -> Response:
            items = "".join(_item(feed, s) for s in stories(state, feed, 10))
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                '<rss xmlns:dc="http://purl.org/dc/elements/1.1/" '
                'xmlns:atom="http://www.w3.org/2005/Atom" version="2.0">\n'
                "  <channel>\n"
                f"    <title>{escape(title)}</title>\n"
                f"    <link>{escape(link)}</link>\n"
                f"    <description>{escape(title)}</description>\n"
                f"    <lastBuildDate>{format_datetime(state.now())}</lastBuildDate>\n"
                "    <language>en-US</language>\n"
                "    <ttl>5</ttl>\n" + items + "  </channel>\n</rss>\n"
            )
            return Response(body, media_type=RSS_TYPE)

        return path, render

    return [feed_route(f) for f in FEEDS]


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
