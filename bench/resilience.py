"""Resilience figures (issue 4): upstream calls under load, failover cost, Retry-After.

    .venv/bin/python -m bench.resilience [--clients 1000] [--seconds 60] [--rate 200]
        [--retry-after 120]

Starts the simulator and the server as real processes on loopback and prints:
1. N concurrent clients on GET /api/market for S seconds: upstream calls per resource,
   counted by the simulator, against the TTL periods that elapsed;
2. the first-priority markets provider failing (`error`, then `timeout`) while R requests/s
   arrive: client errors, calls to the failing provider before its breaker opened, and
   p50/p99 latency before and during the fault;
3. a 429 with Retry-After: calls to that provider while it runs (target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.procs import fault, generous_limits, server, simulator


@dataclass
class Run:
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def pct(self, q: float) -> float:
        if len(self.latencies_ms) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(q) - 1]


def sim_calls(sim: str, provider: str | None = None) -> dict[str, int]:
    calls: dict[str, Any] = httpx.get(f"{sim}/_sim/stats").json()["calls"]
    if provider is None:
        return {f"{p}{path}": n for p, paths in calls.items() for path, n in paths.items()}
    return dict(calls.get(provider, {}))


#: httpx's connection pool scans its connections on every request, so one pool with a
#: thousand connections makes the load generator, not the server, the bottleneck: spread the
#: clients over pools of this size
POOL_SIZE = 50


class Clients:
    """`n` concurrent connections spread over small httpx pools."""

    def __init__(self, n: int) -> None:
        pools = max(1, -(-n // POOL_SIZE))
        limits = httpx.Limits(max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE)
        self.pools = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(pools)]

    def __getitem__(self, i: int) -> httpx.AsyncClient:
        return self.pools[i % len(self.pools)]

    async def aclose(self) -> None:
        for pool in self.pools:
            await pool.aclose()


async def fetch(client: httpx.AsyncClient, url: str, run: Run) -> None:
    started = time.perf_counter()
    try:
        response = await client.get(url)
        run.statuses[response.status_code] = run.statuses.get(response.status_code, 0) + 1
        if response.status_code != 200:
            run.errors += 1
    except httpx.HTTPError:
        run.errors += 1
    run.latencies_ms.append((time.perf_counter() - started) * 1000)


async def closed_loop(url: str, clients: int, seconds: float) -> Run:
    """`clients` clients, each sending its next request as soon as the last one is answered."""
    run = Run()
    stop = time.monotonic() + seconds
    pools = Clients(clients)

    async def one_client(i: int) -> None:
        while time.monotonic() < stop:
            await fetch(pools[i], url, run)

    await asyncio.gather(*(one_client(i) for i in range(clients)))
    await pools.aclose()
    return run


async def open_loop(url: str, rate: float, seconds: float) -> Run:
    """`rate` requests per second on a fixed schedule, whatever the answers take."""
    run = Run()
    pools = Clients(200)
    tasks = []
    begin = time.monotonic()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fetch(pools[i], url, run)))
    await asyncio.gather(*tasks)
    await pools.aclose()
    return run


def thundering_herd(clients: int, seconds: float) -> None:
    ttl = 10.0
    with simulator(seed=5) as sim, tempfile.TemporaryDirectory() as tmp:
        env = {"UPSTREAM_BASE_URL": sim, "MARKETS_TTL_S": str(ttl), "LOG_LEVEL": "WARNING"}
        with server(Path(tmp), env) as api:
            httpx.delete(f"{sim}/_sim/stats")
            started = time.monotonic()
            run = asyncio.run(closed_loop(f"{api}/api/market?limit=50", clients, seconds))
            elapsed = time.monotonic() - started
            calls = sim_calls(sim)
    periods = elapsed / ttl
    print(f"\n1. {clients} concurrent clients, GET /api/market, {elapsed:.0f} s, TTL {ttl:.0f} s")
    served = len(run.latencies_ms)
    print(f"   requests served: {served} ({served / elapsed:.0f}/s), errors: {run.errors}")
    print(f"   p50 {run.pct(50):.1f} ms, p99 {run.pct(99):.1f} ms")
    for resource, n in sorted(calls.items()):
        print(f"   upstream {resource}: {n} calls in {periods:.1f} TTLs = {n / periods:.2f}/TTL")


def failover(rate: float, seconds: float) -> None:
    print(f"\n2. {rate:.0f} requests/s on GET /api/market (TTL 1 s); coingecko is first")
    for kind in ("error", "timeout"):
        with simulator(seed=6) as sim, tempfile.TemporaryDirectory() as tmp:
            env = {
                "UPSTREAM_BASE_URL": sim,
                # budgets lifted: this measures the breaker, not CoinGecko's 30 calls a minute
                "PROVIDERS_FILE": str(generous_limits(Path(tmp))),
                "MARKETS_TTL_S": "1",
                "UPSTREAM_TIMEOUT_S": "2",
                "LOG_LEVEL": "WARNING",
            }
            with server(Path(tmp), env) as api:
                url = f"{api}/api/market?limit=20"
                asyncio.run(open_loop(url, rate / 10, 3))  # warm caches and connections
                base = asyncio.run(open_loop(url, rate, min(seconds, 15)))
                before = sum(sim_calls(sim, "coingecko").values())
                fault(sim, "coingecko", kind, status=500)
                run = asyncio.run(open_loop(url, rate, seconds))
                during = sum(sim_calls(sim, "coingecko").values()) - before
                transitions = httpx.get(f"{api}/api/providers/transitions").json()["transitions"]
        opened = [t for t in transitions if t["provider"] == "coingecko" and t["to"] == "open"]
        print(
            f"   {kind}: before the fault p50 {base.pct(50):.1f} ms, p99 {base.pct(99):.1f} ms, "
            f"errors {base.errors} of {len(base.latencies_ms)}\n"
            f"   {kind}: during the fault  p50 {run.pct(50):.1f} ms, p99 {run.pct(99):.1f} ms, "
            f"errors {run.errors} of {len(run.latencies_ms)}; calls to coingecko {during} "
            f"(the breaker opened {len(opened)} time(s); probes every 30 s, doubling)"
        )


def retry_after(seconds: float) -> None:
    with simulator(seed=7) as sim, tempfile.TemporaryDirectory() as tmp:
        env = {"UPSTREAM_BASE_URL": sim, "PRICE_TTL_S": "1", "LOG_LEVEL": "WARNING"}
        with server(Path(tmp), env) as api:
            fault(sim, "kraken", "ratelimit", retry_after_s=seconds, for_s=1)
            httpx.get(f"{api}/api/price/bitcoin")
            time.sleep(1.1)  # the fault has expired: only our breaker keeps kraken out now
            before = sum(sim_calls(sim, "kraken").values())
            run = asyncio.run(open_loop(f"{api}/api/price/bitcoin", 5, seconds - 3))
            during = sum(sim_calls(sim, "kraken").values()) - before
            time.sleep(3)
            httpx.get(f"{api}/api/price/bitcoin")
            after = sum(sim_calls(sim, "kraken").values()) - before - during
    print(
        f"\n3. 429 with Retry-After {seconds:.0f} s from kraken, "
        f"5 requests/s for {seconds - 3:.0f} s"
    )
    print(f"   calls to kraken while Retry-After ran: {during} (client errors {run.errors})")
    print(f"   calls to kraken once it had passed: {after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--retry-after", type=float, default=120)
    args = parser.parse_args()
    thundering_herd(args.clients, args.seconds)
    failover(args.rate, args.seconds)
    retry_after(args.retry_after)


if __name__ == "__main__":
    main()
