"""What a `WS /ws` subscription starts with (`services/live.py`): topics in canonical form,
provider states from memory and a consensus from the price service."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptoagg.core.models import Capability
from cryptoagg.services.assets import AssetService
from cryptoagg.services.events import EventHub
from cryptoagg.services.live import LiveTopics, UnknownTopic
from cryptoagg.services.status import StatusService
from cryptoagg.storage.db import make_engine
from cryptoagg.storage.news import NewsRepository
from tests.support import START, FakeClock, FakeSpot, price_service


def live(tmp_path: Path, *spots: FakeSpot) -> LiveTopics:
    clock = FakeClock()
    prices = price_service(*spots, clock=clock)
    pool = prices.ctx.pools[Capability.SPOT_PRICE]
    status = StatusService(list(spots), pool.health, pool.guards, prices.ctx.pools)
    return LiveTopics(
        EventHub(queue_size=4, clock=clock.wall),
        assets=AssetService(prices.ctx),
        status=status,
        prices=prices,
        news=NewsRepository(make_engine(f"sqlite:///{tmp_path / 'news.db'}")),
        deadline_s=1.0,
    )


def test_topics_in_canonical_form(tmp_path: Path) -> None:
    topics = live(tmp_path, FakeSpot("kraken"))
    assert topics.canonical("providers") == "providers"
    assert topics.canonical("news") == "news"
    assert topics.canonical("prices:BTC") == "prices:bitcoin"
    assert topics.canonical("prices:bitcoin") == "prices:bitcoin"
    with pytest.raises(UnknownTopic) as unknown:
        topics.canonical("weather")
    assert unknown.value.message == (
        "unknown topic 'weather'; topics: prices:<asset>, providers, news, news:<asset>"
    )
    assert topics.canonical("news:BTC") == "news:bitcoin"
    assert topics.canonical("news:XBT") == "news:bitcoin"
    with pytest.raises(UnknownTopic) as no_asset:
        topics.canonical("prices:NOPECOIN")
    assert "NOPECOIN" in no_asset.value.message


def test_provider_states_from_memory(tmp_path: Path) -> None:
    topics = live(tmp_path, FakeSpot("kraken"), FakeSpot("binance"))
    topics.status.health.success("kraken", 5.0)
    rows = topics.providers()
    assert rows == [
        {
            "name": "kraken",
            "state": "ok",
            "breaker": "closed",
            "enabled": True,
            "disabled_reason": None,
            "last_error_reason": None,
        },
        {
            "name": "binance",
            "state": "unknown",
            "breaker": "closed",
            "enabled": True,
            "disabled_reason": None,
            "last_error_reason": None,
        },
    ]


async def test_a_price_snapshot_is_the_consensus_or_nothing(tmp_path: Path) -> None:
    spots = (FakeSpot("a", "100"), FakeSpot("b", "101"), FakeSpot("c", "102"))
    topics = live(tmp_path, *spots)
    snapshot = await topics.price("prices:bitcoin")
    assert isinstance(snapshot, dict)
    assert snapshot["asset_id"] == "bitcoin"
    assert snapshot["symbol"] == "BTC"
    assert str(snapshot["price"]) == "101"
    assert snapshot["sources"] == ["a", "b", "c"]
    assert snapshot["as_of"] == START
    # no provider quotes ether: no consensus, no snapshot data (and no error)
    assert await topics.price("prices:ethereum") is None
