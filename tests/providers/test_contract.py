"""One contract over every registered provider, run against the in-process simulator
(`tests/providers/contract.py`): declared capabilities are implemented and return valid values,
errors are mapped, and no key ever reaches a logged URL. The registry and the capability table
are checked here too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
import pytest

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.errors import NotSupported
from cryptoagg.core.models import CAPABILITY_METHODS, Capability
from cryptoagg.core.ports import Provider
from cryptoagg.providers import registry
from cryptoagg.providers.base import HttpProvider, ProviderContext
from cryptoagg.providers.registry import PROVIDERS, adapters, extra_adapters
from cryptoagg.sim.app import create_sim_app
from cryptoagg.sim.catalog import catalog
from tests.providers import contract

IDS = [cls.name for cls in PROVIDERS]
KEYED = [c for c in PROVIDERS if c.requires_key]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_sim_app(seed=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), timeout=5) as c:
        yield c


def test_the_registry_finds_every_adapter_module_in_priority_order() -> None:
    assert IDS[:4] == ["coingecko", "binance", "kraken", "coinbase"]
    assert IDS[-4:] == ["coindesk", "cointelegraph", "decrypt", "cryptopanic"]
    assert len(IDS) == len(set(IDS)) == 14
    assert [cls.order for cls in PROVIDERS] == sorted(cls.order for cls in PROVIDERS)
    assert "RssNewsProvider" not in {cls.__name__ for cls in PROVIDERS}  # a base, not a provider
    assert adapters() == PROVIDERS


def test_every_adapter_is_simulated() -> None:
    assert {cls.name for cls in PROVIDERS} == {p.name for p in catalog()}


@pytest.mark.parametrize("cls", PROVIDERS, ids=IDS)
def test_each_adapter_describes_itself(cls: type[HttpProvider]) -> None:
    contract.check_declaration(cls)


def test_an_incomplete_or_duplicate_adapter_is_refused() -> None:
    class Nameless(HttpProvider):
        name = "Not An Identifier"
        hosts: ClassVar[dict[str, str]] = {"": "https://x.example"}

    with pytest.raises(TypeError, match="needs a lower-case identifier as `name`, an integer"):
        registry.check(Nameless)

    class Twin(HttpProvider):
        name = "kraken"
        order = 1
        hosts: ClassVar[dict[str, str]] = {"": "https://x.example"}
        capabilities = frozenset({Capability.NEWS})

    with (
        pytest.raises(TypeError, match="more than one provider adapter named kraken"),
        extra_adapters(Twin),
    ):
        pass


def test_the_capability_table_names_every_protocol_method_once() -> None:
    assert set(CAPABILITY_METHODS) == set(Capability)
    methods = set(CAPABILITY_METHODS.values())
    assert len(methods) == len(Capability)
    assert all(callable(getattr(Provider, m)) for m in methods)
    assert Capability.TVL.method == "defi" and Capability.GLOBAL.method == "global_market"


@pytest.mark.parametrize("capability", list(Capability))
async def test_a_capability_an_adapter_lacks_is_not_supported(capability: Capability) -> None:
    class Bare(HttpProvider):
        name = "bare"

    provider = Bare(ProviderContext(client=httpx.AsyncClient(), registry=seeded_registry()))
    btc = provider.ctx.registry.get("bitcoin")
    arguments: dict[Capability, tuple[Any, ...]] = {
        Capability.SPOT_PRICE: ([btc],),
        Capability.MARKETS: (10,),
        Capability.OHLCV: (btc, "1h", contract.NOW, contract.NOW),
    }
    with pytest.raises(NotSupported) as info:
        await getattr(provider, capability.method)(*arguments.get(capability, ()))
    assert info.value.detail == f"does not offer {capability.value}"


@pytest.mark.parametrize("cls", PROVIDERS, ids=IDS)
async def test_capabilities_work_against_the_simulator(
    cls: type[HttpProvider], client: httpx.AsyncClient
) -> None:
    await contract.check_capabilities(cls, client)


@pytest.mark.parametrize("cls", PROVIDERS, ids=IDS)
async def test_an_own_health_probe_works_against_the_simulator(
    cls: type[HttpProvider], client: httpx.AsyncClient
) -> None:
    await contract.check_health_probe(cls, client)


@pytest.mark.parametrize(("kind", "extra", "error"), contract.FAULTS)
@pytest.mark.parametrize("cls", PROVIDERS, ids=IDS)
async def test_faults_are_mapped(
    cls: type[HttpProvider],
    kind: str,
    extra: dict[str, Any],
    error: type[Exception],
    client: httpx.AsyncClient,
) -> None:
    await contract.check_fault(cls, client, kind, extra, error)


@pytest.mark.parametrize("cls", KEYED, ids=lambda c: c.name)
async def test_no_key_in_logged_urls(cls: type[HttpProvider], client: httpx.AsyncClient) -> None:
    await contract.check_no_key_in_logged_urls(cls, client)


@pytest.mark.parametrize("cls", KEYED, ids=lambda c: c.name)
def test_keyed_providers_without_key_are_disabled(
    cls: type[HttpProvider], client: httpx.AsyncClient
) -> None:
    contract.check_disabled_without_key(cls, client)
