"""Real processes on loopback ports for end-to-end tests: the simulator and the server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

SPOT_PROVIDERS = ["coingecko", "binance", "kraken", "coinbase", "coinpaprika", "cryptocompare"]


def generous_limits(folder: Path) -> Path:
    """A PROVIDERS_FILE lifting the free-tier budgets (tests that turn caching off need it)."""
    names = [*SPOT_PROVIDERS, "alternative_me", "defillama"]
    path = folder / "providers.yaml"
    path.write_text(
        "providers:\n"
        + "".join(f"  {n}: {{rate_per_s: 1000, rate_per_min: 100000}}\n" for n in names)
    )
    return path


def fault(sim: str, provider: str, kind: str, **extra: object) -> None:
    response = httpx.post(f"{sim}/_sim/faults", json={"provider": provider, "kind": kind, **extra})
    assert response.status_code == 201, response.text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = log.read_text(errors="replace")
            raise RuntimeError(f"process exited with {proc.returncode}:\n{out[-3000:]}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up within {timeout_s} s")


def spawn(
    args: list[str], env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    """Start `python -m cryptoagg ARGS`; its output goes to the returned log file (an unread
    pipe would fill up and block the child on its next log line)."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "USE_MOCK_DATA"
    }
    full_env.update({"LOG_LEVEL": "WARNING", **(env or {})})
    log = Path(tempfile.mkstemp(prefix="cryptoagg-", suffix=".log")[1])
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cryptoagg", *args],
            env=full_env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    return proc, log


@contextmanager
def cryptoagg(
    args: list[str], probe_path: str, port: int, env: Mapping[str, str] | None = None
) -> Iterator[str]:
    """Run `python -m cryptoagg ARGS` until the block ends; yields its base URL."""
    proc, log = spawn(args, env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + probe_path, proc, log)
        yield base
    finally:
        stop(proc)
        log.unlink(missing_ok=True)


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout_s`."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def simulator(seed: int = 1) -> Iterator[str]:
    port = free_port()
    with cryptoagg(
        ["simulate", "--port", str(port), "--seed", str(seed)], "/_sim/stats", port
    ) as url:
        yield url


def server_env(data_dir: Path, port: int, env: Mapping[str, str]) -> dict[str, str]:
    # collectors off unless a test asks: their background calls would blur call counts
    return {
        "DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "COLLECTORS": "false",
        **env,
    }


@contextmanager
def server(data_dir: Path, env: Mapping[str, str]) -> Iterator[str]:
    port = free_port()
    with cryptoagg(["serve"], "/health", port, server_env(data_dir, port, env)) as url:
        yield url
