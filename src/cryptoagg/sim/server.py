"""Run the simulator as a real HTTP server (the `simulate` command, mock mode, e2e tests).

`SimServer` is a uvicorn server that, on shutdown, first tells the simulator to let go of
requests it is holding (`timeout` and `slow` faults), so stopping never waits for them.
"""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from fastapi import FastAPI

from cryptoagg.sim.app import create_sim_app
from cryptoagg.sim.state import SimState


class SimServer(uvicorn.Server):
    def __init__(self, app: FastAPI, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.sim: SimState = app.state.sim

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.sim.close()
        await super().shutdown(sockets=sockets)


def build_server(
    host: str = "127.0.0.1", port: int = 0, seed: int = 1, log_level: str = "warning"
) -> SimServer:
    app = create_sim_app(seed=seed)
    # log_config=None: uvicorn's default config would attach its own stdout handlers, and
    # inside `serve --mock` its lines would bypass cryptoagg's logging and secret masking
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=None,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    return SimServer(app, config)


async def serve_sim(host: str, port: int, seed: int, log_level: str = "warning") -> None:
    """Serve the simulator until cancelled or interrupted (no access log by default: it
    answers thousands of calls a minute under load)."""
    await build_server(host, port, seed, log_level=log_level).serve()


class BackgroundSim:
    """The simulator on a loopback port, run as a task of the current event loop."""

    def __init__(self, seed: int = 1, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = self.sock.getsockname()[:2]
        self.server = build_server(host, self.port, seed)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises the start-up error
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task
        self.sock.close()
