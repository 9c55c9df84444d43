"""Two replicas behave as one service (issue 18): real server processes sharing one
PostgreSQL database and one Redis, on one simulator, nginx in front (tests/e2e/replicas.py).

- 30 s of load spread over both: each cached resource is fetched upstream once per TTL
  across the replicas, and a provider's calls stay within its one rate limit;
- a 429 with Retry-After seen by replica A keeps replica B away from that provider;
- `kill -9` of the collecting replica: the other one collects within the lease, with no gap
  beyond it and no duplicate row (PostgreSQL's advisory lock, and the Redis lease);
- a WebSocket client on B hears the price A's collector recorded (also through nginx);
- Redis stopped mid-run: both keep serving, /health says degraded, each falls back to its
  own cache, and shared state comes back with Redis.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.procs import SPOT_PROVIDERS, fault, simulator
from tests.e2e.replicas import (
    Replica,
    Sampler,
    changes,
    get,
    load,
    most_within,
    next_update,
    nginx,
    nginx_test,
    postgres_database,
    provider_calls,
    query,
    replicas,
    sim_calls,
    wait_for,
)
from tests.redis_support import RedisServer

pytestmark = pytest.mark.e2e

RETRY_S, LEASE_S = 1.0, 3.0
#: kraken keeps its published limit (1 call/s, burst 1); every other provider is lifted
KRAKEN_PER_S = 1


@pytest.fixture(scope="module")
def sim() -> Iterator[str]:
    with simulator(seed=5) as url:
        yield url


@dataclass
class Shared:
    sim: str
    db_url: str
    redis: RedisServer
    env: dict[str, str]


@pytest.fixture
def shared(sim: str, tmp_path: Path) -> Iterator[Shared]:
    """A fresh database, a Redis of the test's own and the settings every replica shares."""
    httpx.delete(f"{sim}/_sim/faults")
    providers = tmp_path / "providers.yaml"
    lifted = [n for n in (*SPOT_PROVIDERS, "alternative_me", "defillama") if n != "kraken"]
    providers.write_text(
        "providers:\n"
        + "".join(f"  {n}: {{rate_per_s: 1000, rate_per_min: 100000}}\n" for n in lifted)
    )
    redis = RedisServer()
    redis.start()
    try:
        with postgres_database() as db_url:
            env = {
                "UPSTREAM_BASE_URL": sim,
                "DATABASE_URL": db_url,
                "REDIS_URL": redis.url,
                "PROVIDERS_FILE": str(providers),
                "RATE_LIMIT_PER_MIN": "0",  # every test client is 127.0.0.1
                "TRUSTED_PROXIES": "127.0.0.1",
                "LEADER_RETRY_S": str(RETRY_S),
                "LEADER_LEASE_S": str(LEASE_S),
                "REDIS_RECONNECT_MAX_S": "0.5",
            }
            yield Shared(sim, db_url, redis, env)
    finally:
        redis.stop()
        httpx.delete(f"{sim}/_sim/faults")


def test_the_shipped_nginx_conf_is_valid() -> None:
    out = nginx_test(["http://127.0.0.1:7001", "http://127.0.0.1:7002"])
    assert "syntax is ok" in out


# --- load over both replicas --------------------------------------------------------------


@pytest.mark.slow
def test_load_over_two_replicas_fetches_once_per_ttl_and_keeps_one_rate_limit(
    shared: Shared, tmp_path: Path
) -> None:
    ttl_s, seconds = 5.0, 30.0
    env = {**shared.env, "COLLECTORS": "false", "PRICE_TTL_S": "5", "MARKETS_TTL_S": "5"}
    with replicas(tmp_path, env) as (a, b), nginx([a.url, b.url]) as lb:
        ids = [r["asset_id"] for r in get(a.url, "/api/market")["cryptocurrencies"][:20]]
        assert len(ids) == 20
        httpx.delete(f"{shared.sim}/_sim/stats")
        sampler = Sampler(shared.sim)
        sampler.start()
        # hot paths (the listing, one price) and a sweep over 20 assets' prices, which asks
        # kraken for more than its limit; each thread walks A, B and nginx in turn
        hot = ["/api/market", "/api/price/bitcoin"]
        sweep = [f"/api/price/{i}" for i in ids]
        try:
            statuses = load([a.url, b.url, lb], [hot] * 3 + [sweep] * 3, seconds)
        finally:
            sampler.done.set()
            sampler.join()
        served = [a.health(), b.health()]
    for target, got in statuses.items():
        assert len(got) > 100 and got.count(200) == len(got), (target, len(got))
    assert all(h["checks"]["redis"]["ok"] for h in served)

    # the listing: one upstream refresh per TTL across both replicas (two apart would
    # refresh it twice per TTL at random phases)
    markets = sampler.series("coingecko", "/api/v3/coins/markets")
    total = markets[-1][1]
    assert seconds / ttl_s - 2 <= total <= seconds / ttl_s + 2, str(changes(markets))
    assert most_within(markets, ttl_s - 1.0) <= 1, str(changes(markets))
    # each asset's per-asset quote (Coinbase): the same, resource by resource
    coinbase = sim_calls(shared.sim)["coinbase"]
    per_asset = {p: n for p, n in coinbase.items() if "USDT-USD" not in p}
    assert len(per_asset) >= 10  # the assets Coinbase lists
    assert max(per_asset.values()) <= seconds / ttl_s + 2, per_asset
    # kraken: 20 assets every 5 s ask for 4 calls/s; both replicas together stay at 1/s
    kraken = sampler.series("kraken")
    assert kraken[-1][1] >= seconds * KRAKEN_PER_S / 2  # it was asked, and answered
    assert kraken[-1][1] <= seconds * KRAKEN_PER_S + 2, str(changes(kraken))
    assert most_within(kraken, 5.0) <= 5 * KRAKEN_PER_S + 2, str(changes(kraken))
    # both replicas served (and recorded) every listing: each price is stored once
    recorded = query(shared.db_url, "SELECT count(*) FROM prices WHERE stream = 'market'")
    twice = query(
        shared.db_url,
        "SELECT asset_id, as_of FROM prices GROUP BY asset_id, as_of, stream HAVING count(*) > 1",
    )
    assert recorded[0][0] > 0 and twice == []


# --- a 429 seen by one replica -----------------------------------------------------------


def test_a_429_seen_by_a_keeps_b_away_until_retry_after(shared: Shared, tmp_path: Path) -> None:
    retry_after_s = 4.0
    env = {**shared.env, "COLLECTORS": "false", "PRICE_TTL_S": "0"}
    with replicas(tmp_path, env) as (a, b):
        assert "coinbase" in get(b.url, "/api/price/bitcoin")["sources"]
        fault(shared.sim, "coinbase", "ratelimit", retry_after_s=retry_after_s)
        seen_at = time.monotonic()
        body = get(a.url, "/api/price/bitcoin")
        assert body["unavailable"]["coinbase"].startswith("rate_limited")
        sent = provider_calls(shared.sim, "coinbase")
        httpx.delete(f"{shared.sim}/_sim/faults")  # B would get through now, if it tried
        while time.monotonic() - seen_at < retry_after_s - 0.7:
            body = get(b.url, "/api/price/bitcoin")
            assert "coinbase" not in body["sources"]
            assert provider_calls(shared.sim, "coinbase") == sent
            time.sleep(0.2)
        time.sleep(max(0.0, retry_after_s + 0.3 - (time.monotonic() - seen_at)))
        wait_for(lambda: "coinbase" in get(b.url, "/api/price/bitcoin")["sources"], 10)
        assert provider_calls(shared.sim, "coinbase") > sent


# --- the leader dies --------------------------------------------------------------------


def consensus_rows(db_url: str, asset: str) -> list[Any]:
    return query(
        db_url,
        "SELECT as_of, recorded_at, price FROM prices WHERE asset_id = :a"
        " AND stream = 'consensus' ORDER BY as_of",
        a=asset,
    )


@pytest.mark.slow
@pytest.mark.parametrize("lock", ["auto", "redis"])
def test_kill_9_of_the_leader_hands_collection_over_within_the_lease(
    shared: Shared, tmp_path: Path, lock: str
) -> None:
    interval_s = 5.0
    env = {
        **shared.env,
        "LEADER_LOCK": lock,
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": str(interval_s),
        "COLLECT_ASSETS": "2",
        "PRICE_TTL_S": "1",
        "COLLECT_CANDLES_S": "10",
        "COLLECT_CANDLES_LOOKBACK_H": "0.25",
        "COLLECT_NEWS_S": "3600",
        "COLLECT_HEALTH_S": "3600",
    }
    with replicas(tmp_path, env) as (a, b):
        wait_for(lambda: a.leads() or b.leads(), 10)
        leader, other = (a, b) if a.leads() else (b, a)
        assert not other.leads()
        wait_for(lambda: len(consensus_rows(shared.db_url, "bitcoin")) >= 2, 20)
        first = leader.health()["checks"]["collectors"]
        kind = "postgresql" if lock == "auto" else "redis"
        assert first["lock"] == kind and first["terms"] == 1 and first["leader_for_s"] >= 0
        leader.kill()
        killed = time.monotonic()
        took = wait_for(other.leads, LEASE_S + RETRY_S + 5, step_s=0.02)
        second = other.health()["checks"]["collectors"]
        assert second["lock"] == kind and second["terms"] == 1
        if lock == "redis":  # each term's token is larger than every one before it
            assert second["fencing_token"] > first["fencing_token"] >= 1
        else:  # the database fences: no token
            assert first["fencing_token"] is None and second["fencing_token"] is None
        bound = RETRY_S if lock == "auto" else LEASE_S + RETRY_S
        assert took <= bound + 1.0, (lock, took)
        before = len(consensus_rows(shared.db_url, "bitcoin"))
        wait_for(lambda: len(consensus_rows(shared.db_url, "bitcoin")) >= before + 2, 20)
        after_kill = time.monotonic() - killed
        candles = query(
            shared.db_url,
            "SELECT open_time FROM candles WHERE asset_id = 'bitcoin' AND interval = '1m'"
            " ORDER BY open_time",
        )
    rows = consensus_rows(shared.db_url, "bitcoin")
    stamps = [r.as_of for r in rows]
    assert len(stamps) == len(set(stamps)), "a consensus was written twice"
    gaps = [(t2 - t1).total_seconds() for t1, t2 in itertools.pairwise(stamps)]
    # one tick per interval; across the kill at most the lease (and a retry) more
    assert max(gaps) <= interval_s + bound + 2.0, (gaps, after_kill)
    minutes = [r.open_time for r in candles]
    assert len(minutes) >= 10 and len(minutes) == len(set(minutes))
    steps = {(m2 - m1).total_seconds() for m1, m2 in itertools.pairwise(minutes)}
    assert steps == {60.0}, "a minute is missing from the collected candles"


# --- WebSocket fan-out across replicas ---------------------------------------------------


def test_a_websocket_client_on_b_hears_what_a_collected(shared: Shared, tmp_path: Path) -> None:
    common = {**shared.env, "PRICE_TTL_S": "1", "COLLECT_ASSETS": "2"}
    collecting = {
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": "5",
        "COLLECT_CANDLES_S": "3600",
        "COLLECT_NEWS_S": "3600",
        "COLLECT_HEALTH_S": "3600",
    }
    with replicas(tmp_path, common, [collecting, {"COLLECTORS": "false"}]) as (a, b):
        wait_for(a.leads, 10)
        assert not b.health()["checks"]["collectors"]["enabled"]
        frame = next_update(b.url.replace("http", "ws") + "/ws", "prices:bitcoin", 20)
        with nginx([b.url]) as lb:  # the same through the balancer's upgrade
            relayed = next_update(lb.replace("http", "ws") + "/ws", "prices:bitcoin", 20)
    stored = {r.as_of: r.price for r in consensus_rows(shared.db_url, "bitcoin")}
    for update in (frame, relayed):
        as_of = datetime.fromisoformat(update["data"]["as_of"].replace("Z", "+00:00"))
        assert as_of in stored, "B relayed a price A did not record"
        assert Decimal(str(update["data"]["price"])) == pytest.approx(stored[as_of])


# --- Redis goes away and comes back ------------------------------------------------------


def coinbase_calls(sim: str, symbol: str) -> int:
    calls = sim_calls(sim).get("coinbase", {})
    return sum(n for path, n in calls.items() if f"/{symbol}-USD/" in path)


def ask_both(a: Replica, b: Replica, asset: str, symbol: str, sim: str) -> int:
    """One price request on A, then one on B: the upstream calls they took for the asset
    (Coinbase quotes one asset per call)."""
    before = coinbase_calls(sim, symbol)
    assert get(a.url, f"/api/price/{asset}")["symbol"] == symbol
    get(b.url, f"/api/price/{asset}")
    return coinbase_calls(sim, symbol) - before


def test_redis_stopped_mid_run_degrades_then_shared_state_resumes(
    shared: Shared, tmp_path: Path
) -> None:
    env = {**shared.env, "COLLECTORS": "false", "PRICE_TTL_S": "60"}
    with replicas(tmp_path, env) as (a, b):
        assert ask_both(a, b, "ethereum", "ETH", shared.sim) == 1  # shared cache: A's answer
        assert a.health()["checks"]["redis"]["ok"]

        shared.redis.stop()
        for replica in (a, b):  # requests keep being served
            assert get(replica.url, "/api/price/bitcoin")["price"] > 0
        for replica in (a, b):
            wait_for(lambda r=replica: r.health()["status"] == "degraded", 15)
            check = replica.health()["checks"]["redis"]
            assert check["ok"] is False and check["degraded_reason"]
        assert ask_both(a, b, "solana", "SOL", shared.sim) == 2  # each on its own cache

        shared.redis.start()  # same port, empty
        for replica in (a, b):
            wait_for(lambda r=replica: r.health()["status"] == "healthy", 15)
            assert replica.health()["checks"]["redis"]["ok"] is True
        assert ask_both(a, b, "cardano", "ADA", shared.sim) == 1  # shared again
