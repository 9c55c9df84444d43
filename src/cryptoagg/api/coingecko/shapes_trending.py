"""`search/trending` items in CoinGecko's shape: the trending provider's coin, with the
figures of our markets listing where the coin is in it.

The item's fields follow CoinGecko's recorded payload (search_trending.json). CoinGecko writes
USD amounts as `$1,234` texts and BTC amounts as decimal strings of 16 significant digits.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Any

from cryptoagg.api.coingecko.shapes import CURRENCY
from cryptoagg.core.models import MarketEntry, TrendingCoin

SIXTEEN_DIGITS = Context(prec=16)


def _usd_text(value: Decimal | None) -> str | None:
    return None if value is None else f"${value:,.0f}"


def _btc_text(value: Decimal | None, btc_usd: Decimal | None) -> str | None:
    """A BTC amount as CoinGecko writes it: a decimal string, 16 significant digits."""
    if value is None or not btc_usd:
        return None
    return f"{SIXTEEN_DIGITS.divide(value, btc_usd):f}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


def _figure(
    ours: Decimal | None, theirs: Decimal | None, theirs_btc: Decimal | None, btc: Decimal | None
) -> tuple[str | None, str | None]:
    """A trending amount as CoinGecko's USD and BTC texts: the listing's figure (in BTC at
    our bitcoin price) when the coin is listed with it, else the trending provider's own."""
    if ours is not None:
        return _usd_text(ours), _btc_text(ours, btc) or _text(theirs_btc)
    return _usd_text(theirs), _text(theirs_btc)


#: what `search/trending` fills in when its provider left it out (for the docs)
TRENDING_FALLBACKS = {
    "market_cap_rank": "the listing's rank",
    "small, large, thumb": "another size of the coin's image the provider sent",
    "data.price": "price_btc x our bitcoin price, for a coin outside the listing",
}


def trending_item(
    coin: TrendingCoin, listed: MarketEntry | None, btc_usd: Decimal | None
) -> dict[str, Any]:
    """One `coins[].item` of `search/trending` (recorded: search_trending.json): every field
    the provider sent (its ids, slug, image URLs, sparkline URL, BTC figures). `data` takes
    the price, market cap, volume and USD change from the markets listing when the coin is
    in it (the figures `coins/markets` serves), the provider's otherwise; the USD price of a
    coin outside the listing is its `price_btc` at our bitcoin price. A field neither sent
    nor derivable (`TRENDING_FALLBACKS`) is null."""
    price = listed.price if listed else None
    if price is None and coin.price_btc is not None and btc_usd:
        price = coin.price_btc * btc_usd
    cap, cap_btc = _figure(
        listed.market_cap if listed else None, coin.market_cap, coin.market_cap_btc, btc_usd
    )
    volume, volume_btc = _figure(
        listed.volume_24h if listed else None, coin.volume_24h, coin.volume_24h_btc, btc_usd
    )
    usd_change = listed.change_24h_pct if listed else None
    if usd_change is None:
        usd_change = coin.change_24h_pct
    changes = {"btc": coin.change_24h_btc_pct, CURRENCY: usd_change}
    images = [coin.thumb, coin.small, coin.large]
    sent = next((url for url in images if url), None)
    content = None
    if coin.content_title is not None or coin.content_description is not None:
        content = {"title": coin.content_title, "description": coin.content_description}
    return {
        "id": coin.asset_id,
        "coin_id": coin.coin_id,
        "name": coin.name,
        "symbol": coin.symbol,
        "market_cap_rank": coin.market_cap_rank
        if coin.market_cap_rank is not None
        else (listed.rank if listed else None),
        "thumb": coin.thumb or sent,
        "small": coin.small or sent,
        "large": coin.large or sent,
        "slug": coin.slug,
        "price_btc": coin.price_btc,
        "score": coin.score,
        "data": {
            "price": price,
            "price_btc": _text(coin.price_btc),
            "price_change_percentage_24h": {k: v for k, v in changes.items() if v is not None},
            "market_cap": cap,
            "market_cap_btc": cap_btc,
            "total_volume": volume,
            "total_volume_btc": volume_btc,
            "sparkline": coin.sparkline,
            "content": content,
        },
    }
