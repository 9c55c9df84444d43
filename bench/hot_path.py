"""Hot-path figure (issue 6): cached `GET /api/market` on one worker vs a bare ASGI app
returning the same bytes on the same server (uvicorn, one worker), in the same run.

    .venv/bin/python -m bench.hot_path [--seconds 10] [--connections 50] [--rounds 2]

Needs `wrk` (Debian package `wrk`). Starts the simulator, cryptoagg (not mock mode: no
`_mock` rewriting) with a long markets TTL and the client rate limit off, and the bare app
(`bench/bare_app.py`) under `python -m uvicorn` with uvicorn's defaults — the server
`cryptoagg serve` runs. Rounds alternate between the two so machine noise hits both; prints
requests/s and p50/p99 latency of each and the ratio (target >= 0.5).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from tests.e2e.procs import free_port, generous_limits, server, simulator, wait_until_up

PATH = "/api/market?limit=100"


def wrk(url: str, seconds: int, connections: int) -> tuple[float, str, str]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses\n{out}")
    return rps, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install -y wrk)")
    with tempfile.TemporaryDirectory() as tmp, simulator() as sim:
        data = Path(tmp)
        env = {
            "UPSTREAM_BASE_URL": sim,
            "PROVIDERS_FILE": str(generous_limits(data)),
            "MARKETS_TTL_S": "3600",
            "RATE_LIMIT_PER_MIN": "0",
        }
        with server(data, env) as api:
            body = httpx.get(api + PATH, timeout=30).content
            (data / "body.json").write_bytes(body)
            port = free_port()
            bare = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.bare_app:app",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                ],
                env={"BARE_BODY_FILE": str(data / "body.json"), "PATH": "/usr/bin:/bin"},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
            )
            try:
                bare_url = f"http://127.0.0.1:{port}"
                wait_until_up(bare_url + "/", bare, data / "body.json")
                assert httpx.get(bare_url + PATH).content == body
                print(f"body: {len(body):,} bytes; wrk -t1 -c{args.connections} -d{args.seconds}s")
                ours, theirs = [], []
                for n in range(args.rounds):
                    ours.append(wrk(api + PATH, args.seconds, args.connections))
                    theirs.append(wrk(bare_url + PATH, args.seconds, args.connections))
                    print(
                        f"  round {n + 1}: cryptoagg {ours[-1][0]:8,.0f} req/s "
                        f"(p50 {ours[-1][1]}, p99 {ours[-1][2]}); bare ASGI {theirs[-1][0]:8,.0f} "
                        f"req/s (p50 {theirs[-1][1]}, p99 {theirs[-1][2]}); "
                        f"ratio {ours[-1][0] / theirs[-1][0]:.2f}"
                    )
                total = sum(r[0] for r in ours) / sum(r[0] for r in theirs)
                print(f"ratio over all rounds: {total:.2f} (target >= 0.5)")
            finally:
                bare.terminate()
                bare.wait()


if __name__ == "__main__":
    main()
