"""Scale-out figures (issue 18): replicas sharing PostgreSQL and Redis, on this machine.

    .venv/bin/python -m bench.replicas [--seconds 10] [--connections 50] [--clients 1000]
                                       [--updates 8] [--failovers 3] [--only 1,2,3,4]

Starts the simulator, a Redis of its own, a fresh PostgreSQL database (TEST_POSTGRES_URL) and
the replicas as real processes (tests/e2e/replicas.py), and prints:

1. cached `GET /api/market?limit=100` throughput (wrk, Debian package `wrk`) through the
   balancer with 1 and with 2 replicas, and straight to one replica. The balancer is nginx
   with deploy/nginx.conf when nginx is installed, else a small asyncio round-robin TCP
   proxy in this process (it says which; the proxy is then the bottleneck);
2. the Redis cache path against the in-process one: replica A loads a price, then replica B
   asks for it twice: its first answer comes from Redis (a local miss), its second from its
   own memory; p50/p99 of each over one request per asset, one at a time;
3. leader failover after `kill -9` of the collecting replica, with the PostgreSQL advisory
   lock and with the Redis lease (LEADER_RETRY_S=1, LEADER_LEASE_S=3): seconds until the
   other replica's /health says it leads, and until it has written a price;
4. WebSocket fan-out across replicas: `--clients` clients on `prices:bitcoin`, half on each
   replica; the collector runs on A (every 5 s) and B relays through Redis pub/sub; update
   → last client p50/p99 over the updates, per replica (receive time minus the frame's
   `published_at`, A's wall clock; same machine).
Every process here (replicas, balancer, load generator, simulator) shares this machine's
cores, which bounds figures 1 and 4.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson

from bench.hot_path import wrk
from bench.ws_fanout import Client, listen, open_client, pct, raise_fd_limit
from tests.e2e.procs import free_port, generous_limits, simulator
from tests.e2e.replicas import (
    nginx,
    nginx_binary,
    postgres_database,
    query,
    replicas,
    start_replica,
)
from tests.redis_support import RedisServer

MARKET = "/api/market?limit=100"


# --- the balancer -----------------------------------------------------------------------


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.contextmanager
def round_robin(upstreams: list[str]) -> Iterator[str]:
    """A TCP proxy handing each new connection to the next upstream (no nginx here)."""
    port, ready = free_port(), threading.Event()
    targets = [u.removeprefix("http://").split(":") for u in upstreams]
    turn = 0
    loop = asyncio.new_event_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal turn
        host, up_port = targets[turn % len(targets)]
        turn += 1
        up_reader, up_writer = await asyncio.open_connection(host, int(up_port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    yield f"http://127.0.0.1:{port}"
    loop.call_soon_threadsafe(loop.stop)


def balancer(upstreams: list[str]) -> contextlib.AbstractContextManager[str]:
    return nginx(upstreams) if nginx_binary() else round_robin(upstreams)


# --- 1. throughput ------------------------------------------------------------------------


def throughput(folder: Path, env: dict[str, str], seconds: int, connections: int) -> None:
    kind = "nginx (deploy/nginx.conf)" if nginx_binary() else "asyncio round-robin TCP proxy"
    print(f"\n1. cached GET {MARKET}: wrk -t1 -c{connections} -d{seconds}s; balancer: {kind}")
    for n in (1, 2):
        with replicas(folder / f"tp{n}", env, [{}] * n) as started:
            urls = [r.url for r in started]
            for url in urls:  # every replica has the listing cached before the clock starts
                httpx.get(url + MARKET, timeout=30).raise_for_status()
            with balancer(urls) as lb:
                httpx.get(lb + MARKET, timeout=30).raise_for_status()
                rps, p50, p99 = wrk(lb + MARKET, seconds, connections)
                print(f"   {n} replica(s), balancer: {rps:8,.0f} req/s (p50 {p50}, p99 {p99})")
            if n == 1:
                rps, p50, p99 = wrk(urls[0] + MARKET, seconds, connections)
                print(f"   1 replica, no balancer: {rps:8,.0f} req/s (p50 {p50}, p99 {p99})")


# --- 2. Redis cache path ------------------------------------------------------------------


def cache_paths(folder: Path, env: dict[str, str]) -> None:
    print("\n2. a price B has not served yet (from Redis) vs again (from its own memory)")
    with replicas(folder / "cache", {**env, "PRICE_TTL_S": "3600"}) as (a, b):
        ids = [
            r["asset_id"] for r in httpx.get(a.url + MARKET, timeout=30).json()["cryptocurrencies"]
        ]
        shared_ms, local_ms = [], []
        with httpx.Client(timeout=30) as client:
            for asset in ids:
                client.get(f"{a.url}/api/price/{asset}").raise_for_status()
                for into in (shared_ms, local_ms):
                    started = time.perf_counter()
                    client.get(f"{b.url}/api/price/{asset}").raise_for_status()
                    into.append((time.perf_counter() - started) * 1000)
    for name, values in (("Redis (local miss)", shared_ms), ("in-process", local_ms)):
        print(f"   {name:<19} p50 {pct(values, 50):6.2f} ms, p99 {pct(values, 99):6.2f} ms")
    added = [s - m for s, m in zip(shared_ms, local_ms, strict=True)]
    print(f"   added by the Redis path: p50 {pct(added, 50):.2f} ms, p99 {pct(added, 99):.2f} ms")
    print(f"   ({len(ids)} assets, one request each at a time)")


# --- 3. failover --------------------------------------------------------------------------


def first_row_after(db_url: str, at: datetime) -> bool:
    sql = "SELECT 1 FROM prices WHERE recorded_at > :t LIMIT 1"
    return bool(query(db_url, sql, t=at))


def failover(folder: Path, env: dict[str, str], db_url: str, trials: int) -> None:
    print("\n3. leader failover after kill -9 (LEADER_RETRY_S=1, LEADER_LEASE_S=3)")
    collect = {
        **env,
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": "5",
        "COLLECT_ASSETS": "2",
        "COLLECT_CANDLES_S": "3600",
        "COLLECT_NEWS_S": "3600",
        "COLLECT_HEALTH_S": "3600",
        "LEADER_RETRY_S": "1",
        "LEADER_LEASE_S": "3",
    }
    for lock in ("auto", "redis"):
        lead_s, row_s = [], []
        settings = {**collect, "LEADER_LOCK": lock}
        with replicas(folder / f"fo-{lock}", settings) as pair:
            for trial in range(trials):
                deadline = time.monotonic() + 15
                while not any(r.leads() for r in pair) and time.monotonic() < deadline:
                    time.sleep(0.05)
                leader = next(r for r in pair if r.leads())
                other = next(r for r in pair if r is not leader)
                time.sleep(1.0)
                killed_at = datetime.now(UTC)
                leader.kill()
                started = time.monotonic()
                while not other.leads():
                    time.sleep(0.01)
                lead_s.append(time.monotonic() - started)
                while not first_row_after(db_url, killed_at):
                    time.sleep(0.02)
                row_s.append(time.monotonic() - started)
                data = folder / f"fo-{lock}" / f"{leader.name}{trial}"
                pair[pair.index(leader)] = start_replica(leader.name, data, settings)
        name = "PostgreSQL advisory lock" if lock == "auto" else "Redis lease"
        print(
            f"   {name:<24} leads after {', '.join(f'{s:.2f}' for s in lead_s)} s; "
            f"first price written after {', '.join(f'{s:.2f}' for s in row_s)} s"
        )


# --- 4. WebSocket fan-out across replicas -------------------------------------------------


async def fan_out(urls: list[str], clients: int, updates: int) -> dict[str, list[float]]:
    """Update → last client (ms) per update, for the clients of each replica."""
    sockets, owners = [], []
    for i in range(0, clients, 100):
        batch = [urls[(i + k) % len(urls)] for k in range(min(100, clients - i))]
        sockets += await asyncio.gather(*(open_client(u) for u in batch))
        owners += batch
    state = [Client() for _ in sockets]
    tasks = [asyncio.create_task(listen(ws, c)) for ws, c in zip(sockets, state, strict=True)]
    for _ in range((updates + 2) * 5 + 30):  # one tick every 5 s
        if len(state[0].frames) > updates:
            break
        await asyncio.sleep(1)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    last: dict[str, dict[str, float]] = {u: {} for u in urls}
    for owner, client in zip(owners, state, strict=True):
        for received, raw in client.frames:
            frame = orjson.loads(raw)
            if frame["type"] == "update":
                sent = datetime.fromisoformat(frame["published_at"]).timestamp()
                at = frame["published_at"]
                last[owner][at] = max(last[owner].get(at, 0.0), (received - sent) * 1000)
    counted = sorted(last[urls[0]])[1 : updates + 1]  # the first may predate some listeners
    return {u: [v[at] for at in counted if at in v] for u, v in last.items()}


def websockets(folder: Path, env: dict[str, str], clients: int, updates: int) -> None:
    print(f"\n4. WebSocket: {clients} clients on prices:bitcoin, half on each replica")
    limits = {"WS_MAX_CONNECTIONS": str(clients), "WS_MAX_PER_CLIENT": str(clients)}
    common = {**env, **limits, "PRICE_TTL_S": "1", "COLLECT_ASSETS": "5"}
    on_a = {
        "COLLECTORS": "true",
        "COLLECT_PRICES_S": "5",
        "COLLECT_CANDLES_S": "3600",
        "COLLECT_NEWS_S": "3600",
        "COLLECT_HEALTH_S": "3600",
    }
    with replicas(folder / "ws", common, [on_a, {}]) as (a, b):
        urls = [a.url.replace("http", "ws") + "/ws", b.url.replace("http", "ws") + "/ws"]
        per_replica = asyncio.run(fan_out(urls, clients, updates))
    for url, name in zip(urls, ("A (collects)", "B (relays via Redis)"), strict=True):
        values = per_replica[url]
        print(
            f"   {name:<21} update → last client: p50 {pct(values, 50):6.1f} ms, "
            f"p99 {pct(values, 99):6.1f} ms, max {max(values):6.1f} ms ({len(values)} updates)"
        )
    both = [max(x, y) for x, y in zip(*per_replica.values(), strict=False)]
    print(f"   both replicas' last client: p50 {pct(both, 50):.1f} ms, p99 {pct(both, 99):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=8)
    parser.add_argument("--failovers", type=int, default=3)
    parser.add_argument("--only", default="1,2,3,4", help="which figures, e.g. 3,4")
    args = parser.parse_args()
    only = set(args.only.split(","))
    if "1" in only and shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    raise_fd_limit(args.clients + 512)
    print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f}")
    redis = RedisServer()
    redis.start()
    try:
        with simulator(seed=3) as sim, tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            with postgres_database() as db_url:
                env = {
                    "UPSTREAM_BASE_URL": sim,
                    "PROVIDERS_FILE": str(generous_limits(folder)),
                    "DATABASE_URL": db_url,
                    "REDIS_URL": redis.url,
                    "MARKETS_TTL_S": "3600",
                    "RATE_LIMIT_PER_MIN": "0",
                    "COLLECTORS": "false",
                    "LOG_LEVEL": "WARNING",
                }
                if "1" in only:
                    throughput(folder, env, args.seconds, args.connections)
                if "2" in only:
                    cache_paths(folder, env)
                if "3" in only:
                    failover(folder, env, db_url, args.failovers)
                if "4" in only:
                    websockets(folder, env, args.clients, args.updates)
    finally:
        redis.stop()


if __name__ == "__main__":
    main()
