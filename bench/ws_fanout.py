"""WebSocket fan-out figure (issue: WS /ws): N clients on one asset, update → last client.

    .venv/bin/python -m bench.ws_fanout [--clients 1000] [--updates 12]

Starts the simulator and the server as real processes on loopback; the server's price
collector ticks every 5 s (COLLECT_PRICES_S=5, PRICE_TTL_S=1, so every tick is a new
consensus) and publishes each one to `prices:bitcoin`. N WebSocket clients in this one
asyncio process (the `websockets` library) subscribe to `prices:bitcoin`; each update's
latency is a client's receive time minus the frame's own `published_at` (the server's wall
clock when the collector published it; same machine, same clock). Prints, over the updates:
1. update → last client (the slowest of the N for each update): p50 / p99 / max (target
   p99 <= 100 ms);
2. per-client latency over every (client, update) pair: p50 / p99 / max;
3. delivery: frames received against clients × updates, and clients dropped;
4. garbage-collector pauses while measuring: the server's from its `/metrics`
   (`cryptoagg_gc_pause_seconds`, scraped before and after), the clients' own from
   `gc.callbacks`.
With a dozen updates the p99 is the worst update: the sorted list shows whether it is one
outlier (the machine's other load, a GC pause) or the rule.

Clients offer permessage-deflate, as browsers do; `cryptoagg serve` declines it (a deflate
stream per connection would compress every frame 1,000 times: p99 124 ms with it, against
80 ms without, when it was allowed). Client-side work (1,000 connections in one Python
process) is part of the figure, so it is an upper bound for the server's share; once they are
connected the clients freeze their objects (`gc.freeze()`), as the server does after start-up,
so a full collection of their own (35–50 ms over 1,000 connections) does not land in the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.procs import generous_limits, server, simulator

TOPIC = "prices:bitcoin"
CONNECT_BATCH = 100
GC_PAUSE = "cryptoagg_gc_pause_seconds"


@dataclass
class Client:
    #: (receive wall time, raw frame) of every frame after the snapshot
    frames: list[tuple[float, str]] = field(default_factory=list)
    closed: int | None = None


def raise_fd_limit(needed: int) -> None:
    """Each client needs a socket here and one in the server (which inherits the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft < needed:
        raise SystemExit(f"open-file limit {soft} < {needed}: raise `ulimit -n`")


async def open_client(url: str) -> ClientConnection:
    ws = await connect(url, open_timeout=30)
    await ws.send(orjson.dumps({"subscribe": [TOPIC]}).decode())
    while True:  # wait for the snapshot: from here on every update is counted
        message = orjson.loads(await ws.recv())
        if message["type"] == "snapshot":
            return ws


async def listen(ws: ClientConnection, client: Client) -> None:
    clock = time.time
    try:
        while True:
            raw = await ws.recv()
            client.frames.append((clock(), str(raw)))  # parsed later: keep this loop short
    except ConnectionClosed as closed:
        client.closed = closed.rcvd.code if closed.rcvd is not None else 1006


@dataclass
class ClientPauses:
    """This process's full collections (milliseconds), from `gc.callbacks`."""

    full_ms: list[float] = field(default_factory=list)
    _started: float = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.full_ms.append((time.perf_counter() - self._started) * 1000)


#: generation -> (seconds in collections, cumulative count per bucket bound; the last is +Inf)
ServerPauses = dict[str, tuple[float, list[tuple[float, float]]]]


async def server_pauses(api: str) -> ServerPauses:
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{api}/metrics")).text
    sums: dict[str, float] = {}
    buckets: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples if family.name == GC_PAUSE else ():
            generation = sample.labels["generation"]
            if sample.name.endswith("_sum"):
                sums[generation] = sample.value
            elif sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets.setdefault(generation, []).append((le, sample.value))
    return {g: (sums[g], sorted(buckets[g])) for g in sums}


def pauses_between(before: ServerPauses, after: ServerPauses) -> str:
    """Collections per generation in between, their total time and the slowest one's bucket."""
    parts = []
    for generation, label in (("2", "full"), ("1", "gen 1"), ("0", "gen 0")):
        seconds = after[generation][0] - before[generation][0]
        grown = [
            (le, count - earlier)
            for (le, count), (_, earlier) in zip(
                after[generation][1], before[generation][1], strict=True
            )
        ]
        count = grown[-1][1]
        if count == 0:
            parts.append(f"{label}: none")
            continue
        slowest = min(le for le, n in grown if n == count) * 1000
        parts.append(f"{label}: {count:.0f} in {seconds * 1000:.1f} ms (slowest <= {slowest:g} ms)")
    return "; ".join(parts)


def runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop when installed (the server runs on it too), else asyncio."""
    try:
        import uvloop  # noqa: PLC0415
    except ImportError:
        return asyncio.run
    return uvloop.run


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def run(api: str, clients: int, updates: int) -> None:
    url = api.replace("http://", "ws://") + "/ws"
    started = time.monotonic()
    sockets: list[ClientConnection] = []
    for first in range(0, clients, CONNECT_BATCH):
        batch = min(CONNECT_BATCH, clients - first)
        sockets += await asyncio.gather(*(open_client(url) for _ in range(batch)))
    elapsed = time.monotonic() - started
    assert sockets[0].response is not None
    deflate = sockets[0].response.headers.get("Sec-WebSocket-Extensions") or "none"
    print(f"   {clients} clients connected and subscribed in {elapsed:.1f} s")
    print(f"   compression negotiated: {deflate}")
    state = [Client() for _ in sockets]
    gc.collect()
    gc.freeze()
    client_pauses = ClientPauses()
    gc.callbacks.append(client_pauses)
    listeners = [asyncio.create_task(listen(ws, c)) for ws, c in zip(sockets, state, strict=True)]
    before = await server_pauses(api)
    try:
        # one tick every 5 s; the first counted update must start after every client listens
        deadline = time.monotonic() + (updates + 2) * 5 + 30
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            if len(_published(state[0])) >= updates + 1:
                break
        after = await server_pauses(api)
    finally:
        gc.callbacks.remove(client_pauses)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    report(state, updates, clients)
    mine = ", ".join(f"{ms:.0f} ms" for ms in client_pauses.full_ms) or "none"
    print(f"4. GC pauses while measuring: server {pauses_between(before, after)}")
    print(f"   clients' full collections: {mine}")


def _published(client: Client) -> list[str]:
    return [
        m["published_at"]
        for _, raw in client.frames
        if (m := orjson.loads(raw))["type"] == "update" and m["topic"] == TOPIC
    ]


def report(state: list[Client], updates: int, clients: int) -> None:
    # the updates every client could have seen whole: skip the first (it may have been in
    # flight while the listeners started) and keep `updates` of the rest
    counted = _published(state[0])[1 : updates + 1]
    per_update: dict[str, list[float]] = {at: [] for at in counted}
    for client in state:
        for received, raw in client.frames:
            message = orjson.loads(raw)
            at = message.get("published_at")
            if message["type"] == "update" and at in per_update:
                sent = datetime.fromisoformat(at).timestamp()
                per_update[at].append((received - sent) * 1000)
    last = [max(v) for v in per_update.values() if v]
    every = [ms for v in per_update.values() for ms in v]
    delivered = sum(len(v) for v in per_update.values())
    dropped = sum(1 for c in state if c.closed not in (None, 1000, 1005))
    print(f"   updates measured: {len(per_update)}; load average {os.getloadavg()[0]:.2f}")
    print(
        f"1. update → last client: p50 {pct(last, 50):.1f} ms, p99 {pct(last, 99):.1f} ms, "
        f"max {max(last):.1f} ms"
    )
    print(f"   each update, sorted: {', '.join(f'{ms:.0f}' for ms in sorted(last))} ms")
    print(
        f"2. per client: p50 {pct(every, 50):.1f} ms, p99 {pct(every, 99):.1f} ms, "
        f"max {max(every):.1f} ms"
    )
    print(
        f"3. frames delivered {delivered} of {len(per_update) * clients}; "
        f"clients closed by the server: {dropped}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=12)
    args = parser.parse_args()
    raise_fd_limit(args.clients + 512)
    with simulator(seed=3) as sim, tempfile.TemporaryDirectory() as tmp:
        env = {
            "UPSTREAM_BASE_URL": sim,
            "PROVIDERS_FILE": str(generous_limits(Path(tmp))),
            "COLLECTORS": "true",
            "COLLECT_PRICES_S": "5",
            "PRICE_TTL_S": "1",
            "COLLECT_ASSETS": "5",
            "COLLECT_CANDLES_S": "3600",
            "COLLECT_NEWS_S": "3600",
            "COLLECT_HEALTH_S": "3600",
            "WS_MAX_CONNECTIONS": str(args.clients + 100),
            # every client connects from 127.0.0.1: lift the per-client cap and the rate limit
            "WS_MAX_PER_CLIENT": str(args.clients + 100),
            "RATE_LIMIT_PER_MIN": "0",
            "LOG_LEVEL": "WARNING",
        }
        with server(Path(tmp), env) as api:
            print(f"\nWS fan-out: {args.clients} clients on {TOPIC}")
            runner()(run(api, args.clients, args.updates))


if __name__ == "__main__":
    main()
