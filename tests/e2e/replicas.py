"""Several cryptoagg replicas as real processes, the way compose.yaml runs them: one
PostgreSQL database and one Redis shared by all, each replica with its own DATA_DIR and port,
nginx in front (deploy/nginx.conf, pointed at the loopback ports) when it is installed.

PostgreSQL is the machine's server (TEST_POSTGRES_URL), one fresh database per use; Redis is a
`redis-server` of the test's own (tests/redis_support.py), so a test can stop it and start it
again. With CI=true a missing PostgreSQL, redis-server or nginx fails the test instead of
skipping it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from websockets.sync.client import connect

from cryptoagg.storage.db import make_engine
from tests.e2e.procs import free_port, server_env, spawn, stop, wait_until_up
from tests.storage.conftest import POSTGRES_URL, postgres_admin

NGINX_CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
#: the lines of deploy/nginx.conf the loopback set-up replaces
_UPSTREAM = re.compile(r"^(\s*)server app:7860(.*);$", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen 80;$", re.MULTILINE)


def missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, empty database on the test server (dropped afterwards); its URL."""
    admin = postgres_admin()
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def query(db_url: str, sql: str, **params: Any) -> list[Any]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as c:
            return list(c.execute(text(sql), params))
    finally:
        engine.dispose()


@dataclass
class Replica:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def kill(self) -> None:
        """`kill -9`: no shutdown hook runs, the kernel closes its sockets."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            stop(self.proc)

    def health(self) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(f"{self.url}/health", timeout=5).json()
        return body

    def leads(self) -> bool:
        return bool(self.health()["checks"]["collectors"]["leader"])

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start_replica(name: str, data_dir: Path, env: Mapping[str, str]) -> Replica:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    proc, log = spawn(["serve"], server_env(data_dir, port, env))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/health", proc, log, timeout_s=60)
    except BaseException:
        stop(proc)
        raise
    return Replica(name, url, proc, log)


@contextmanager
def replicas(
    folder: Path, env: Mapping[str, str], each: list[Mapping[str, str]] | None = None
) -> Iterator[list[Replica]]:
    """Replicas `a`, `b`, … (one per entry of `each`, its own settings on top of `env`),
    started one after the other: the first migrates the empty database, as compose.yaml's
    `migrate` step does before the replicas start."""
    started: list[Replica] = []
    try:
        for i, extra in enumerate(each or [{}, {}]):
            name = "abcdefgh"[i]
            started.append(start_replica(name, folder / name, {**env, **extra}))
        yield started
    finally:
        for replica in started:
            replica.stop()
            replica.log.unlink(missing_ok=True)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def render_nginx_conf(upstreams: list[str], port: int) -> str:
    """deploy/nginx.conf with the replicas' loopback addresses and a loopback listen port."""
    conf = NGINX_CONF.read_text()
    assert _UPSTREAM.search(conf) and _LISTEN.search(conf), "deploy/nginx.conf changed shape"
    servers = "\n".join(rf"\1server {u.removeprefix('http://')}\2;" for u in upstreams)
    conf = _UPSTREAM.sub(servers, conf, count=1)
    return _LISTEN.sub(rf"\1listen 127.0.0.1:{port};", conf, count=1)


@contextmanager
def nginx_files(upstreams: list[str], port: int) -> Iterator[tuple[list[str], Path]]:
    """The nginx command line (without `-g`) for the rendered conf, in a scratch folder."""
    binary = nginx_binary()
    if binary is None:
        missing("nginx is not installed (apt-get install nginx-light)")
        raise AssertionError  # unreachable: `missing` skips or fails
    with tempfile.TemporaryDirectory(prefix="cryptoagg-nginx-") as folder:
        conf = Path(folder) / "nginx.conf"
        conf.write_text(render_nginx_conf(upstreams, port))
        yield [binary, "-p", folder, "-c", str(conf)], Path(folder)


@contextmanager
def nginx(upstreams: list[str]) -> Iterator[str]:
    """nginx with deploy/nginx.conf in front of `upstreams`; its base URL."""
    port = free_port()
    with nginx_files(upstreams, port) as (command, folder):
        log = folder / "nginx.log"
        with log.open("wb") as sink:
            globals_ = f"daemon off; pid {folder}/nginx.pid;"
            proc = subprocess.Popen([*command, "-g", globals_], stdout=sink, stderr=sink)
        try:
            wait_until_up(f"http://127.0.0.1:{port}/health", proc, log)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)


def nginx_test(upstreams: list[str]) -> str:
    """`nginx -t` on the rendered deploy/nginx.conf: its output (fails when nginx does)."""
    with nginx_files(upstreams, free_port()) as (command, folder):
        test = [*command, "-t", "-g", f"pid {folder}/nginx.pid;"]
        result = subprocess.run(test, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stderr


def get(base: str, path: str) -> dict[str, Any]:
    """A 200 answer's body."""
    response = httpx.get(base + path, timeout=15)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    body: dict[str, Any] = response.json()
    return body


def sim_calls(sim: str) -> dict[str, dict[str, int]]:
    """Requests the simulator received, per provider and path."""
    calls: dict[str, dict[str, int]] = httpx.get(f"{sim}/_sim/stats").json()["calls"]
    return calls


def provider_calls(sim: str, provider: str) -> int:
    return sum(sim_calls(sim).get(provider, {}).values())


def wait_for(condition: Any, timeout_s: float, step_s: float = 0.05) -> float:
    """Seconds until `condition()` held; fails the test beyond `timeout_s`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            pytest.fail(f"condition not met within {timeout_s} s")
        time.sleep(step_s)
    return time.monotonic() - start


# --- what the tests measure -----------------------------------------------------------


class Sampler(threading.Thread):
    """The simulator's counters every 0.25 s: (monotonic time, calls per provider/path)."""

    def __init__(self, sim: str) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.samples: list[tuple[float, dict[str, dict[str, int]]]] = []
        self.done = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.done.is_set():
                calls = client.get(f"{self.sim}/_sim/stats").json()["calls"]
                self.samples.append((time.monotonic(), calls))
                self.done.wait(0.25)

    def series(self, provider: str, path: str | None = None) -> list[tuple[float, int]]:
        return [
            (
                t,
                calls.get(provider, {}).get(path, 0)
                if path
                else sum(calls.get(provider, {}).values()),
            )
            for t, calls in self.samples
        ]


def changes(series: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """The samples where the count moved, seconds from the first sample (for messages)."""
    start = series[0][0] if series else 0.0
    moved = [s for i, s in enumerate(series) if i == 0 or s[1] != series[i - 1][1]]
    return [(round(t - start, 2), n) for t, n in moved]


def most_within(series: list[tuple[float, int]], window_s: float) -> int:
    """The most calls between two samples at most `window_s` apart."""
    return max(
        (
            n2 - n1
            for i, (t1, n1) in enumerate(series)
            for t2, n2 in series[i:]
            if t2 - t1 <= window_s
        ),
        default=0,
    )


def load(targets: list[str], mixes: list[list[str]], seconds: float) -> dict[str, list[int]]:
    """One thread per mix of paths, each sending its paths in turn to the targets in turn
    for `seconds`; the statuses per target."""
    statuses: dict[str, list[int]] = {t: [] for t in targets}
    stop_at = time.monotonic() + seconds

    def work(offset: int, paths: list[str]) -> None:
        i = offset
        with httpx.Client(timeout=15) as client:
            while time.monotonic() < stop_at:
                target, path = targets[i % len(targets)], paths[i % len(paths)]
                statuses[target].append(client.get(target + path).status_code)
                i += 1
                time.sleep(0.01)

    threads = [threading.Thread(target=work, args=(n, mix)) for n, mix in enumerate(mixes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def next_update(url: str, topic: str, timeout_s: float) -> dict[str, Any]:
    with connect(url, open_timeout=10) as ws:
        ws.send(orjson.dumps({"subscribe": [topic]}).decode())
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            frame = orjson.loads(ws.recv(timeout=left))
            if frame["type"] == "update" and frame["topic"] == topic:
                return dict(frame)
    pytest.fail(f"no update on {topic} within {timeout_s} s")
