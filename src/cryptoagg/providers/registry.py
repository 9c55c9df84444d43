"""Every provider adapter, in default priority order. Adding a provider is one line here."""

from __future__ import annotations

from cryptoagg.providers.alternative_me import AlternativeMeProvider
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.binance import BinanceProvider
from cryptoagg.providers.coinbase import CoinbaseProvider
from cryptoagg.providers.coincap import CoinCapProvider
from cryptoagg.providers.coingecko import CoinGeckoProvider
from cryptoagg.providers.coinpaprika import CoinPaprikaProvider
from cryptoagg.providers.cryptocompare import CryptoCompareProvider
from cryptoagg.providers.cryptopanic import CryptoPanicProvider
from cryptoagg.providers.defillama import DefiLlamaProvider
from cryptoagg.providers.kraken import KrakenProvider
from cryptoagg.providers.messari import MessariProvider
from cryptoagg.providers.news import CoinDeskProvider, CointelegraphProvider, DecryptProvider

PROVIDERS: tuple[type[HttpProvider], ...] = (
    CoinGeckoProvider,
    BinanceProvider,
    KrakenProvider,
    CoinbaseProvider,
    CoinPaprikaProvider,
    CoinCapProvider,
    CryptoCompareProvider,
    MessariProvider,
    AlternativeMeProvider,
    DefiLlamaProvider,
    CoinDeskProvider,
    CointelegraphProvider,
    DecryptProvider,
    CryptoPanicProvider,
)
