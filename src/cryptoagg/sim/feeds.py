"""Simulated sentiment, DeFi and news sources: Alternative.me, DefiLlama, RSS, CryptoPanic."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cryptoagg.sim.state import SimState, json

CLASSES = (
    (25, "Extreme Fear"),
    (46, "Fear"),
    (55, "Neutral"),
    (75, "Greed"),
    (101, "Extreme Greed"),
)
PROTOCOLS = (
    ("Lido", "lido", "Liquid Staking", ["Ethereum", "Solana"]),
    ("Aave V3", "aave-v3", "Lending", ["Ethereum", "Arbitrum", "Base"]),
    ("EigenLayer", "eigenlayer", "Restaking", ["Ethereum"]),
    ("Ethena USDe", "ethena-usde", "Basis Trading", ["Ethereum"]),
    ("Uniswap V3", "uniswap-v3", "Dexs", ["Ethereum", "Arbitrum", "Base", "Polygon"]),
    ("Sky Lending", "sky-lending", "CDP", ["Ethereum"]),
    ("Binance staked ETH", "binance-staked-eth", "Liquid Staking", ["Ethereum"]),
    ("Morpho Blue", "morpho-blue", "Lending", ["Ethereum", "Base"]),
    ("Pendle", "pendle", "Yield", ["Ethereum", "Arbitrum"]),
    ("Jito Liquid Staking", "jito-liquid-staking", "Liquid Staking", ["Solana"]),
    ("Curve DEX", "curve-dex", "Dexs", ["Ethereum"]),
    ("Compound V3", "compound-v3", "Lending", ["Ethereum", "Base"]),
)
CHAINS = (
    ("Ethereum", "ETH", "ethereum", 1, 62e9),
    ("Solana", "SOL", "solana", None, 9.5e9),
    ("BSC", "BNB", "binancecoin", 56, 6.1e9),
    ("Bitcoin", "BTC", "bitcoin", None, 5.8e9),
    ("Tron", "TRX", "tron", None, 4.4e9),
    ("Base", None, None, 8453, 4.2e9),
    ("Arbitrum", "ARB", "arbitrum", 42161, 2.6e9),
    ("Sui", "SUI", "sui", None, 1.3e9),
    ("Avalanche", "AVAX", "avalanche-2", 43114, 1.2e9),
    ("Polygon", "POL", None, 137, 0.9e9),
)
HEADLINES = (
    "{name} price climbs as traders eye new highs",
    "Analysts split on where {name} ({symbol}) heads next",
    "{name} network activity hits a monthly record",
    "Whales move large amounts of {symbol} to exchanges",
    "{name} slips as market cools after a strong week",
)
FEEDS = {
    "coindesk": (
        "CoinDesk: Bitcoin, Ethereum, Crypto News and Price Data",
        "https://www.coindesk.com/markets/{date}/{slug}",
    ),
    "cointelegraph": (
        "Cointelegraph.com News",
        "https://cointelegraph.com/news/{slug}?utm_source=rss_feed&utm_medium=rss",
    ),
    "decrypt": ("Decrypt", "https://decrypt.co/{n}/{slug}"),
}


def _drift(state: SimState, salt: str, days: float = 1.0) -> float:
    """A slowly varying factor around 1, the same for every caller at one time."""
    bucket = int(state.now().timestamp() // (86400 * days))
    return random.Random(f"{state.seed}|{salt}|{bucket}").uniform(0.97, 1.03)  # noqa: S311


def _stories(state: SimState, feed: str, count: int = 10) -> list[tuple[str, datetime, str, str]]:
    """(title, published, slug, summary) for `count` recent stories, newest first."""
    now = state.now().replace(second=0, microsecond=0)
    rng = random.Random(f"{state.seed}|{feed}|{int(now.timestamp() // 3600)}")  # noqa: S311
    out = []
    for i in range(count):
        asset = rng.choice(state.model.assets[:20])
        title = rng.choice(HEADLINES).format(name=asset.name, symbol=asset.symbol)
        published = now - timedelta(minutes=17 * i + rng.randint(0, 10))
        slug = "-".join(title.lower().replace("(", "").replace(")", "").split())
        price = state.model.usd(asset.id, published)
        summary = f"{asset.name} traded near ${price:,.2f} as markets moved."
        out.append((title, published, slug, summary))
    return out


def sentiment_routes(state: SimState) -> list[Route]:
    async def fng(request: Request) -> Response:
        limit = max(1, min(int(request.query_params.get("limit", 1)), 100))
        today = state.now().replace(hour=0, minute=0, second=0, microsecond=0)
        data = []
        for i in range(limit):
            day = today - timedelta(days=i)
            value = 50 + round(state.model.change_24h_pct("bitcoin", day) * 8)
            value = max(0, min(100, value))
            point = {
                "value": str(value),
                "value_classification": next(label for top, label in CLASSES if value < top),
                "timestamp": str(int(day.timestamp())),
            }
            if i == 0:
                point["time_until_update"] = str(
                    int((day + timedelta(days=1) - state.now()).total_seconds())
                )
            data.append(point)
        return json({"name": "Fear and Greed Index", "data": data, "metadata": {"error": None}})

    return [Route("/alternative_me/fng/", fng)]


def defillama_routes(state: SimState) -> list[Route]:
    async def protocols(_request: Request) -> Response:
        rows = []
        for i, (name, slug, category, chains) in enumerate(PROTOCOLS):
            tvl = 30e9 / (i + 1) ** 0.9 * _drift(state, slug)
            rows.append(
                {
                    "id": str(1000 + i),
                    "name": name,
                    "address": None,
                    "symbol": "-",
                    "url": f"https://{slug}.example",
                    "description": f"{name} protocol",
                    "chain": chains[0] if len(chains) == 1 else "Multi-Chain",
                    "logo": f"https://icons.llama.fi/{slug}.jpg",
                    "audits": "2",
                    "audit_note": None,
                    "gecko_id": None,
                    "cmcId": None,
                    "category": category,
                    "chains": chains,
                    "module": f"{slug}/index.js",
                    "twitter": None,
                    "forkedFrom": [],
                    "oracles": [],
                    "listedAt": 1600000000,
                    "slug": slug,
                    "tvl": tvl,
                    "chainTvls": {chains[0]: tvl},
                    "change_1h": 0.1,
                    "change_1d": (_drift(state, slug) - _drift(state, slug, 2)) * 100,
                    "change_7d": 1.0,
                    "mcap": None,
                }
            )
        return json(rows)

    async def chains(_request: Request) -> Response:
        return json(
            [
                {
                    "gecko_id": gecko,
                    "tvl": tvl * _drift(state, name),
                    "tokenSymbol": token,
                    "cmcId": None,
                    "name": name,
                    "chainId": chain_id,
                }
                for name, token, gecko, chain_id, tvl in CHAINS
            ]
        )

    async def history(_request: Request) -> Response:
        today = int(state.now().timestamp() // 86400) * 86400
        total = sum(c[4] for c in CHAINS)
        return json(
            [
                {"date": today - 86400 * i, "tvl": total * (1 - 0.001 * i)}
                for i in range(365, -1, -1)
            ]
        )

    return [
        Route("/defillama/protocols", protocols),
        Route("/defillama/v2/chains", chains),
        Route("/defillama/v2/historicalChainTvl", history),
    ]


def rss_routes(state: SimState) -> list[Route]:
    def feed(provider: str) -> Route:
        title, link_pattern = FEEDS[provider]

        async def render(_request: Request) -> Response:
            items = []
            for n, (headline, published, slug, summary) in enumerate(_stories(state, provider)):
                link = link_pattern.format(
                    date=published.strftime("%Y/%m/%d"), slug=slug, n=350000 + n
                )
                items.append(
                    "<item>"
                    f"<title><![CDATA[{headline}]]></title>"
                    f"<link>{escape(link)}</link>"
                    f'<guid isPermaLink="false">{provider}-{slug}</guid>'
                    f"<pubDate>{format_datetime(published)}</pubDate>"
                    f"<description><![CDATA[<p>{summary}</p>]]></description>"
                    "</item>"
                )
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<rss version="2.0"><channel>'
                f"<title>{escape(title)}</title><link>https://{provider}.example/</link>"
                f"<description>{escape(title)}</description>"
                f"<lastBuildDate>{format_datetime(state.now())}</lastBuildDate>"
                + "".join(items)
                + "</channel></rss>"
            )
            return Response(body, media_type="application/rss+xml; charset=utf-8")

        path = {
            "coindesk": "/coindesk/arc/outboundfeeds/rss/",
            "cointelegraph": "/cointelegraph/rss",
            "decrypt": "/decrypt/feed",
        }[provider]
        return Route(path, render)

    return [feed(p) for p in FEEDS]


def cryptopanic_routes(state: SimState) -> list[Route]:
    async def posts(request: Request) -> Response:
        if not request.query_params.get("auth_token"):
            return json({"status": "Incomplete", "info": "Auth token required"}, 401)
        results = []
        for n, (headline, published, slug, _summary) in enumerate(
            _stories(state, "cryptopanic", 20)
        ):
            stamp = published.isoformat().replace("+00:00", "Z")
            symbol = next((a.symbol for a in state.model.assets if a.name in headline), "BTC")
            results.append(
                {
                    "kind": "news",
                    "domain": "cryptopanic.example",
                    "votes": {"negative": 0, "positive": n % 5, "important": n % 3},
                    "source": {
                        "domain": "cryptopanic.example",
                        "title": "Sim Newswire",
                        "path": None,
                    },
                    "title": headline,
                    "published_at": stamp,
                    "slug": slug,
                    "currencies": [
                        {"code": symbol, "title": symbol, "slug": symbol.lower(), "url": ""}
                    ],
                    "id": 900000 + n,
                    "created_at": stamp,
                    "url": f"https://cryptopanic.com/news/{900000 + n}/{slug}",
                }
            )
        return json({"count": len(results), "next": None, "previous": None, "results": results})

    return [Route("/cryptopanic/api/v1/posts/", posts)]
