"""Each provider's published free-tier limits (sources in tests/fixtures/providers/SOURCES.md).

Where a provider publishes no number, the figure is a conservative guess, marked as such.
`PROVIDERS_FILE` overrides any of them (`rate_per_s`, `rate_per_min`, `monthly_quota`).
"""

from __future__ import annotations

from cryptoagg.core.limits import Limits

DEFAULT_LIMITS: dict[str, Limits] = {
    # "~30 calls per minute", about 10k a month (Demo plan docs)
    "coingecko": Limits(per_minute=30, monthly=10_000),
    # REQUEST_WEIGHT 6,000/min per IP; our calls weigh 2-40
    "binance": Limits(per_second=10, per_minute=600),
    # no published number; ~1 request/s sustained is the common guidance
    "kraken": Limits(per_second=1),
    # Exchange public endpoints: 10 requests/s per IP
    "coinbase": Limits(per_second=10),
    # free plan: 20,000 calls a month
    "coinpaprika": Limits(per_minute=60, monthly=20_000),
    # none published (guess)
    "coincap": Limits(per_minute=60),
    # secondary sources: 30/s, 1,200/hour (unverified)
    "cryptocompare": Limits(per_minute=20),
    # 200 requests/min on unpaid plans
    "messari": Limits(per_minute=200),
    # none published (guess); the index changes daily
    "alternative_me": Limits(per_minute=30),
    # none published (guess)
    "defillama": Limits(per_minute=60),
    # feeds: be polite (guess)
    "coindesk": Limits(per_minute=6),
    "cointelegraph": Limits(per_minute=6),
    "decrypt": Limits(per_minute=6),
    "cryptopanic": Limits(per_minute=10),
}
