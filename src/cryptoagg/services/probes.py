"""A provider's health probe and the one way it is sent, for the health collector
(`collectors/health.py`) and `cryptoagg providers check`/`schema` (`cli/checks.py`).

The probe is the adapter's own when it names one (`health_endpoint` + `health_probe`:
DefiLlama's one-number TVL), else its cheapest capability call (`PROBE_ORDER`). Sending it is
one guarded call (`GuardedCalls.call`, the pools' path: breaker admission, the budget spent as
the request leaves, the outcome to the breaker and the health book), charged to the `health`
job at probe priority by the caller's background scope.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from cryptoagg.core.assets import AssetRegistry
from cryptoagg.core.errors import BudgetExhausted, CircuitOpen, ProviderDisabled, ProviderError
from cryptoagg.core.models import Capability
from cryptoagg.core.ports import Provider
from cryptoagg.resilience.guard import GuardedCalls
from cryptoagg.resilience.retry import Deadline

log = structlog.get_logger("cryptoagg.services")

#: the job name health probes are planned and charged under
JOB = "health"
PROBE_ASSET = "bitcoin"
#: capabilities in order of how cheap their call is; a provider is checked through the first
#: one it has (coinpaprika's spot price reads its whole ticker list, still its cheapest call)
PROBE_ORDER = (
    Capability.SPOT_PRICE,
    Capability.FEAR_GREED,
    Capability.GLOBAL,
    Capability.TRENDING,
    Capability.MARKETS,
    Capability.NEWS,
    Capability.TVL,
    Capability.LISTING,
    Capability.OHLCV,
)
# a new capability must be ranked here, or providers offering only it would go unchecked
if sorted(PROBE_ORDER) != sorted(Capability):  # pragma: no cover
    raise TypeError("PROBE_ORDER must rank every Capability once")


@dataclass(frozen=True, slots=True)
class Probe:
    endpoint: str
    call: Callable[[], Awaitable[object]]


def _call(provider: Provider, capability: Capability, registry: AssetRegistry) -> Probe | None:
    """The capability's cheapest call, or None when it needs what is not there (a probe asset
    the provider lists) or arguments a probe cannot choose (a candle range)."""
    if capability is Capability.OHLCV:
        return None
    method = getattr(provider, capability.method)
    if capability is Capability.SPOT_PRICE:
        asset = registry.get(PROBE_ASSET) if PROBE_ASSET in registry else None
        if asset is None or not provider.supports(asset):
            return None
        return Probe(f"{capability.value}:{PROBE_ASSET}", lambda: method([asset]))
    if capability is Capability.MARKETS:
        return Probe(capability.value, lambda: method(1))
    return Probe(capability.value, method)


def probe_for(provider: Provider, registry: AssetRegistry) -> Probe | None:
    """The cheapest call that shows whether the provider answers: the adapter's own
    `health_probe` when it names one (`health_endpoint`), else its first capability call in
    `PROBE_ORDER` (a provider without the attribute, such as a test double, gets the latter)."""
    endpoint = getattr(provider, "health_endpoint", None)
    own = getattr(provider, "health_probe", None)
    if isinstance(endpoint, str) and own is not None:
        return Probe(endpoint, own)
    for capability in PROBE_ORDER:
        if capability in provider.capabilities:
            probe = _call(provider, capability, registry)
            if probe is not None:
                return probe
    return None


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing went out: `BudgetExhausted` (the budget or the plan said no), or `CircuitOpen` /
    `ProviderDisabled` (the breaker holds the provider back)."""

    error: ProviderError


@dataclass(frozen=True, slots=True)
class Answered:
    """The call went out: its value or its error, and how long it took."""

    latency_ms: float
    value: object = None
    error: ProviderError | None = None

    @property
    def ok(self) -> bool:
        """The provider answered; a caller-side error (a 404 for the probe asset) still
        shows that it is up."""
        return self.error is None or not self.error.counts_as_failure


async def send(
    calls: GuardedCalls, provider: Provider, probe: Probe, timeout_s: float
) -> Answered | Refused:
    """Send `probe` through the guarded call within `timeout_s` (a timeout counts against the
    provider). An adapter bug becomes an `internal` error, not an upstream verdict."""
    started = time.perf_counter()
    value: object = None
    error: ProviderError | None = None
    try:
        value = await calls.call(
            provider.name,
            probe.call,
            deadline=Deadline.after(timeout_s, time.monotonic),
            timeout_counts=True,
        )
    except (BudgetExhausted, CircuitOpen, ProviderDisabled) as exc:
        return Refused(exc)
    except ProviderError as exc:
        error = exc
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("health_check_crashed", provider=provider.name)
        error = ProviderError(provider.name, f"internal: {type(exc).__name__}")
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return Answered(latency_ms, value, error)
