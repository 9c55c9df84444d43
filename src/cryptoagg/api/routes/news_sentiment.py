"""News sentiment, overall and per asset: `/api/news/sentiment`, and the summary that
`/api/sentiment` includes (per asset with `symbol`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.render import iso, render
from cryptoagg.api.routes.news import NewsItemOut, news_item_out
from cryptoagg.api.routes.symbols import SYMBOL_PATTERN
from cryptoagg.bootstrap.container import Services
from cryptoagg.core.assets import Asset
from cryptoagg.services.news_feed import SentimentSummary

router = APIRouter(prefix="/api", tags=["news"])

#: the windows every summary covers: name -> hours
WINDOWS: dict[str, float] = {"24h": 24, "7d": 24 * 7}
#: the window of `/api/sentiment`'s overall news summary
SUMMARY_HOURS = 24
#: items behind an asset's summary, newest first
ASSET_ITEMS = 20

Body = dict[str, Any]


class WindowOut(BaseModel):
    since: str = Field(description="the window's start (UTC)")
    items: int = Field(description="items published in the window")
    scored: int
    labels: dict[str, int] = Field(description="items per sentiment label")
    mean_score: float | None = Field(description="-1 to 1; null: nothing scored")


class AssetSentimentOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    asset_id: str
    symbol: str | None
    name: str | None
    last_24h: WindowOut | None = Field(None, alias="24h")
    last_7d: WindowOut = Field(alias="7d")
    news: list[NewsItemOut] | None = Field(
        None, description="with `symbol`: the items behind the figures, newest first"
    )


class NewsSentimentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "model": "market-lexicon-1+market-layer-1",
                    "overall": {
                        "24h": {
                            "since": "2026-03-03T12:00:00Z",
                            "items": 2,
                            "scored": 2,
                            "labels": {"negative": 1, "positive": 1},
                            "mean_score": 0.1,
                        },
                        "7d": {
                            "since": "2026-02-25T12:00:00Z",
                            "items": 3,
                            "scored": 3,
                            "labels": {"negative": 1, "neutral": 1, "positive": 1},
                            "mean_score": 0.0667,
                        },
                    },
                    "assets": [
                        {
                            "asset_id": "bitcoin",
                            "symbol": "BTC",
                            "name": "Bitcoin",
                            "24h": {
                                "since": "2026-03-03T12:00:00Z",
                                "items": 1,
                                "scored": 1,
                                "labels": {"positive": 1},
                                "mean_score": 0.6,
                            },
                            "7d": {
                                "since": "2026-02-25T12:00:00Z",
                                "items": 1,
                                "scored": 1,
                                "labels": {"positive": 1},
                                "mean_score": 0.6,
                            },
                        }
                    ],
                }
            ]
        }
    )

    model: str
    overall: dict[str, WindowOut] = Field(description="every item: `24h` and `7d`")
    assets: list[AssetSentimentOut]


def _window(summary: SentimentSummary) -> Body:
    return {
        "since": iso(summary.since),
        "items": summary.items,
        "scored": summary.scored,
        "labels": summary.labels,
        "mean_score": summary.mean_score,
    }


async def news_sentiment(services: Services) -> Body:
    """The news sentiment summary of `/api/sentiment`: the last 24 hours, per label."""
    summary = await services.news.summary(SUMMARY_HOURS)
    return {"window_h": SUMMARY_HOURS, **_window(summary), "model": summary.model}


async def asset_sentiment(services: Services, asset: Asset) -> Body:
    """One asset's news sentiment over every window, with the items behind the longest."""
    windows = await services.news.summaries(WINDOWS, asset.id)
    since = next(reversed(windows.values())).since
    rows = await services.news.latest(ASSET_ITEMS, asset.id, since=since)
    return {
        "asset_id": asset.id,
        "symbol": asset.symbol.upper(),
        "name": asset.name,
        **{name: _window(summary) for name, summary in windows.items()},
        "news": [news_item_out(r).model_dump(mode="json") for r in rows],
    }


@router.get(
    "/news/sentiment",
    summary="News sentiment over 24 h and 7 days, overall and per asset",
    response_model=NewsSentimentOut,
    responses=error_responses(404, 409, 422),
)
async def news_sentiment_by_asset(
    services: ServicesDep,
    symbol: Annotated[
        str | None,
        Query(pattern=SYMBOL_PATTERN, description="one asset (ticker, id or name), with its items"),
    ] = None,
) -> Response:
    """Counts per label and the mean score (-1 to 1) of the items published in the last 24
    hours and 7 days: overall, and per asset the items are linked to (assets with news in
    the last 7 days, most items first). With `symbol`, that asset alone, with the items behind
    its figures (newest first, at most 20)."""
    overall = await services.news.summaries(WINDOWS)
    body: Body = {
        "model": services.sentiment.backend.model,
        "overall": {name: _window(s) for name, s in overall.items()},
    }
    if symbol is not None:
        asset = services.assets.resolve(symbol).asset
        body["assets"] = [await asset_sentiment(services, asset)]
        return render(body)
    per_window = await services.news.asset_summaries(WINDOWS)
    longest = next(reversed(per_window.values()))
    ranked = sorted(longest, key=lambda a: (-longest[a].items, a))
    rows = []
    for asset_id in ranked:
        known = services.assets.find(asset_id)
        windows = {
            name: _window(by_asset[asset_id])
            for name, by_asset in per_window.items()
            if asset_id in by_asset
        }
        rows.append(
            {
                "asset_id": asset_id,
                "symbol": known.symbol.upper() if known else None,
                "name": known.name if known else None,
                **windows,
            }
        )
    body["assets"] = rows
    return render(body)
