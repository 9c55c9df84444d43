"""Alternative.me Crypto Fear & Greed Index — https://alternative.me/crypto/fear-and-greed-index/

Limits: none published; no key. The index is published once a day (newest point first, with
`time_until_update` on it only); every value in the body is a string. Errors come back as
HTTP 200 with an empty `data` list and a message in `metadata.error`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.errors import BadResponse
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, FearGreed, from_unix
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.shapes import Recording

NAME = "alternative_me"

# -- payload models ------------------------------------------------------------------------


class _Point(BaseModel):
    value: int
    value_classification: str
    timestamp: int


class _Metadata(BaseModel):
    error: str | None = None


class _Body(BaseModel):
    data: list[_Point]
    metadata: _Metadata = _Metadata()


# -- parse functions -----------------------------------------------------------------------


def parse_fng_history(payload: Any) -> list[FearGreed]:
    """Every point of `/fng/?limit=N`, in the body's order, newest first
    (fixture: alternative_me/fng_limit2.json)."""
    body = _Body.model_validate(payload)
    if body.metadata.error and not body.data:
        # Alternative.me reports its own errors as HTTP 200 with this field set.
        raise BadResponse(NAME, f"upstream error: {body.metadata.error[:200]}")
    return [
        FearGreed(
            value=point.value,
            classification=point.value_classification,
            as_of=from_unix(point.timestamp),
            provider=NAME,
        )
        for point in body.data
    ]


def parse_fng(payload: Any) -> FearGreed:
    """The newest point of `/fng/` (fixture: alternative_me/fng_limit2.json)."""
    history = parse_fng_history(payload)
    if not history:
        raise BadResponse(NAME, "the index has no data points")
    return max(history, key=lambda point: point.as_of)


class AlternativeMeProvider(HttpProvider):
    name = NAME
    order = 90
    # none published (guess); the index changes daily
    limits = Limits(per_minute=30)
    hosts: ClassVar[dict[str, str]] = {"": "https://api.alternative.me"}
    capabilities = frozenset({Capability.FEAR_GREED})
    docs_url = "https://alternative.me/crypto/fear-and-greed-index/"
    shapes = (Recording("/fng/", "alternative_me/fng_limit2.json", lambda p, _: parse_fng(p)),)

    async def fear_greed(self) -> FearGreed:
        payload = await self.get_json("/fng/", params={"limit": 1, "format": "json"})
        with self.parsing("fng"):
            return parse_fng(payload)
