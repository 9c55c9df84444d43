"""Providers whose prices disagree with the consensus are marked in their health, like a
failing provider (`state` and `last_error_reason` "outlier"), though their calls succeed,
until a later check finds them agreeing."""

from __future__ import annotations

from cryptoagg.core.consensus import Agreement
from cryptoagg.core.errors import OutlierPrices
from cryptoagg.resilience.pool import ProviderPool

#: a provider is marked when at least this share of its checked prices disagreed: one odd
#: asset (a thin market, a late ticker) is reported on its row but does not mark the provider
OUTLIER_SHARE = 0.1


def mark_outliers(pool: ProviderPool, agreement: Agreement, what: str) -> None:
    """Record in each checked provider's health whether its prices (`what`) agree with the
    consensus."""
    outliers = agreement.outliers(OUTLIER_SHARE, what)
    for provider in agreement.checked:
        why = outliers.get(provider)
        if why is None:
            pool.health.agrees(provider, what)
        else:
            pool.health.outlier(provider, what, OutlierPrices(provider, why))
