"""The simulator app in-process on a clock the test moves (each test module sets `NOW`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import httpx
import pytest

from cryptoagg.sim.app import create_sim_app


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(request: pytest.FixtureRequest) -> Clock:
    now: datetime = request.module.NOW
    return Clock(now)


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_sim_app(seed=1, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        yield client
