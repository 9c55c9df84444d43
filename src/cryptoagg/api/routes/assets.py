"""The asset registry: `/api/assets` (search), `/api/resolve` (explained), `/api/assets/changes`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from cryptoagg.api.deps import ServicesDep
from cryptoagg.api.error_models import error_responses
from cryptoagg.api.openapi import RFC3339_HINT, UtcDateTime
from cryptoagg.core.assets import Asset, Resolution, normalise_symbol

router = APIRouter(prefix="/api", tags=["assets"])

MatchedBy = Literal["id", "symbol", "alias", "name"]

_BTC: dict[str, Any] = {
    "id": "bitcoin",
    "symbol": "BTC",
    "name": "Bitcoin",
    "rank": 1,
    "tracked": True,
    "provider_ids": {"coingecko": "bitcoin", "kraken": "XBT", "binance": "BTC"},
}


class AssetOut(BaseModel):
    id: str = Field(description="canonical asset id (CoinGecko's)")
    symbol: str
    name: str
    rank: int | None = Field(description="market-cap rank of a tracked asset")
    tracked: bool = Field(description="in the curated set; untracked assets come from listings")
    provider_ids: dict[str, str] = Field(description="each provider's own id or base code")


def _asset(a: Asset) -> AssetOut:
    return AssetOut(
        id=a.id,
        symbol=a.symbol,
        name=a.name,
        rank=a.rank,
        tracked=a.tracked,
        provider_ids=dict(a.provider_ids),
    )


class AssetsOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"query": "btc", "count": 1, "total": 56, "assets": [_BTC]}]
        }
    )

    query: str
    count: int
    total: int = Field(description="assets in the registry")
    assets: list[AssetOut]


class ResolutionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "XBT",
                    "matched_by": "alias",
                    "explanation": "'XBT' is an alias of the ticker BTC, which names bitcoin",
                    "namesakes": [],
                    "asset": _BTC,
                }
            ]
        }
    )

    query: str
    matched_by: MatchedBy
    explanation: str
    namesakes: list[str] = Field(
        description="untracked assets with the same ticker that lost to the tracked one"
    )
    asset: AssetOut


class ChangeOut(BaseModel):
    at: datetime
    kind: Literal[
        "baseline", "listed", "provider_added", "symbol_changed", "name_changed", "delisted"
    ]
    provider: str
    asset_id: str | None
    native_id: str | None = Field(description="the provider's own id of the asset")
    before: str | None
    after: str | None


class DiscoveryOut(BaseModel):
    enabled: bool = Field(description="ENABLE_AUTO_DISCOVERY")
    interval_s: float = Field(description="DISCOVERY_INTERVAL_S")


class ChangesOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 1,
                    "discovery": {"enabled": True, "interval_s": 21600.0},
                    "changes": [
                        {
                            "at": "2026-03-04T06:00:02Z",
                            "kind": "symbol_changed",
                            "provider": "coingecko",
                            "asset_id": "polygon-ecosystem-token",
                            "native_id": "polygon-ecosystem-token",
                            "before": "MATIC",
                            "after": "POL",
                        }
                    ],
                }
            ]
        }
    )

    count: int
    discovery: DiscoveryOut
    changes: list[ChangeOut]


@router.get(
    "/assets",
    summary="Search the asset registry by id, ticker or name",
    responses=error_responses(422),
)
async def assets(
    services: ServicesDep,
    q: Annotated[
        str, Query(max_length=100, description="part of an id or name, or a whole ticker")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=250, description="at most this many assets")] = 50,
) -> AssetsOut:
    """Assets whose id or name contains `q` or whose ticker is `q` (all assets when empty):
    tracked assets first, by rank, with every provider's id."""
    found = services.assets.search(q, limit)
    return AssetsOut(
        query=q,
        count=len(found),
        total=services.assets.count(),
        assets=[_asset(a) for a in found],
    )


def _explain(resolution: Resolution, namesakes: list[str]) -> str:
    query, asset = resolution.query.strip(), resolution.asset
    if resolution.matched_by == "id":
        return f"'{query}' is the asset id of {asset.name}"
    if resolution.matched_by == "name":
        return f"'{query}' is the name of {asset.id} ({asset.symbol})"
    if resolution.matched_by == "alias":
        text = f"'{query}' is an alias of the ticker {normalise_symbol(query)}, which names"
    else:
        text = f"'{query}' is the ticker of"
    text = f"{text} {asset.id}"
    if namesakes:
        text += f"; tracked assets win over listed namesakes ({', '.join(namesakes)})"
    return text


@router.get(
    "/resolve",
    summary="Resolve a ticker, alias, id or name to one asset, and say how",
    responses=error_responses(404, 409, 422),
)
async def resolve(
    services: ServicesDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="ticker, id or name")],
) -> ResolutionOut:
    """One asset and how `q` matched it (`matched_by`: id, symbol, alias or name). A ticker
    naming several tracked assets (or several listed ones when none is tracked) is refused
    with 409 and `details.candidates`, never guessed."""
    resolution = services.assets.resolve(q)
    by_ticker = resolution.matched_by in ("symbol", "alias")
    namesakes = services.assets.namesakes(resolution.asset) if by_ticker else []
    return ResolutionOut(
        query=q,
        matched_by=cast(MatchedBy, resolution.matched_by),
        explanation=_explain(resolution, namesakes),
        namesakes=namesakes,
        asset=_asset(resolution.asset),
    )


@router.get(
    "/assets/changes",
    summary="Listing and rename changes seen by auto-discovery, newest first",
    responses=error_responses(422),
)
async def changes(
    services: ServicesDep,
    kind: Annotated[
        Literal[
            "baseline", "listed", "provider_added", "symbol_changed", "name_changed", "delisted"
        ]
        | None,
        Query(description="only this kind of change"),
    ] = None,
    provider: Annotated[
        str | None, Query(pattern=r"^[a-z0-9_]{1,40}$", description="only this provider")
    ] = None,
    since: Annotated[UtcDateTime | None, Query(description=RFC3339_HINT)] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="at most this many changes")] = 100,
) -> ChangesOut:
    """New assets, assets a provider lists for the first time, ticker and name changes per
    provider, and delistings, as seen by each listing refresh (ENABLE_AUTO_DISCOVERY). The
    newest 500 are kept, across restarts; the first refresh after a start is a `baseline`."""
    rows = services.assets.changes.recent(limit, kind=kind, provider=provider, since=since)
    settings = services.settings
    return ChangesOut(
        count=len(rows),
        discovery=DiscoveryOut(
            enabled=settings.enable_auto_discovery, interval_s=settings.discovery_interval_s
        ),
        changes=[
            ChangeOut(
                at=r.at,
                kind=r.change.kind,
                provider=r.change.provider,
                asset_id=r.change.asset_id,
                native_id=r.change.native_id,
                before=r.change.before,
                after=r.change.after,
            )
            for r in rows
        ],
    )
