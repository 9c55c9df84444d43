"""`/api/news`: stored news with sentiment, newest first; and the news sentiment summary
that `/api/sentiment` includes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cryptoagg.api.deps import ContainerDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.render import iso
from cryptoagg.api.routes.market import SYMBOL_PATTERN
from cryptoagg.bootstrap import Container
from cryptoagg.core.assets import normalise_symbol
from cryptoagg.core.errors import AmbiguousSymbol, UnknownAsset
from cryptoagg.storage.news_feed import StoredNews

router = APIRouter(prefix="/api", tags=["news"])

#: the window of the news sentiment summary in `/api/sentiment`
SUMMARY_HOURS = 24


class NewsItemOut(BaseModel):
    title: str
    url: str
    source: str = Field(description="the publication")
    provider: str = Field(description="the feed or API it came from")
    published_at: datetime
    summary: str | None
    currencies: list[str] = Field(description="tickers the item is tagged with")
    sentiment_label: str | None = Field(
        description="positive, negative or neutral (VADER); null: not scored"
    )
    sentiment_score: float | None = Field(description="-1 (most negative) to 1 (most positive)")


class NewsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "symbol": "BTC",
                    "asset_id": "bitcoin",
                    "count": 1,
                    "sentiment_model": "vader-3.3.2",
                    "news": [
                        {
                            "title": "Bitcoin rallies as ETF inflows jump",
                            "url": "https://www.coindesk.com/markets/2026/03/04/bitcoin-rallies",
                            "source": "CoinDesk",
                            "provider": "cryptopanic",
                            "published_at": "2026-03-04T08:15:00Z",
                            "summary": "Spot bitcoin ETFs took in $500 million on Tuesday.",
                            "currencies": ["BTC"],
                            "sentiment_label": "positive",
                            "sentiment_score": 0.4767,
                        }
                    ],
                }
            ]
        }
    )

    symbol: str | None = Field(description="the ticker filtered by, if any")
    asset_id: str | None = Field(description="the asset that ticker names, when one does")
    count: int
    sentiment_model: str | None = Field(description="the backend that scores unscored items")
    news: list[NewsItemOut]


def _item(row: StoredNews) -> NewsItemOut:
    i = row.item
    return NewsItemOut(
        title=i.title,
        url=i.url,
        source=i.source,
        provider=i.provider,
        published_at=i.published_at,
        summary=i.summary,
        currencies=list(i.currencies),
        sentiment_label=row.sentiment_label,
        sentiment_score=row.sentiment_score,
    )


def _ticker(container: Container, symbol: str) -> tuple[str, str | None]:
    """The ticker to filter by and the asset it names: an asset id becomes its ticker; a
    ticker shared by several assets, or unknown to the registry, filters as given (news are
    tagged by ticker, not by asset)."""
    try:
        asset = container.assets.resolve(symbol).asset
    except (AmbiguousSymbol, UnknownAsset):
        return normalise_symbol(symbol), None
    return asset.symbol.upper(), asset.id


@router.get(
    "/news",
    summary="Stored news with sentiment, newest first",
    responses=error_responses(422),
)
async def news(
    container: ContainerDep,
    symbol: Annotated[
        str | None,
        Query(pattern=SYMBOL_PATTERN, description="only items tagged with this ticker or asset"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many items")] = 20,
) -> NewsOut:
    """News collected from every news provider (every COLLECT_NEWS_S), newest first, each
    with a sentiment label and score (headlines are scored once, on first read). With
    `symbol`, only items tagged with its ticker: CryptoPanic tags its posts; RSS feeds carry
    no tags, so their items only show without `symbol`."""
    ticker, asset_id = _ticker(container, symbol) if symbol else (None, None)
    rows = await container.news.latest(limit, ticker)
    return NewsOut(
        symbol=ticker,
        asset_id=asset_id,
        count=len(rows),
        sentiment_model=container.sentiment.backend.model,
        news=[_item(r) for r in rows],
    )


async def news_sentiment(container: Container) -> dict[str, Any]:
    """The news sentiment summary of `/api/sentiment`: the last 24 hours, per label."""
    summary = await container.news.summary(SUMMARY_HOURS)
    return {
        "window_h": SUMMARY_HOURS,
        "since": iso(summary.since),
        "items": summary.items,
        "scored": summary.scored,
        "labels": summary.labels,
        "mean_score": summary.mean_score,
        "model": summary.model,
    }
