"""The one error tree of cryptoagg.

Providers translate transport failures into `ProviderError` subclasses (only in
`providers/base.py`); the API translates these errors into HTTP (only in `api/http/errors.py`).
Every error carries a stable machine `code`; messages never contain secrets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class CryptoAggError(Exception):
    """Root of every error cryptoagg raises on purpose."""

    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CryptoAggError):
    """Invalid configuration; start-up stops with this message."""

    code = "config_error"


# --- caller errors -------------------------------------------------------------------------


class InvalidInput(CryptoAggError):
    code = "invalid_input"


class NotEnoughCandles(InvalidInput):
    """Fewer closed candles than an analysis needs."""

    code = "not_enough_candles"

    def __init__(
        self, asset_id: str, interval: str, needed: int, available: int, fetchable: int = 0
    ) -> None:
        later = (
            f"; {fetchable} more can be fetched later (providers unavailable or the "
            "request's backfill budget spent)"
            if fetchable
            else ""
        )
        super().__init__(
            f"analysis of {asset_id} at {interval} needs at least {needed} closed candles; "
            f"{available} are available{later}"
        )
        self.needed = needed
        self.available = available
        self.fetchable = fetchable


class Forbidden(CryptoAggError):
    """A mutating endpoint without the right admin token."""

    code = "forbidden"


class PayloadTooLarge(CryptoAggError):
    """A request carries more than a limit allows (413)."""

    code = "payload_too_large"


class UnknownAsset(CryptoAggError):
    code = "unknown_asset"

    def __init__(self, query: str) -> None:
        super().__init__(f"unknown asset: {query!r}")
        self.query = query


class AmbiguousSymbol(CryptoAggError):
    code = "ambiguous_symbol"

    def __init__(self, query: str, candidates: Sequence[str]) -> None:
        listed = ", ".join(candidates)
        super().__init__(f"symbol {query!r} names several assets: {listed}; ask by asset id")
        self.query = query
        self.candidates = list(candidates)


# --- provider errors -----------------------------------------------------------------------


class ProviderError(CryptoAggError):
    """A provider could not answer. `reason` is the short kind shown to users."""

    code = "provider_error"
    reason = "error"
    #: whether this failure says something about the provider's health (caller errors do not)
    counts_as_failure = True

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.detail = message


class RateLimited(ProviderError):
    reason = "rate_limited"

    def __init__(self, provider: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after_s = retry_after_s


class GeoBlocked(ProviderError):
    reason = "geo_blocked"


class OutlierPrices(ProviderError):
    """The provider answered, but its prices disagree with the consensus of the others
    (recorded in its health, never raised to a caller)."""

    reason = "outlier"


class AuthFailed(ProviderError):
    reason = "auth_failed"


class MissingKey(ProviderError):
    reason = "missing_key"


class NotSupported(ProviderError):
    """The provider does not offer this capability or asset; not a health signal."""

    reason = "not_supported"
    counts_as_failure = False


class UpstreamNotFound(ProviderError):
    """The provider does not know the requested asset (a caller error, not a failure)."""

    reason = "not_found"
    counts_as_failure = False


class BadRequest(ProviderError):
    """The provider rejected our request as invalid (HTTP 400); not a health signal."""

    reason = "bad_request"
    counts_as_failure = False


class CircuitOpen(ProviderError):
    """Our breaker holds the provider back; no call went out. `retry_after_s`: when its next
    probe may go out (None: a probe is in flight)."""

    reason = "circuit_open"
    counts_as_failure = False

    def __init__(self, provider: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after_s = retry_after_s


class ProviderDisabled(ProviderError):
    """Held back until the configuration changes (e.g. after an auth failure or a geo-block)."""

    reason = "disabled"
    counts_as_failure = False


class BudgetExhausted(ProviderError):
    """Our own rate or monthly budget for the provider is spent; no call went out.
    `retry_after_s` is when a call may go out again (None: not this month)."""

    reason = "budget_exhausted"
    counts_as_failure = False

    def __init__(self, provider: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(provider, message)
        self.retry_after_s = retry_after_s


class QuotaExhausted(BudgetExhausted):
    """The provider's monthly quota is used up; nothing goes out until the month turns."""

    reason = "quota_exhausted"


class Unavailable(ProviderError):
    reason = "unavailable"


class UpstreamTimeout(ProviderError):
    reason = "timeout"


class ConnectionFailed(ProviderError):
    reason = "connection_failed"


class BadResponse(ProviderError):
    reason = "bad_response"


# --- work refused to keep the server responsive ---------------------------------------------


class WorkRefused(CryptoAggError):
    """CPU-heavy work not done: the server is busy or the client's budget is spent.
    `retry_after_s`: when trying again may succeed."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class CpuBusy(WorkRefused):
    """Every CPU worker is busy and the queue is full (503)."""

    code = "busy"


class CostExceeded(WorkRefused):
    """The client has spent its CPU-cost budget for now (429)."""

    code = "cost_budget_exceeded"


# --- storage errors ------------------------------------------------------------------------


class StorageError(CryptoAggError):
    """An export, backup or restore could not be done; the message says why."""

    code = "storage_error"


class BackupRefused(StorageError):
    """A file offered for restore is not a sound cryptoagg backup; nothing was changed."""

    code = "backup_refused"


# --- aggregate outcomes --------------------------------------------------------------------


class NoProviderAvailable(CryptoAggError):
    """Every provider of a capability failed; `reasons` maps provider to its reason."""

    code = "no_provider_available"

    def __init__(
        self,
        capability: str,
        reasons: Mapping[str, str],
        retry_after_s: float | None = None,
    ) -> None:
        summary = "; ".join(f"{name}: {why}" for name, why in reasons.items()) or "none enabled"
        super().__init__(f"no provider could answer {capability} ({summary})")
        self.capability = capability
        self.reasons = dict(reasons)
        #: when every provider was held back only by our own rate budgets: the earliest
        #: time one of them may be called again (the 503's Retry-After)
        self.retry_after_s = retry_after_s
