"""`/api/news`: stored news with the assets each item is about, every outlet that carried it,
and its sentiment, newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.routes.sentiment import TermOut
from cryptoagg.api.routes.symbols import SYMBOL_PATTERN
from cryptoagg.services.news_feed import StoredNews

router = APIRouter(prefix="/api", tags=["news"])


class NewsSourceOut(BaseModel):
    source: str = Field(description="the publication")
    provider: str
    url: str
    published_at: datetime
    matched_by: str = Field(
        description="`first`: the item as stored; a later copy matched by `url` (the same link "
        "without tracking parameters), `guid` (the feed's id) or `title` (a near-identical "
        "title about the same assets and figures within 48 h)"
    )


class NewsItemOut(BaseModel):
    title: str
    url: str
    source: str = Field(description="the publication")
    provider: str = Field(description="the feed or API it came from")
    published_at: datetime
    summary: str | None
    currencies: list[str] = Field(description="tickers the provider tagged the item with")
    assets: list[str] = Field(
        description="ids of the assets the item is about: names, tickers in context, aliases "
        "and provider tags"
    )
    sources: list[NewsSourceOut] = Field(description="every outlet that carried the story")
    sentiment_label: str | None = Field(
        description="positive, negative or neutral (`sentiment_model`); null: not scored"
    )
    sentiment_score: float | None = Field(description="-1 (most negative) to 1 (most positive)")
    sentiment_terms: list[TermOut] = Field(
        description="the words and phrases that moved the score, strongest first (empty: not "
        "scored, or a model backend)"
    )


class NewsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "symbol": "BTC",
                    "asset_id": "bitcoin",
                    "count": 1,
                    "sentiment_model": "market-lexicon-1+market-layer-1",
                    "news": [
                        {
                            "title": "Bitcoin rallies as ETF inflows jump",
                            "url": "https://www.coindesk.com/markets/2026/03/04/bitcoin-rallies",
                            "source": "CoinDesk",
                            "provider": "cryptopanic",
                            "published_at": "2026-03-04T08:15:00Z",
                            "summary": "Spot bitcoin ETFs took in $500 million on Tuesday.",
                            "currencies": ["BTC"],
                            "assets": ["bitcoin"],
                            "sources": [
                                {
                                    "source": "CoinDesk",
                                    "provider": "cryptopanic",
                                    "url": "https://www.coindesk.com/markets/2026/03/04/bitcoin-rallies",
                                    "published_at": "2026-03-04T08:15:00Z",
                                    "matched_by": "first",
                                }
                            ],
                            "sentiment_label": "positive",
                            "sentiment_score": 0.4767,
                            "sentiment_terms": [
                                {"text": "rallies", "weight": 1.9, "by": "lexicon"},
                                {"text": "inflows", "weight": 1.2, "by": "lexicon"},
                            ],
                        }
                    ],
                }
            ]
        }
    )

    symbol: str | None = Field(description="the asset's ticker, when filtered by one")
    asset_id: str | None = Field(description="the asset filtered by, if any")
    count: int
    sentiment_model: str | None = Field(description="the backend that scores unscored items")
    news: list[NewsItemOut]


@router.get(
    "/news",
    summary="Stored news with sentiment, newest first",
    responses=error_responses(404, 409, 422),
)
async def news(
    services: ServicesDep,
    symbol: Annotated[
        str | None,
        Query(
            pattern=SYMBOL_PATTERN, description="only items about this asset (ticker, id or name)"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many items")] = 20,
) -> NewsOut:
    """News collected from every news provider (every COLLECT_NEWS_S), one item per story
    (copies from other outlets are listed in `sources`), newest first, each with the assets
    it is about and a sentiment label and score (headlines are scored once, on first read).
    With `symbol`, only items linked to that asset; an unknown symbol is a 404, one naming
    several assets a 409 with the candidates."""
    asset = services.assets.resolve(symbol).asset if symbol else None
    rows = await services.news.latest(limit, asset.id if asset else None)
    return NewsOut(
        symbol=asset.symbol.upper() if asset else None,
        asset_id=asset.id if asset else None,
        count=len(rows),
        sentiment_model=services.sentiment.backend.model,
        news=[news_item_out(r) for r in rows],
    )


def news_item_out(r: StoredNews) -> NewsItemOut:
    return NewsItemOut(
        title=r.item.title,
        url=r.item.url,
        source=r.item.source,
        provider=r.item.provider,
        published_at=r.item.published_at,
        summary=r.item.summary,
        currencies=list(r.item.currencies),
        assets=list(r.assets),
        sources=[
            NewsSourceOut(
                source=x.source,
                provider=x.provider,
                url=x.url,
                published_at=x.published_at,
                matched_by=x.matched_by,
            )
            for x in r.sources
        ],
        sentiment_label=r.sentiment_label,
        sentiment_score=r.sentiment_score,
        sentiment_terms=[TermOut.of(t) for t in r.sentiment_terms],
    )
