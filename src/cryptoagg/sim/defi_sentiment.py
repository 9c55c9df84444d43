"""Simulated Alternative.me Fear & Greed index and DefiLlama TVL (shapes from
`alternative_me/fng_limit2.json` and `defillama/{protocols,v2_chains,v2_historicalChainTvl,
tvl_protocol}.json`).

`/tvl/{protocol}` (the adapter's health probe) answers a bare number for a protocol's slug or a
parent's (`uniswap` sums `uniswap-v3`, as DefiLlama's parent protocols sum their versions); an
unknown slug gets a 404 (the OpenAPI's "Protocol not found"; its body is not documented).
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from cryptoagg.sim.market import DAY_S, rng_for
from cryptoagg.sim.state import Routes, SimProvider, SimState, int_param, json

CLASSES = ((25, "Extreme Fear"), (47, "Fear"), (54, "Neutral"), (75, "Greed"),
           (101, "Extreme Greed"))  # fmt: skip
#: (name, slug, category, chains, share of the DeFi total)
PROTOCOLS = (
    ("Lido", "lido", "Liquid Staking", ["Ethereum", "Solana"], 0.22),
    ("Aave V3", "aave-v3", "Lending", ["Ethereum", "Arbitrum", "Base", "Polygon"], 0.2),
    ("EigenLayer", "eigenlayer", "Restaking", ["Ethereum"], 0.12),
    ("Ethena USDe", "ethena-usde", "Basis Trading", ["Ethereum"], 0.06),
    ("Uniswap V3", "uniswap-v3", "Dexs", ["Ethereum", "Arbitrum", "Base", "Polygon"], 0.04),
    ("Sky Lending", "sky-lending", "CDP", ["Ethereum"], 0.05),
    ("Binance staked ETH", "binance-staked-eth", "Liquid Staking", ["Ethereum", "BSC"], 0.04),
    ("Morpho Blue", "morpho-blue", "Lending", ["Ethereum", "Base"], 0.04),
    ("Pendle", "pendle", "Yield", ["Ethereum", "Arbitrum"], 0.03),
    ("Jito Liquid Staking", "jito-liquid-staking", "Liquid Staking", ["Solana"], 0.02),
    ("Curve DEX", "curve-dex", "Dexs", ["Ethereum", "Arbitrum"], 0.02),
    ("Compound V3", "compound-v3", "Lending", ["Ethereum", "Base"], 0.015),
    ("JustLend", "justlend", "Lending", ["Tron"], 0.03),
    ("PancakeSwap AMM", "pancakeswap-amm", "Dexs", ["BSC"], 0.015),
    ("Raydium AMM", "raydium-amm", "Dexs", ["Solana"], 0.012),
    ("Kamino Lend", "kamino-lend", "Lending", ["Solana"], 0.012),
    ("Babylon Protocol", "babylon-protocol", "Restaking", ["Bitcoin"], 0.03),
    ("Spark", "spark", "Lending", ["Ethereum"], 0.02),
    ("Rocket Pool", "rocket-pool", "Liquid Staking", ["Ethereum"], 0.01),
    ("GMX V2", "gmx-v2", "Derivatives", ["Arbitrum", "Avalanche"], 0.004),
)
#: (name, token, gecko id, cmc id, EVM chain id, share of the DeFi total)
CHAINS = (
    ("Ethereum", "ETH", "ethereum", "1027", 1, 0.58),
    ("Solana", "SOL", "solana", "5426", None, 0.08),
    ("BSC", "BNB", "binancecoin", "1839", 56, 0.06),
    ("Bitcoin", "BTC", "bitcoin", "1", None, 0.06),
    ("Tron", "TRX", "tron", "1958", None, 0.05),
    ("Base", None, None, None, 8453, 0.04),
    ("Arbitrum", "ARB", "arbitrum", "11841", 42161, 0.025),
    ("Sui", "SUI", "sui", "20947", None, 0.012),
    ("Avalanche", "AVAX", "avalanche-2", "5805", 43114, 0.011),
    ("Polygon", "POL", "matic-network", "3890", 137, 0.008),
)
DEFI_TOTAL_USD = 110e9


def fng_value(state: SimState, day: int) -> int:
    """Greed follows the 7-day BTC trend, with some daily noise."""
    at = day * DAY_S
    trend = state.model.usd("bitcoin", at) / state.model.usd("bitcoin", at - 7 * DAY_S) - 1
    noise = rng_for(state.seed, "fng", day).gauss(0, 6)
    return max(1, min(99, round(50 + trend * 250 + noise)))


def sentiment_routes(state: SimState) -> Routes:
    async def fng(request: Request) -> Response:
        limit = int_param(request, "limit", 1)
        if limit is None:
            return json({"name": "Fear and Greed Index", "data": [],
                         "metadata": {"error": "limit must be an integer"}})  # fmt: skip
        now = state.now_s()
        today = int(now // DAY_S)
        count = 30 if limit <= 0 else min(limit, 2000)  # the real API: 0 = "all"
        data: list[dict[str, str]] = []
        for day in range(today, today - count, -1):
            value = fng_value(state, day)
            point = {
                "value": str(value),
                "value_classification": next(label for top, label in CLASSES if value < top),
                "timestamp": str(day * DAY_S),
            }
            if day == today:
                point["time_until_update"] = str(int((today + 1) * DAY_S - now))
            data.append(point)
        return json({"name": "Fear and Greed Index", "data": data, "metadata": {"error": None}})

    return [("/alternative_me/fng/", fng)]


def defillama_routes(state: SimState) -> Routes:
    def total_at(at: float) -> float:
        """DeFi TVL moves with ETH (most of it is priced in ETH)."""
        return DEFI_TOTAL_USD * state.model.usd("ethereum", at) / 3000

    def drift(key: str, at: float) -> float:
        return rng_for(state.seed, key, int(at // DAY_S)).uniform(0.97, 1.03)

    async def protocols(_request: Request) -> Response:
        now = state.now_s()
        total = total_at(now)
        rows: list[tuple[float, dict[str, object]]] = []
        for i, (name, slug, category, chains, share) in enumerate(PROTOCOLS):
            tvl = total * share * drift(slug, now)
            then = total_at(now - DAY_S) * share * drift(slug, now - DAY_S)
            week = total_at(now - 7 * DAY_S) * share * drift(slug, now - 7 * DAY_S)
            split = [0.7, *[0.3 / (len(chains) - 1)] * (len(chains) - 1)] if chains[1:] else [1]
            row: dict[str, object] = {
                "id": str(180 + i * 97),
                "name": name,
                "address": None,
                "symbol": "-",
                "url": f"https://{slug}.example",
                "description": f"{name} ({category}), simulated.",
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
                "oracles": ["Chainlink"],
                "listedAt": 1_600_000_000 + i * 3_000_000,
                "methodology": "Simulated: a share of the simulated DeFi total.",
                "slug": slug,
                "tvl": tvl,
                "chainTvls": {c: tvl * s for c, s in zip(chains, split, strict=True)},
                "change_1h": rng_for(state.seed, slug, int(now // 3600)).gauss(0, 0.2),
                "change_1d": (tvl / then - 1) * 100,
                "change_7d": (tvl / week - 1) * 100,
                "tokenBreakdowns": {},
                "mcap": None,
            }
            rows.append((tvl, row))
        return json([row for _, row in sorted(rows, key=lambda tr: -tr[0])])

    async def chains(_request: Request) -> Response:
        now = state.now_s()
        total = total_at(now)
        return json(
            [
                {
                    "gecko_id": gecko,
                    "tvl": total * share * drift(name, now),
                    "tokenSymbol": token,
                    "cmcId": cmc,
                    "name": name,
                    "chainId": chain_id,
                }
                for name, token, gecko, cmc, chain_id, share in CHAINS
            ]
        )

    def protocol_tvl(slug: str, at: float) -> float | None:
        """A protocol's TVL, or a parent's (the sum of its `-v<n>` versions)."""
        version = re.compile(rf"{re.escape(slug)}(-v\d+)?")
        shares = [(s, share) for _, s, _, _, share in PROTOCOLS if version.fullmatch(s) is not None]
        if not shares:
            return None
        return sum(total_at(at) * share * drift(s, at) for s, share in shares)

    async def tvl(request: Request) -> Response:
        value = protocol_tvl(request.path_params["protocol"], state.now_s())
        if value is None:
            return json({"message": "Protocol not found"}, 404)
        return json(value)

    async def history(_request: Request) -> Response:
        today = int(state.now_s() // DAY_S)
        first = today - 3 * 365
        return json(
            [
                {"date": day * DAY_S, "tvl": total_at(day * DAY_S) * drift("total", day * DAY_S)}
                for day in range(first, today + 1)
            ]
        )

    return [
        ("/defillama/protocols", protocols),
        ("/defillama/v2/chains", chains),
        ("/defillama/v2/historicalChainTvl", history),
        ("/defillama/tvl/{protocol}", tvl),
    ]


SIMULATED = (
    SimProvider("alternative_me", sentiment_routes),
    SimProvider("defillama", defillama_routes),
)
