"""CPU-abuse figure (issue 13, point 5): `/health` latency while one client saturates
`POST /api/hf/run-sentiment` within the rate limit, against the same server idle.

    .venv/bin/python -m bench.cpu_abuse [--seconds 15] [--rate 10] [--env KEY=VALUE ...]
                                        [--src DIR]

Starts cryptoagg as a real process (collectors off, providers pointed at a closed port: no
outbound call, `/health` answers from the database and memory) with the default limits, so
the client's 10 requests/s stay within RATE_LIMIT_PER_MIN=600. Two phases in the same run:

1. idle: `/health` probed every 50 ms, one request at a time, for `--seconds`;
2. abuse: the same probes while one client (one address) sends `--rate` maximum-size
   requests per second (SENTIMENT_MAX_TEXTS texts of SENTIMENT_MAX_CHARS characters, words
   from VADER's lexicon without punctuation: the slowest input found, ~12 ms per text here),
   open loop (a new request every 1/rate s whatever the answers).

`--clients N` runs N such clients, each from its own loopback address (127.0.0.2, ...), so
each has its own rate limit and budget. Prints `/health` p50 / p99 / max of each phase and
the abusers' answers by status. The target
is p99 under 100 ms under abuse. `--env SENTIMENT_CLIENT_CHARS_PER_MIN=0` turns the per-client
budget off (the shared CPU limiter alone); `--src DIR` runs the server from another source
tree (e.g. `git archive HEAD src | tar -x -C /tmp/before`, then `--src /tmp/before/src`), the
way the figures before the limiter were taken.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.e2e.cpu_load import heavy_texts
from tests.e2e.procs import server

PROBE_EVERY_S = 0.05


def summary(latencies_s: list[float]) -> str:
    ms = sorted(x * 1000 for x in latencies_s)
    if not ms:
        return "no samples"
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return f"p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   max {ms[-1]:7.1f} ms   (n={len(ms)})"


async def probe(client: httpx.AsyncClient, seconds: float) -> tuple[list[float], Counter[str]]:
    """`/health` one at a time every PROBE_EVERY_S; latency of each, statuses."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        try:
            response = await client.get("/health")
            statuses[str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(max(0.0, PROBE_EVERY_S - (time.perf_counter() - started)))
    return latencies, statuses


async def abuse(
    base: str, texts: list[str], rate: float, seconds: float, address: str | None = None
) -> Counter[str]:
    """`rate` requests per second, open loop, for `seconds`, from `address`; then wait for
    the answers."""
    statuses: Counter[str] = Counter()
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    transport = httpx.AsyncHTTPTransport(local_address=address, limits=limits)
    async with httpx.AsyncClient(base_url=base, timeout=60, transport=transport) as client:

        async def one() -> None:
            try:
                response = await client.post("/api/hf/run-sentiment", json={"texts": texts})
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1

        tasks = []
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < seconds:
            tasks.append(asyncio.create_task(one()))
            sent += 1
            await asyncio.sleep(max(0.0, start + sent / rate - time.monotonic()))
        await asyncio.gather(*tasks)
    return statuses


async def run(base: str, texts: list[str], rate: float, seconds: float, clients: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as prober:
        await prober.get("/health")  # connection open, first-request costs paid
        idle, idle_statuses = await probe(prober, seconds)
        # each client from its own loopback address: its own rate limit and budget
        addresses = [None] if clients == 1 else [f"127.0.0.{2 + i}" for i in range(clients)]
        abusers = asyncio.gather(*(abuse(base, texts, rate, seconds, a) for a in addresses))
        await asyncio.sleep(1.0)  # let the queue build before measuring
        busy, busy_statuses = await probe(prober, seconds - 1.0)
        answers = sum(await abusers, Counter[str]())
    print(f"  /health idle:        {summary(idle)}   {dict(idle_statuses)}")
    print(f"  /health under abuse: {summary(busy)}   {dict(busy_statuses)}")
    print(f"  abuser answers:      {dict(sorted(answers.items()))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=10.0, help="requests/s of each client")
    parser.add_argument("--clients", type=int, default=1, help="abusing clients (addresses)")
    parser.add_argument("--texts", type=int, default=32, help="SENTIMENT_MAX_TEXTS")
    parser.add_argument("--chars", type=int, default=2000, help="SENTIMENT_MAX_CHARS")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--src", type=Path, help="run the server from this source tree")
    args = parser.parse_args()
    env = {
        "UPSTREAM_BASE_URL": "http://127.0.0.1:9",  # nothing listens: no outbound call
        "SENTIMENT_MAX_TEXTS": str(args.texts),
        "SENTIMENT_MAX_CHARS": str(args.chars),
        **dict(item.split("=", 1) for item in args.env),
    }
    if args.src is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(args.src.resolve()), str(Path.cwd())])
    texts = heavy_texts(args.texts, args.chars)
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp), env) as api:
        print(
            f"\nCPU abuse: {args.clients} client(s) at {args.rate:g} req/s of {args.texts} x "
            f"{args.chars} chars to run-sentiment for {args.seconds:g} s; /health every "
            f"{PROBE_EVERY_S * 1000:.0f} ms"
        )
        print(
            f"  server env: {' '.join(args.env) or '(defaults)'}"
            + (f"; source {args.src}" if args.src else "")
        )
        asyncio.run(run(api, texts, args.rate, args.seconds, args.clients))


if __name__ == "__main__":
    main()
