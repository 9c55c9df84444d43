"""Sentiment backends side by side (issue 17): accuracy on the held-out labelled headlines,
throughput, latency and the memory each one adds.

    .venv/bin/python -m bench.sentiment [--model DIR] [--rounds 5]

For each backend (`market`, the same without its learned layer, `vader`, and `onnx` on
`--model DIR`, or on the tests' tiny model when no directory is given) a fresh process:

- measures its resident memory (RSS) before and after making the backend: what it adds;
- labels the held-out part of `tests/fixtures/sentiment/headlines.jsonl`: the share of the
  positive/negative headlines labelled with their sign, and of all headlines;
- scores every headline (both parts) in one call per round, `--rounds` times: texts per second;
- scores each headline alone: p95 of one headline's latency.

The model backend runs with the settings' defaults (128 tokens, batches of 32, one intra-op
thread). Linux only (RSS from /proc). Every run reads the held-out totals: to choose between
versions, use `bench/sentiment_dev.py`, which reads `dev` alone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptoagg.services.sentiment import MarketBackend, make_backend
from tests.fixtures.sentiment import tiny_model
from tests.fixtures.sentiment.headlines import accuracy, load

#: the `market` backend without its learned layer (the score's sign decides)
LEXICON_ONLY = "market-lexicon"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(name: str, model: str | None, rounds: int) -> dict[str, Any]:
    """One backend, in this process (run in a fresh one: imports count as its memory)."""
    texts = [h.text for h in load()]
    before = rss_mb()
    backend = MarketBackend(learned=False) if name == LEXICON_ONLY else make_backend(name, model)
    added = rss_mb() - before
    held_out = accuracy(load("test"), lambda ts: [r.label for r in backend.score(ts)])
    backend.score(texts[:50])  # warm-up
    started = time.perf_counter()
    for _ in range(rounds):
        backend.score(texts)
    per_s = rounds * len(texts) / (time.perf_counter() - started)
    latencies = []
    for text in texts:
        t0 = time.perf_counter()
        backend.score([text])
        latencies.append((time.perf_counter() - t0) * 1000)
    p95 = statistics.quantiles(latencies, n=20)[-1]
    return {
        "backend": name,
        "model": backend.model,
        "polar": held_out.polar,
        "overall": held_out.overall,
        "texts_per_s": per_s,
        "p95_ms": p95,
        "rss_added_mb": added,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="an exported model directory (default: the tiny one)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child: one backend
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.model, args.rounds)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(tiny_model.build(Path(tmp) / "tiny"))
        rows = [
            _child(name, model, args.rounds) for name in ("market", LEXICON_ONLY, "vader", "onnx")
        ]
    held_out = len(load("test"))
    print(f"held-out headlines: {held_out}; throughput over {len(load())} headlines")
    print(f"{'backend':<33}{'pos/neg':>9}{'overall':>9}{'texts/s':>10}{'p95 ms':>9}{'RSS +MB':>9}")
    for row in rows:
        print(
            f"{row['model']:<33}{row['polar']:>9.1%}{row['overall']:>9.1%}"
            f"{row['texts_per_s']:>10.0f}{row['p95_ms']:>9.2f}{row['rss_added_mb']:>9.1f}"
        )
    if not args.model:
        print("(onnx: the tests' tiny model, eight words; its accuracy means nothing)")


def _child(name: str, model: str, rounds: int) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.sentiment", "--one", name, "--rounds", str(rounds)]
    if name == "onnx":
        command += ["--model", model]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main()
