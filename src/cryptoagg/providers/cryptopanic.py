"""CryptoPanic news API — https://cryptopanic.com/developers/api/

Limits: none published. A key is required and the API takes it only as the `auth_token` query
parameter, so it travels in the URL: logged URLs go through `redact_url`, and no error raised
here carries a URL. The only recording is of the older `/api/posts/` path (January 2018);
`/api/v1/posts/` answers with the same shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel

from cryptoagg.core.errors import MissingKey
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, NewsItem
from cryptoagg.providers.base import HttpProvider
from cryptoagg.providers.news import clean_url, plain_text
from cryptoagg.providers.shapes import Recording

NAME = "cryptopanic"

# -- payload models ------------------------------------------------------------------------


class _Source(BaseModel):
    title: str


class _Currency(BaseModel):
    code: str


class _Post(BaseModel):
    id: int | None = None
    slug: str | None = None
    title: str
    url: str | None = None
    published_at: datetime
    source: _Source
    currencies: list[_Currency] | None = None

    def link(self) -> str | None:
        if self.url:
            return self.url
        if self.id is not None and self.slug:
            return f"https://cryptopanic.com/news/{self.id}/{self.slug}"
        return None


class _Body(BaseModel):
    results: list[_Post]


# -- parse functions -----------------------------------------------------------------------


def parse_posts(payload: Any) -> list[NewsItem]:
    """`/api/v1/posts/` (fixture: news/cryptopanic_posts.json, from the older `/api/posts/`)."""
    items = []
    for post in _Body.model_validate(payload).results:
        link = post.link()
        title = plain_text(post.title)
        if link is None or not title:
            continue
        items.append(
            NewsItem(
                title=title,
                url=clean_url(link),
                source=post.source.title,
                published_at=post.published_at,
                provider=NAME,
                currencies=tuple(c.code for c in post.currencies or ()),
                guid=f"cryptopanic:{post.id}" if post.id is not None else None,
            )
        )
    return items


class CryptoPanicProvider(HttpProvider):
    name = NAME
    order = 140
    # none published (guess): be polite
    limits = Limits(per_minute=10)
    hosts: ClassVar[dict[str, str]] = {"": "https://cryptopanic.com"}
    capabilities = frozenset({Capability.NEWS})
    uses_key = requires_key = True
    docs_url = "https://cryptopanic.com/developers/api/"
    shapes = (
        Recording("/api/v1/posts/", "news/cryptopanic_posts.json", lambda p, _: parse_posts(p)),
    )

    async def news(self) -> list[NewsItem]:
        key = self.key()
        if key is None:
            raise MissingKey(NAME, "an auth_token is required")
        payload = await self.get_json(
            "/api/v1/posts/", params={"auth_token": key, "public": "true"}
        )
        with self.parsing("posts"):
            return parse_posts(payload)
