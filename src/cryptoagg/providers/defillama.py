"""DefiLlama TVL API — https://api-docs.defillama.com/

Limits: no key and no published free limit. `/protocols` is large (several MB); it is fetched
only through the cache's slow TTL.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, RootModel

from cryptoagg.core.models import (
    Capability,
    DefiChain,
    DefiOverview,
    DefiProtocol,
    from_unix,
)
from cryptoagg.providers.base import HttpProvider

NAME = "defillama"
TOP = 20


class _Protocol(BaseModel):
    name: str
    slug: str
    tvl: Decimal | None = None
    category: str | None = None
    chains: list[str] = []
    change_1d: Decimal | None = None


_Protocols = RootModel[list[_Protocol]]


class _Chain(BaseModel):
    name: str
    tvl: Decimal | None = None
    tokenSymbol: str | None = None


_Chains = RootModel[list[_Chain]]


class _TvlPoint(BaseModel):
    date: int
    tvl: Decimal


_History = RootModel[list[_TvlPoint]]


def parse_protocols(payload: Any) -> list[DefiProtocol]:
    """`/protocols`, largest first (fixture: defillama/protocols.json)."""
    rows = [p for p in _Protocols.model_validate(payload).root if p.tvl is not None]
    rows.sort(key=lambda p: p.tvl or 0, reverse=True)
    return [
        DefiProtocol(
            name=p.name,
            slug=p.slug,
            tvl=p.tvl or Decimal(0),
            category=p.category,
            chains=tuple(p.chains),
            change_1d_pct=p.change_1d,
        )
        for p in rows
    ]


def parse_chains(payload: Any) -> list[DefiChain]:
    """`/v2/chains`, largest first (fixture: defillama/v2_chains.json)."""
    rows = [c for c in _Chains.model_validate(payload).root if c.tvl is not None]
    rows.sort(key=lambda c: c.tvl or 0, reverse=True)
    return [
        DefiChain(name=c.name, tvl=c.tvl or Decimal(0), token_symbol=c.tokenSymbol) for c in rows
    ]


def parse_historical_tvl(payload: Any) -> list[tuple[datetime, Decimal]]:
    """`/v2/historicalChainTvl[/{chain}]` (fixtures: defillama/v2_historicalChainTvl*.json)."""
    return [(from_unix(p.date), p.tvl) for p in _History.model_validate(payload).root]


def parse_protocol_tvl(payload: Any) -> Decimal:
    """`/tvl/{protocol}`: a bare number (fixture: defillama/tvl_protocol.json)."""
    if isinstance(payload, bool) or not isinstance(payload, int | float):
        raise ValueError("not a number")
    return Decimal(str(payload))


class DefiLlamaProvider(HttpProvider):
    name = NAME
    hosts: ClassVar[dict[str, str]] = {"": "https://api.llama.fi"}
    capabilities = frozenset({Capability.TVL})
    docs_url = "https://api-docs.defillama.com/"

    async def defi(self) -> DefiOverview:
        protocols_raw, chains_raw = await asyncio.gather(
            self.get_json("/protocols"), self.get_json("/v2/chains")
        )
        with self.parsing("protocols/chains"):
            protocols = parse_protocols(protocols_raw)
            chains = parse_chains(chains_raw)
        return DefiOverview(
            total_tvl=sum((c.tvl for c in chains), Decimal(0)),
            protocols=tuple(protocols[:TOP]),
            chains=tuple(chains[:TOP]),
            as_of=self.now(),
            provider=NAME,
        )
