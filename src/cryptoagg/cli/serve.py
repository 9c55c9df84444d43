"""`cryptoagg serve` (the API and dashboard) and `cryptoagg simulate` (the provider simulator)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import typer
import uvicorn

from cryptoagg.api.app import create_app
from cryptoagg.api.http.headertimeout import server_protocol
from cryptoagg.bootstrap import check_settings
from cryptoagg.cli.common import out, settings_for
from cryptoagg.logging import configure_logging
from cryptoagg.sim.server import serve_sim


def serve(
    mock: Annotated[
        bool, typer.Option("--mock", help="Serve data from the built-in provider simulator.")
    ] = False,
    host: Annotated[
        str | None, typer.Option(metavar="HOST", help="The address to listen on (default: HOST).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(metavar="PORT", help="The port to listen on (default: PORT).")
    ] = None,
) -> None:
    """Start the API and dashboard server.

    It runs until interrupted; logs go to stderr. Exit status: 2 for a bad setting.
    """
    settings = settings_for(use_mock_data=True if mock else None, host=host, port=port)
    check_settings(settings)
    out().print(f"cryptoagg listening on http://{settings.host}:{settings.port}", soft_wrap=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        workers=1,
        log_config=None,
        timeout_keep_alive=5,
        # slow clients: request line and headers within HEADER_TIMEOUT_S (uvicorn has no such
        # timeout of its own), the head within MAX_URL_BYTES / MAX_HEADER_BYTES / MAX_HEADERS;
        # forwarded addresses are read by the app, only from TRUSTED_PROXIES
        http=server_protocol(settings),
        proxy_headers=False,
        # a WebSocket message over the limit closes the connection (1009) before it is read
        ws_max_size=settings.ws_max_message_bytes,
        # one deflate stream per connection would undo the fan-out's encode-once (1,000
        # clients: p99 124 ms with it, 80 ms without; price frames are ~300 bytes)
        ws_per_message_deflate=False,
    )


def simulate(
    port: Annotated[int, typer.Option(metavar="PORT", help="The port to listen on.")] = 9000,
    host: Annotated[str, typer.Option(metavar="HOST", help="The address to listen on.")] = (
        "127.0.0.1"
    ),
    seed: Annotated[int, typer.Option(metavar="N", help="The random seed of the price walk.")] = 1,
) -> None:
    """Run the provider simulator: the providers' APIs with made-up prices.

    Point UPSTREAM_BASE_URL at it to run the server against it. It runs until interrupted.
    """
    configure_logging("WARNING")
    out().print(f"simulator on http://{host}:{port}  (UPSTREAM_BASE_URL=http://{host}:{port})")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_sim(host, port, seed))
