from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cryptoagg.core.assets import Asset
from cryptoagg.core.errors import NoProviderAvailable, ProviderError, Unavailable, UpstreamNotFound
from cryptoagg.core.models import Capability, Quote
from cryptoagg.resilience.health import HealthBook
from cryptoagg.resilience.pool import ProviderPool

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Fake:
    requires_key = False
    capabilities = frozenset({Capability.SPOT_PRICE})

    def __init__(
        self,
        name: str,
        price: str | None = None,
        error: ProviderError | None = None,
        disabled: str | None = None,
    ) -> None:
        self.name = name
        self.price = price
        self.error = error
        self.disabled_reason = disabled
        self.calls = 0

    async def spot_prices(self, assets: Sequence[Asset]) -> list[Quote]:
        self.calls += 1
        if self.error:
            raise self.error
        assert self.price is not None
        return [Quote(asset_id="bitcoin", provider=self.name, price=Decimal(self.price), as_of=NOW)]


def pool(*providers: Fake) -> ProviderPool:
    return ProviderPool(Capability.SPOT_PRICE, providers, HealthBook(clock=lambda: NOW))  # type: ignore[arg-type]


async def test_first_fails_over_in_priority_order() -> None:
    a = Fake("a", error=Unavailable("a", "HTTP 500"))
    b = Fake("b", price="100")
    c = Fake("c", price="200")
    p = pool(a, b, c)
    answer = await p.first(lambda prov: prov.spot_prices([]))
    assert answer.provider == "b"
    assert answer.value[0].price == Decimal(100)
    assert (a.calls, b.calls, c.calls) == (1, 1, 0)
    assert p.health.get("a").failures == 1
    assert p.health.get("a").last_error_reason == "unavailable"
    assert p.health.get("b").successes == 1


async def test_all_failing_lists_every_reason() -> None:
    p = pool(
        Fake("a", error=Unavailable("a", "HTTP 502")),
        Fake("b", disabled="missing key"),
        Fake("c", error=UpstreamNotFound("c", "HTTP 404")),
    )
    with pytest.raises(NoProviderAvailable) as info:
        await p.first(lambda prov: prov.spot_prices([]))
    assert info.value.reasons == {
        "a": "unavailable: HTTP 502",
        "b": "disabled: missing key",
        "c": "not_found: HTTP 404",
    }
    # a caller error is not held against the provider's health
    assert p.health.get("c").failures == 0


async def test_gather_collects_answers_and_reasons() -> None:
    p = pool(Fake("a", price="1"), Fake("b", error=Unavailable("b", "x")), Fake("c", price="3"))
    gathered = await p.gather(lambda prov: prov.spot_prices([]))
    assert [a.provider for a in gathered.answers] == ["a", "c"]
    assert gathered.reasons == {"b": "unavailable: x"}
