"""The seed of the asset registry: the top assets by market cap with every provider's id.

Columns: CoinGecko id, ticker, name, market-cap rank (late 2025), CoinPaprika id, CoinCap id,
and the exchanges that list a USD(T) pair: `b` Binance (`<SYM>USDT`), `k` Kraken (`<SYM>USD`),
`c` Coinbase (`<SYM>-USD`). Kraken's own codes for a few assets are in `KRAKEN_CODES`.
Only ids that are data live here: a provider whose ids follow a rule (CryptoCompare's are the
tickers, Messari's CoinCap's ids) derives them in its adapter (`HttpProvider.derived_id`), so
a new provider needs a column here only when its ids are its own.
The listing endpoints (CoinGecko coins list, CoinPaprika coins, Kraken asset pairs, Binance
exchange info) add further, untracked assets at run time.
"""

from __future__ import annotations

from cryptoagg.core.assets import Asset, AssetRegistry

SEED: tuple[tuple[str, str, str, int, str, str, str], ...] = (
    ("bitcoin", "BTC", "Bitcoin", 1, "btc-bitcoin", "bitcoin", "bkc"),
    ("ethereum", "ETH", "Ethereum", 2, "eth-ethereum", "ethereum", "bkc"),
    ("tether", "USDT", "Tether", 3, "usdt-tether", "tether", "kc"),
    ("ripple", "XRP", "XRP", 4, "xrp-xrp", "xrp", "bkc"),
    ("binancecoin", "BNB", "BNB", 5, "bnb-binance-coin", "binance-coin", "b"),
    ("solana", "SOL", "Solana", 6, "sol-solana", "solana", "bkc"),
    ("usd-coin", "USDC", "USDC", 7, "usdc-usd-coin", "usd-coin", "k"),
    ("dogecoin", "DOGE", "Dogecoin", 8, "doge-dogecoin", "dogecoin", "bkc"),
    ("tron", "TRX", "TRON", 9, "trx-tron", "tron", "bk"),
    ("cardano", "ADA", "Cardano", 10, "ada-cardano", "cardano", "bkc"),
    ("staked-ether", "STETH", "Lido Staked Ether", 11, "steth-lido-staked-ether", "steth", ""),
    (
        "wrapped-bitcoin",
        "WBTC",
        "Wrapped Bitcoin",
        12,
        "wbtc-wrapped-bitcoin",
        "wrapped-bitcoin",
        "kc",
    ),
    ("chainlink", "LINK", "Chainlink", 13, "link-chainlink", "chainlink", "bkc"),
    ("avalanche-2", "AVAX", "Avalanche", 14, "avax-avalanche", "avalanche", "bkc"),
    ("stellar", "XLM", "Stellar", 15, "xlm-stellar", "stellar", "bkc"),
    ("sui", "SUI", "Sui", 16, "sui-sui", "sui", "bkc"),
    ("hyperliquid", "HYPE", "Hyperliquid", 17, "hype-hyperliquid", "hyperliquid", ""),
    ("bitcoin-cash", "BCH", "Bitcoin Cash", 18, "bch-bitcoin-cash", "bitcoin-cash", "bkc"),
    ("hedera-hashgraph", "HBAR", "Hedera", 19, "hbar-hedera-hashgraph", "hedera-hashgraph", "bc"),
    ("litecoin", "LTC", "Litecoin", 20, "ltc-litecoin", "litecoin", "bkc"),
    ("the-open-network", "TON", "Toncoin", 21, "toncoin-the-open-network", "toncoin", "bk"),
    ("shiba-inu", "SHIB", "Shiba Inu", 22, "shib-shiba-inu", "shiba-inu", "bkc"),
    ("polkadot", "DOT", "Polkadot", 23, "dot-polkadot", "polkadot", "bkc"),
    ("leo-token", "LEO", "LEO Token", 24, "leo-leo-token", "unus-sed-leo", ""),
    ("monero", "XMR", "Monero", 25, "xmr-monero", "monero", "k"),
    ("uniswap", "UNI", "Uniswap", 26, "uni-uniswap", "uniswap", "bkc"),
    ("dai", "DAI", "Dai", 27, "dai-dai", "multi-collateral-dai", "kc"),
    ("pepe", "PEPE", "Pepe", 28, "pepe-pepe", "pepe", "bk"),
    ("aptos", "APT", "Aptos", 29, "apt-aptos", "aptos", "bkc"),
    ("near", "NEAR", "NEAR Protocol", 30, "near-near-protocol", "near-protocol", "bkc"),
    (
        "internet-computer",
        "ICP",
        "Internet Computer",
        31,
        "icp-internet-computer",
        "internet-computer",
        "bkc",
    ),
    (
        "ethereum-classic",
        "ETC",
        "Ethereum Classic",
        32,
        "etc-ethereum-classic",
        "ethereum-classic",
        "bkc",
    ),
    ("aave", "AAVE", "Aave", 33, "aave-new", "aave", "bkc"),
    ("crypto-com-chain", "CRO", "Cronos", 34, "cro-cryptocom-chain", "crypto-com-coin", "c"),
    ("ondo-finance", "ONDO", "Ondo", 35, "ondo-ondo", "ondo", "bkc"),
    ("mantle", "MNT", "Mantle", 36, "mnt-mantle", "mantle", "k"),
    ("render-token", "RENDER", "Render", 37, "rndr-render-token", "render-token", "bkc"),
    ("cosmos", "ATOM", "Cosmos Hub", 38, "atom-cosmos", "cosmos", "bkc"),
    ("vechain", "VET", "VeChain", 39, "vet-vechain", "vechain", "b"),
    ("filecoin", "FIL", "Filecoin", 40, "fil-filecoin", "filecoin", "bkc"),
    ("algorand", "ALGO", "Algorand", 41, "algo-algorand", "algorand", "bkc"),
    ("arbitrum", "ARB", "Arbitrum", 42, "arb-arbitrum", "arbitrum", "bkc"),
    ("optimism", "OP", "Optimism", 43, "op-optimism", "optimism", "bkc"),
    (
        "injective-protocol",
        "INJ",
        "Injective",
        44,
        "inj-injective-protocol",
        "injective-protocol",
        "bkc",
    ),
    ("blockstack", "STX", "Stacks", 45, "stx-stacks", "stacks", "bkc"),
    ("the-graph", "GRT", "The Graph", 46, "grt-the-graph", "the-graph", "bkc"),
    ("immutable-x", "IMX", "Immutable", 47, "imx-immutable-x", "immutable-x", "bkc"),
    ("maker", "MKR", "Maker", 48, "mkr-maker", "maker", "bkc"),
    ("kaspa", "KAS", "Kaspa", 49, "kas-kaspa", "kaspa", "k"),
    ("okb", "OKB", "OKB", 50, "okb-okb", "okb", ""),
    ("bittensor", "TAO", "Bittensor", 51, "tao-bittensor", "bittensor", "bk"),
    ("fetch-ai", "FET", "Artificial Superintelligence Alliance", 52, "fet-fetchai", "fetch", "bkc"),
    ("tezos", "XTZ", "Tezos", 53, "xtz-tezos", "tezos", "bkc"),
    ("the-sandbox", "SAND", "The Sandbox", 54, "sand-the-sandbox", "the-sandbox", "bkc"),
    ("decentraland", "MANA", "Decentraland", 55, "mana-decentraland", "decentraland", "bkc"),
    ("zcash", "ZEC", "Zcash", 56, "zec-zcash", "zcash", "bkc"),
)

#: Kraken's base codes where they differ from the ticker (Kraken calls bitcoin XBT)
KRAKEN_CODES: dict[str, str] = {"BTC": "XBT", "DOGE": "XDG"}


def seed_assets() -> list[Asset]:
    assets = []
    for asset_id, symbol, name, rank, paprika, coincap, venues in SEED:
        ids = {
            "coingecko": asset_id,
            "coinpaprika": paprika,
            "coincap": coincap,
        }
        if "b" in venues:
            ids["binance"] = symbol
        if "k" in venues:
            ids["kraken"] = KRAKEN_CODES.get(symbol, symbol)
        if "c" in venues:
            ids["coinbase"] = symbol
        assets.append(Asset(asset_id, symbol, name, rank, True, ids))
    return assets


def seeded_registry() -> AssetRegistry:
    return AssetRegistry(seed_assets())
