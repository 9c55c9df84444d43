"""Alternative.me Crypto Fear & Greed Index — https://alternative.me/crypto/fear-and-greed-index/

Limits: none published; no key. The index is published once a day; all values are strings.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.models import Capability, FearGreed, from_unix
from cryptoagg.providers.base import HttpProvider

NAME = "alternative_me"


class _Point(BaseModel):
    value: int
    value_classification: str
    timestamp: int


class _Body(BaseModel):
    data: list[_Point]


def parse_fng_history(payload: Any) -> list[FearGreed]:
    """`/fng/?limit=N` newest first (fixture: alternative_me/fng_limit2.json)."""
    return [
        FearGreed(
            value=p.value,
            classification=p.value_classification,
            as_of=from_unix(p.timestamp),
            provider=NAME,
        )
        for p in _Body.model_validate(payload).data
    ]


def parse_fng(payload: Any) -> FearGreed:
    """The newest point of `/fng/` (fixture: alternative_me/fng_limit2.json)."""
    history = parse_fng_history(payload)
    if not history:
        raise ValueError("empty index")
    return max(history, key=lambda p: p.as_of)


class AlternativeMeProvider(HttpProvider):
    name = NAME
    hosts: ClassVar[dict[str, str]] = {"": "https://api.alternative.me"}
    capabilities = frozenset({Capability.FEAR_GREED})
    docs_url = "https://alternative.me/crypto/fear-and-greed-index/"

    async def fear_greed(self) -> FearGreed:
        payload = await self.get_json("/fng/", params={"limit": 1, "format": "json"})
        with self.parsing("fng"):
            return parse_fng(payload)
