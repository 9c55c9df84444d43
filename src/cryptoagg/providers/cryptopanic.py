"""CryptoPanic news API — https://cryptopanic.com/developers/api/

Limits: none published; a key is required and the API only takes it as the `auth_token`
query parameter (logged URLs are redacted by `redact_url`). The only recording is of the
older `/api/posts/` path (2018); `/api/v1/posts/` is documented with the same shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.models import Capability, NewsItem
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.news import plain_text

NAME = "cryptopanic"


class _Source(BaseModel):
    title: str


class _Currency(BaseModel):
    code: str


class _Post(BaseModel):
    title: str
    url: str
    published_at: datetime
    source: _Source
    currencies: list[_Currency] | None = None


class _Body(BaseModel):
    results: list[_Post]


def parse_posts(payload: Any) -> list[NewsItem]:
    """`/api/v1/posts/` (fixture: news/cryptopanic_posts.json)."""
    return [
        NewsItem(
            title=plain_text(p.title),
            url=p.url,
            source=p.source.title,
            published_at=p.published_at,
            provider=NAME,
            currencies=tuple(c.code for c in p.currencies or ()),
        )
        for p in _Body.model_validate(payload).results
    ]


class CryptoPanicProvider(HttpProvider):
    name = NAME
    hosts: ClassVar[dict[str, str]] = {"": "https://cryptopanic.com"}
    capabilities = frozenset({Capability.NEWS})
    requires_key = True
    docs_url = "https://cryptopanic.com/developers/api/"

    async def news(self) -> list[NewsItem]:
        payload = await self.get_json(
            "/api/v1/posts/", params={"auth_token": self.key() or "", "public": "true"}
        )
        with self.parsing("posts"):
            return parse_posts(payload)
