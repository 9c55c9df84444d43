"""DefiLlama TVL API — https://api-docs.defillama.com/

Limits: no key ("doesn't require any authentication") and no published free limit; a paid Pro
plan exists for higher limits. `/protocols` is large (several MB), so callers should only reach
it through the cache's slow TTL. All amounts are USD numbers (JSON floats).

Health probe: `GET /tvl/uniswap`, the smallest documented call. The official OpenAPI
(`DefiLlama/api-docs`, `defillama-openapi-free.json`, path `/tvl/{protocol}`: "Simplified
endpoint that only returns a number, the current TVL of a protocol") gives `uniswap` as the
example slug and a bare JSON number as the body; that example is the fixture
`defillama/tvl_protocol.json` (18 bytes; `/v2/chains` and `/v2/historicalChainTvl` are lists
that grow with every chain or day, `/protocols` is several MB).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from pydantic import BaseModel, Field, RootModel

from cryptoagg.core.limits import Limits
from cryptoagg.core.models import (
    Capability,
    DefiChain,
    DefiOverview,
    DefiProtocol,
    from_unix,
)
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "defillama"
#: protocols and chains kept in the overview (largest TVL first)
TOP = 20
#: the protocol whose TVL the health probe reads (the OpenAPI's example slug)
PROBE_PROTOCOL = "uniswap"

# -- payload models ------------------------------------------------------------------------


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
    token_symbol: str | None = Field(default=None, alias="tokenSymbol")


_Chains = RootModel[list[_Chain]]


class _TvlPoint(BaseModel):
    date: int
    tvl: Decimal


_History = RootModel[list[_TvlPoint]]

# -- parse functions -----------------------------------------------------------------------


def parse_protocols(payload: Any) -> list[DefiProtocol]:
    """`/protocols`, largest TVL first; protocols without a TVL are skipped
    (fixture: defillama/protocols.json)."""
    rows = [(p, p.tvl) for p in _Protocols.model_validate(payload).root if p.tvl is not None]
    rows.sort(key=lambda row: row[1], reverse=True)
    return [
        DefiProtocol(
            name=p.name,
            slug=p.slug,
            tvl=tvl,
            category=p.category,
            chains=tuple(p.chains),
            change_1d_pct=p.change_1d,
        )
        for p, tvl in rows
    ]


def parse_chains(payload: Any) -> list[DefiChain]:
    """`/v2/chains`, largest TVL first (fixture: defillama/v2_chains.json)."""
    rows = [(c, c.tvl) for c in _Chains.model_validate(payload).root if c.tvl is not None]
    rows.sort(key=lambda row: row[1], reverse=True)
    return [DefiChain(name=c.name, tvl=tvl, token_symbol=c.token_symbol) for c, tvl in rows]


def parse_historical_tvl(payload: Any) -> list[tuple[datetime, Decimal]]:
    """`/v2/historicalChainTvl` and `/v2/historicalChainTvl/{chain}`: (day, USD TVL) pairs
    (fixtures: defillama/v2_historicalChainTvl.json, v2_historicalChainTvl_karura.json)."""
    return [(from_unix(p.date), p.tvl) for p in _History.model_validate(payload).root]


def parse_protocol_tvl(payload: Any) -> Decimal:
    """`/tvl/{protocol}`: the body is a bare JSON number (fixture: defillama/tvl_protocol.json)."""
    if isinstance(payload, bool) or not isinstance(payload, int | float):
        raise TypeError("the body is not a number")
    return Decimal(str(payload))


def overview(protocols: list[DefiProtocol], chains: list[DefiChain], now: datetime) -> DefiOverview:
    """Total TVL over every chain, with the largest protocols and chains."""
    return DefiOverview(
        total_tvl=sum((c.tvl for c in chains), Decimal(0)),
        protocols=tuple(protocols[:TOP]),
        chains=tuple(chains[:TOP]),
        as_of=now,
        provider=NAME,
    )


class DefiLlamaProvider(HttpProvider):
    name = NAME
    order = 100
    # none published (guess)
    limits = Limits(per_minute=60)
    hosts: ClassVar[dict[str, str]] = {"": "https://api.llama.fi"}
    capabilities = frozenset({Capability.TVL})
    docs_url = "https://api-docs.defillama.com/"
    health_endpoint = f"tvl:{PROBE_PROTOCOL}"
    shapes = (
        Recording(
            f"/tvl/{PROBE_PROTOCOL}",
            "defillama/tvl_protocol.json",
            lambda p, _: parse_protocol_tvl(p),
        ),
    )

    async def health_probe(self) -> Decimal:
        """One protocol's TVL (a bare number), never the `/protocols` listing."""
        payload = await self.get_json(f"/tvl/{PROBE_PROTOCOL}")
        with self.parsing("tvl"):
            return parse_protocol_tvl(payload)

    async def defi(self) -> DefiOverview:
        calls = [
            asyncio.ensure_future(self.get_json("/protocols")),
            asyncio.ensure_future(self.get_json("/v2/chains")),
        ]
        try:
            protocols_raw, chains_raw = await asyncio.gather(*calls)
        except BaseException:
            # gather leaves the other call running when one fails; do not leave it orphaned.
            for call in calls:
                call.cancel()
            raise
        with self.parsing("protocols/chains"):
            protocols = parse_protocols(protocols_raw)
            chains = parse_chains(chains_raw)
        return overview(protocols, chains, self.now())
