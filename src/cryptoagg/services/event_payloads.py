"""What the live topics carry: the `data` of `prices:<asset_id>`, `providers`, `news` and
`news:<asset_id>` frames, built once per update by their publishers (and for snapshots)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptoagg.services.events import NEWS, Publisher, news_topic
from cryptoagg.services.prices import PriceReport
from cryptoagg.services.status import ProviderStatus
from cryptoagg.storage.news_feed import StoredNews


def price_data(report: PriceReport) -> dict[str, object]:
    """The `prices:<asset_id>` payload: a consensus price with its band and sources, the
    stablecoin rates its quotes were converted at (`assumed`: nobody quoted the coin in USD)
    and the sources whose quote time is when it was received (no provider stamp)."""
    consensus = report.consensus
    return {
        "asset_id": consensus.asset_id,
        "symbol": report.asset.symbol,
        "price": consensus.price,
        "low": consensus.low,
        "high": consensus.high,
        "spread_bps": consensus.spread_bps,
        "sources": consensus.sources,
        "as_of": consensus.as_of,
        "conversions": {code: rate.as_data() for code, rate in report.conversions.items()},
        "received": report.received_sources(),
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


def news_data(rows: Sequence[StoredNews]) -> dict[str, object]:
    """The `news` payload: the items just stored (an update) or the latest stored (snapshot),
    each with the assets it is about and its sentiment (null when not scored yet)."""
    return {
        "items": [
            {
                "title": r.item.title,
                "url": r.item.url,
                "source": r.item.source,
                "provider": r.item.provider,
                "published_at": r.item.published_at,
                "summary": r.item.summary,
                "currencies": list(r.item.currencies),
                "assets": list(r.assets),
                "sentiment_label": r.sentiment_label,
                "sentiment_score": r.sentiment_score,
                "sentiment_terms": [
                    {"text": t.text, "weight": t.weight, "by": t.by} for t in r.sentiment_terms
                ],
            }
            for r in rows
        ]
    }


def publish_news(publisher: Publisher, rows: Sequence[StoredNews]) -> None:
    """New items to `news`, and each asset's own to `news:<asset_id>`."""
    publisher.publish(NEWS, news_data(rows))
    per_asset: dict[str, list[StoredNews]] = {}
    for row in rows:
        for asset_id in row.assets:
            per_asset.setdefault(asset_id, []).append(row)
    for asset_id, own in per_asset.items():
        publisher.publish(news_topic(asset_id), news_data(own))
