"""Quota figures (issue 11): what an idle install spends upstream, and how long clients wait
for a rate budget while the collectors run at their planned pace.

    .venv/bin/python -m bench.quota idle [--minutes 10]
    .venv/bin/python -m bench.quota mixed [--minutes 5] [--rate 4]

Both start the simulator and the server (default settings, collectors on, a fresh data
directory, real pipeline pointed at the simulator) as real processes on loopback.

- `idle`: no client traffic. Prints, per provider, the calls the simulator received, per
  hour and projected to a 30-day month (the first minutes include the start-up round every
  job makes at once), beside the plan's own month-end projection (`/api/providers`), the
  quota and the plan's target.
- `mixed`: clients ask a mix of endpoints (prices, markets, trending, DeFi, sentiment,
  history) at `--rate` requests/s. Prints the client calls' waits for a rate budget slot
  (p50/p99 per provider, from `/api/providers`), the client-side latency, and the count
  of 503s caused by budgets (target 0).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.procs import server, simulator

MONTH_H = 30 * 24
#: the idle rate is measured after this (every job's first run happens at start-up)
WARM_UP_S = 120.0


def sim_totals(sim: str) -> dict[str, int]:
    calls: dict[str, dict[str, int]] = httpx.get(f"{sim}/_sim/stats").json()["calls"]
    return {provider: sum(paths.values()) for provider, paths in calls.items()}


def providers(api: str) -> dict[str, dict[str, Any]]:
    rows = httpx.get(f"{api}/api/providers", timeout=10).json()["providers"]
    return {r["name"]: r for r in rows}


def env(sim: str) -> dict[str, str]:
    return {"UPSTREAM_BASE_URL": sim, "COLLECTORS": "true", "LOG_LEVEL": "WARNING"}


def idle(minutes: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, simulator(seed=21) as sim:
        with server(Path(tmp), env(sim)) as api:
            started = time.monotonic()
            time.sleep(WARM_UP_S)
            warm = sim_totals(sim)  # after the start-up round every job makes at once
            time.sleep(max(0.0, minutes * 60 - WARM_UP_S))
            elapsed_h = (time.monotonic() - started) / 3600
            steady_h = elapsed_h - WARM_UP_S / 3600
            plan = providers(api)
        received = sim_totals(sim)
    print(f"idle default install, {minutes:g} min, no client traffic")
    print(
        f"calls: all received; per hour and x720 h: after the first {WARM_UP_S / 60:g} min"
        " (the start-up round of every job)"
    )
    header = (
        f"{'provider':<15}{'calls':>7}{'per hour':>10}{'x720 h':>9}"
        f"{'plan proj.':>12}{'quota':>9}{'target':>9}  jobs (interval)"
    )
    print(header)
    print("-" * len(header))
    for name in sorted(set(received) | {n for n, p in plan.items() if p["enabled"]}):
        calls = received.get(name, 0)
        per_hour = (calls - warm.get(name, 0)) / steady_h
        row = plan.get(name, {})
        quota = row.get("quota", {})
        jobs = ", ".join(
            f"{j['job']} {fmt_s(j['interval_s'])}"
            for j in row.get("schedule", [])
            if j["job"] != "discovery"
        )
        print(
            f"{name:<15}{calls:>7}{per_hour:>10.1f}{per_hour * MONTH_H:>9.0f}"
            f"{fmt(quota.get('projected_month_end')):>12}{fmt(quota.get('monthly')):>9}"
            f"{fmt(quota.get('target')):>9}  {jobs}"
        )


def fmt(value: object) -> str:
    return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "paused"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


PATHS = [
    "/api/price/bitcoin",
    "/api/price/ethereum",
    "/api/price/solana",
    "/api/prices?symbols=BTC,ETH,SOL,XRP,ADA",
    "/api/market?limit=50",
    "/api/trending",
    "/api/defi",
    "/api/sentiment",
    "/api/crypto/history/BTC?interval=1h",
    "/api/crypto/history/ETH?interval=1d",
    "/api/v3/simple/price?ids=bitcoin,ethereum&vs_currencies=usd",
]


async def mixed_load(api: str, minutes: float, rate: float) -> tuple[list[float], list[str]]:
    rng = random.Random(7)
    latencies: list[float] = []
    budget_503: list[str] = []
    stop_at = time.monotonic() + minutes * 60
    tasks: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:

        async def one(path: str) -> None:
            started = time.perf_counter()
            response = await client.get(path)
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code == 503 and "budget_exhausted" in response.text:
                budget_503.append(f"{path}: {response.text[:200]}")

        while time.monotonic() < stop_at:
            task = asyncio.create_task(one(rng.choice(PATHS)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await asyncio.sleep(rng.expovariate(rate))
        await asyncio.gather(*tasks)
    return latencies, budget_503


def mixed(minutes: float, rate: float) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        simulator(seed=22) as sim,
        server(Path(tmp), env(sim)) as api,
    ):
        latencies, budget_503 = asyncio.run(mixed_load(api, minutes, rate))
        rows = providers(api)
    print(f"mixed run, {minutes:g} min, ~{rate:g} client requests/s, collectors at plan pace")
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    print(
        f"client requests: {len(latencies)}, latency p50 {cuts[49]:.1f} ms, "
        f"p99 {cuts[98]:.1f} ms; budget 503s: {len(budget_503)}"
    )
    for line in budget_503[:5]:
        print("  ", line)
    print(f"{'provider':<15}{'client calls':>13}{'wait p50 ms':>13}{'wait p99 ms':>13}")
    for name, row in sorted(rows.items()):
        wait = row["budget_wait_ms"]
        if wait["client_calls"]:
            print(
                f"{name:<15}{wait['client_calls']:>13}{fmt(wait['p50']):>13}{fmt(wait['p99']):>13}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    idle_p = sub.add_parser("idle")
    idle_p.add_argument("--minutes", type=float, default=10.0)
    mixed_p = sub.add_parser("mixed")
    mixed_p.add_argument("--minutes", type=float, default=5.0)
    mixed_p.add_argument("--rate", type=float, default=4.0)
    args = parser.parse_args()
    if args.what == "idle":
        idle(args.minutes)
    else:
        mixed(args.minutes, args.rate)


if __name__ == "__main__":
    main()
