from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.consensus import Consensus
from cryptoagg.core.models import Quote
from cryptoagg.resilience.plan import ProviderPlan
from cryptoagg.services.event_payloads import price_data
from cryptoagg.services.events import (
    NEWS,
    EventHub,
    Subscriber,
    price_topic,
)
from cryptoagg.services.prices import ASSUMED, PriceReport
from cryptoagg.services.provider_feed import ProviderFeed
from cryptoagg.services.status import ProviderStatus
from tests.support import FakeClock

T0 = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)


def drain(sub: Subscriber) -> list[dict[str, object]]:
    frames = []
    while not sub.queue.empty():
        frames.append(orjson.loads(sub.queue.get_nowait()))
    return frames


def hub(queue_size: int = 8) -> EventHub:
    return EventHub(queue_size=queue_size, clock=FakeClock(T0).wall)


def test_one_encoding_is_shared_by_every_subscriber() -> None:
    h = hub()
    subs = [h.connect() for _ in range(3)]
    for s in subs:
        h.subscribe(s, "prices:bitcoin")
        s.queue.get_nowait()  # the snapshot
    other = h.connect()
    h.subscribe(other, "prices:ethereum")
    other.queue.get_nowait()

    reached = h.publish("prices:bitcoin", {"price": Decimal("67187.25"), "as_of": T0})

    assert reached == 3
    frames = [s.queue.get_nowait() for s in subs]
    assert frames[0] is frames[1] is frames[2]  # the same string object: encoded once
    assert orjson.loads(frames[0]) == {
        "type": "update",
        "topic": "prices:bitcoin",
        "data": {"price": 67187.25, "as_of": "2026-01-01T12:00:00.123456Z"},
        "published_at": "2026-01-01T12:00:00.123456Z",
    }
    assert other.queue.empty()
    assert h.stats.published == 1


def test_a_full_queue_drops_that_subscriber_only() -> None:
    h = hub(queue_size=3)
    slow, fast = h.connect(), h.connect()
    for s in (slow, fast):
        h.subscribe(s, "news")
    assert len(h) == 2 and h.subscribers("news") == 2

    received = []
    for i in range(5):
        h.publish("news", {"n": i})
        received += drain(fast)  # the fast client keeps up; the slow one never reads

    assert [f["data"] for f in received[1:]] == [{"n": i} for i in range(5)]
    assert slow.dropped.is_set()
    assert slow.drop_reason == "too slow: 3 messages waiting"
    # the snapshot and two updates filled it; the third update found it full
    assert [f["type"] for f in drain(slow)] == ["snapshot", "update", "update"]
    assert h.stats.dropped == 1
    assert len(h) == 1 and h.subscribers("news") == 1
    assert h.publish("news", {"n": 5}) == 1  # the dropped one costs nothing any more


def test_snapshot_is_the_latest_update_else_the_fallback() -> None:
    h = hub()
    first = h.connect()
    h.subscribe(first, "prices:bitcoin", fallback={"price": 1})
    assert drain(first) == [
        {"type": "snapshot", "topic": "prices:bitcoin", "data": {"price": 1}, "published_at": None}
    ]
    h.publish("prices:bitcoin", {"price": 2})
    drain(first)

    second = h.connect()
    h.subscribe(second, "prices:bitcoin", fallback={"price": 1})
    assert drain(second) == [
        {
            "type": "snapshot",
            "topic": "prices:bitcoin",
            "data": {"price": 2},
            "published_at": "2026-01-01T12:00:00.123456Z",
        }
    ]
    third = h.connect()
    h.subscribe(third, "prices:bitcoin", fallback={"price": 3}, fresh=True)
    assert drain(third)[0]["data"] == {"price": 3}
    assert h.latest("prices:bitcoin") is not None
    assert h.latest("prices:ethereum") is None


def test_unsubscribe_and_disconnect_stop_updates() -> None:
    h = hub()
    a, b = h.connect(), h.connect()
    for s in (a, b):
        h.subscribe(s, NEWS)
        h.subscribe(s, "providers")
        drain(s)
    h.unsubscribe(a, NEWS)
    h.disconnect(b)
    assert h.publish(NEWS, {"items": []}) == 0
    assert h.publish("providers", []) == 1
    assert [f["topic"] for f in drain(a)] == ["providers"]
    assert drain(b) == []
    assert len(h) == 1 and b.topics == set()


async def test_heartbeats_reach_every_connected_client_until_closed() -> None:
    h = hub()
    subscribed, idle = h.connect(), h.connect()
    h.subscribe(subscribed, NEWS)
    drain(subscribed)

    h.start(0.02)
    await asyncio.sleep(0.11)
    await h.aclose()
    beats = idle.queue.qsize()
    await asyncio.sleep(0.05)
    assert idle.queue.qsize() == beats  # no beat after aclose
    assert 3 <= beats <= 6
    frames = drain(idle)
    assert frames[0] == {"type": "heartbeat", "at": "2026-01-01T12:00:00.123456Z"}
    assert len(drain(subscribed)) == beats


def test_price_payload_carries_the_band_sources_and_labels() -> None:
    quotes = (
        Quote(asset_id="bitcoin", provider="binance", price=Decimal(100), as_of=T0).model_copy(
            update={"converted_from": "USDT"}
        ),
        Quote(asset_id="bitcoin", provider="kraken", price=Decimal(101), as_of=T0).model_copy(
            update={"time_source": "received"}
        ),
    )
    c = Consensus(
        asset_id="bitcoin",
        price=Decimal("100.5"),
        low=Decimal("100"),
        high=Decimal("101"),
        spread_bps=Decimal("99.50"),
        mad=Decimal("0.5"),
        as_of=T0,
        used=quotes,
        dropped=(),
    )
    report = PriceReport(seeded_registry().get("bitcoin"), c, {}, {"USDT": ASSUMED})
    h = hub()
    s = h.connect()
    h.subscribe(s, price_topic("bitcoin"))
    h.publish(price_topic("bitcoin"), price_data(report))
    assert drain(s)[1]["data"] == {
        "asset_id": "bitcoin",
        "symbol": "BTC",
        "price": 100.5,
        "low": 100.0,
        "high": 101.0,
        "spread_bps": 99.5,
        "sources": ["binance", "kraken"],
        "as_of": "2026-01-01T12:00:00.123456Z",
        "conversions": {"USDT": {"rate": 1.0, "assumed": True, "sources": []}},
        "received": ["kraken"],
    }


def status(name: str, state: str = "ok", calls: int = 0) -> ProviderStatus:
    return ProviderStatus(
        name=name,
        enabled=True,
        disabled_reason=None,
        capabilities=["spot_price"],
        requires_key=False,
        state=state,
        breaker="closed",
        next_probe_at=None,
        successes=calls,
        failures=0,
        success_rate_1h=1.0,
        success_rate_24h=1.0,
        p50_ms=float(calls),
        p95_ms=float(calls),
        last_success=T0 + timedelta(seconds=calls),
        last_error=None,
        last_error_reason=None,
        last_error_at=None,
        calls_this_minute=calls,
        calls_this_month=calls,
        quota_monthly=None,
        quota_left=None,
        plan=ProviderPlan(name, None, calls, 0, None, calls, None, False, []),
        client_calls_kept=0,
        client_wait_p50_ms=None,
        client_wait_p99_ms=None,
    )


class FakeStatus:
    def __init__(self) -> None:
        self.rows = [status("kraken"), status("binance")]

    def providers_status(self) -> list[ProviderStatus]:
        return self.rows


async def test_provider_feed_publishes_state_changes_only() -> None:
    h = hub()
    s = h.connect()
    h.subscribe(s, "providers")
    drain(s)
    fake = FakeStatus()
    feed = ProviderFeed(fake, h)  # type: ignore[arg-type]

    assert await feed() is True
    fake.rows = [status("kraken", calls=7), status("binance", calls=3)]  # counters only
    assert await feed() is False
    fake.rows = [replace(fake.rows[0], state="open", breaker="open"), fake.rows[1]]
    assert await feed() is True

    updates = drain(s)
    assert len(updates) == 2
    assert [(p["name"], p["state"], p["breaker"]) for p in updates[1]["data"]] == [  # type: ignore[union-attr, index]
        ("kraken", "open", "open"),
        ("binance", "ok", "closed"),
    ]
