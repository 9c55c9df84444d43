"""What the live topics carry: the `data` of `prices:<asset_id>`, `providers`, `news` and
`news:<asset_id>` frames, built once per update by their publishers (and for snapshots)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptoagg.core.consensus import Consensus
from cryptoagg.core.models import NewsItem
from cryptoagg.services.events import NEWS, Publisher, news_topic
from cryptoagg.services.status import ProviderStatus


def price_data(consensus: Consensus, symbol: str) -> dict[str, object]:
    """The `prices:<asset_id>` payload: a consensus price with its band and sources."""
    return {
        "asset_id": consensus.asset_id,
        "symbol": symbol,
        "price": consensus.price,
        "low": consensus.low,
        "high": consensus.high,
        "spread_bps": consensus.spread_bps,
        "sources": consensus.sources,
        "as_of": consensus.as_of,
    }


def providers_data(rows: list[ProviderStatus]) -> list[dict[str, object]]:
    """The `providers` payload: each provider's state, not its counters or next probe time
    (those change all the time, and the feed publishes on change)."""
    return [
        {
            "name": r.name,
            "state": r.state,
            "breaker": r.breaker,
            "enabled": r.enabled,
            "disabled_reason": r.disabled_reason,
            "last_error_reason": r.last_error_reason,
        }
        for r in rows
    ]


def news_data(
    items: Sequence[NewsItem], assets: Sequence[Sequence[str]] | None = None
) -> dict[str, object]:
    """The `news` payload: the items just stored (an update) or the latest stored (snapshot),
    each with the assets it is about (`assets[i]` for `items[i]`)."""
    linked = assets if assets is not None else [()] * len(items)
    return {
        "items": [
            {
                "title": i.title,
                "url": i.url,
                "source": i.source,
                "provider": i.provider,
                "published_at": i.published_at,
                "summary": i.summary,
                "currencies": list(i.currencies),
                "assets": list(a),
            }
            for i, a in zip(items, linked, strict=True)
        ]
    }


def publish_news(
    publisher: Publisher, items: Sequence[NewsItem], assets: Sequence[Sequence[str]]
) -> None:
    """New items to `news`, and each asset's own to `news:<asset_id>`."""
    publisher.publish(NEWS, news_data(items, assets))
    per_asset: dict[str, list[int]] = {}
    for n, linked in enumerate(assets):
        for asset_id in linked:
            per_asset.setdefault(asset_id, []).append(n)
    for asset_id, rows in per_asset.items():
        data = news_data([items[n] for n in rows], [assets[n] for n in rows])
        publisher.publish(news_topic(asset_id), data)
