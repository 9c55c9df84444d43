"""News RSS feeds: CoinDesk, Cointelegraph and Decrypt.

- CoinDesk https://www.coindesk.com/arc/outboundfeeds/rss/ (`ttl` 5 minutes in the feed)
- Cointelegraph https://cointelegraph.com/rss (links carry `utm_*` tracking parameters)
- Decrypt https://decrypt.co/feed

Limits: no keys and no published limits. feedparser only ever sees the fetched text, wrapped in
a stream: given a plain string that looks like a URL or a file name it would fetch or open it.

Feeds are fetched with conditional GET: each adapter keeps the `ETag` and `Last-Modified` of its
feed's last 200 with the items parsed from that body, and sends them back as `If-None-Match` /
`If-Modified-Since`. A `304 Not Modified` has no body and returns those same items again (an
empty list when that body had none); it is still a request, charged like any other. This is
not a cache: the items are only ever served on the publisher's word that nothing changed.
"""

from __future__ import annotations

import calendar
import html
import io
import re
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser

from cryptoagg.core.errors import BadResponse
from cryptoagg.core.limits import Limits
from cryptoagg.core.models import Capability, NewsItem, from_unix
from cryptoagg.providers.base import HttpProvider, ProviderContext
from cryptoagg.providers.shapes import Recording

SUMMARY_CHARS = 500
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
# feedparser files <description> and <dc:description> under the same `summary` key, so the
# empty <dc:description/> that follows CoinDesk's real description would wipe it out.
_EMPTY_DC_DESCRIPTION = re.compile(r"<dc:description\s*(?:/>|>\s*</dc:description>)")
#: the declared charset makes feedparser trust our (already decoded) text over the XML prolog
_HEADERS = {"content-type": "application/xml; charset=utf-8"}
#: response validator -> the request header that sends it back (RFC 9110 §13.1)
_VALIDATORS = (("etag", "If-None-Match"), ("last-modified", "If-Modified-Since"))

# -- text helpers (also used by the CryptoPanic adapter) -----------------------------------


def plain_text(markup: str) -> str:
    """HTML to one line of plain text: tags dropped, entities decoded, whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", markup))).strip()


def clean_url(url: str) -> str:
    """Drop tracking parameters (`utm_*`) from an article link; everything else is kept."""
    url = url.strip()
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not k.lower().startswith("utm_")]
    if len(kept) == len(pairs):
        return url
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), parts.fragment))


def shorten(text: str, limit: int = SUMMARY_CHARS) -> str:
    """`text` cut at a word boundary to at most `limit` characters (with an ellipsis)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:.") + "…"


# -- parse functions -----------------------------------------------------------------------


def _summary(entry: Any) -> str | None:
    raw = entry.get("summary") or ""
    if not raw and entry.get("content"):
        raw = entry["content"][0].get("value") or ""
    text = plain_text(str(raw))
    return shorten(text) if text else None


def _guid(entry: Any, provider: str) -> str | None:
    """The entry's GUID, scoped to its feed (some feeds number their items: "12345")."""
    raw = str(entry.get("id") or "").strip()
    return f"{provider}:{raw[:400]}" if raw else None


def parse_rss(text: str, provider: str, source: str) -> list[NewsItem]:
    """An RSS/Atom feed body; entries without a link, date or title are skipped (fixtures:
    news/coindesk_rss.xml, news/cointelegraph_rss_THIRD_PARTY_REGENERATED.xml,
    news/decrypt_rss_THIRD_PARTY_REGENERATED.xml)."""
    cleaned = _EMPTY_DC_DESCRIPTION.sub("", text)
    feed = feedparser.parse(io.BytesIO(cleaned.encode("utf-8")), response_headers=_HEADERS)
    if not feed.entries and (feed.get("bozo") or not feed.get("version")):
        raise BadResponse(provider, "body is not an RSS or Atom feed")
    items = []
    for entry in feed.entries:
        link = entry.get("link")
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        title = plain_text(str(entry.get("title") or ""))
        if not link or not published or not title:
            continue
        items.append(
            NewsItem(
                title=title,
                url=clean_url(str(link)),
                source=source,
                # feedparser normalises every date to a UTC struct_time
                published_at=from_unix(calendar.timegm(published)),
                provider=provider,
                summary=_summary(entry),
                guid=_guid(entry, provider),
            )
        )
    return items


def feed_shapes(name: str, source: str, feed_path: str, fixture: str) -> tuple[Recording, ...]:
    """A feed's recorded shape (`HttpProvider.shapes`): its items as `parse_rss` reads them."""
    return (
        Recording(feed_path, fixture, lambda text, _: parse_rss(text, name, source), kind="feed"),
    )


class RssNewsProvider(HttpProvider):
    """A publication's news feed at `feed_path` on its main host."""

    feed_path: ClassVar[str]
    #: the publication's name, shown as the item's source
    source: ClassVar[str]
    capabilities = frozenset({Capability.NEWS})
    # feeds publish no limit: be polite (guess)
    limits = Limits(per_minute=6)

    def __init__(self, ctx: ProviderContext) -> None:
        super().__init__(ctx)
        #: the last 200's validators, as request headers, and the items parsed from its body
        self._validators: dict[str, str] = {}
        self._items: list[NewsItem] = []

    async def news(self) -> list[NewsItem]:
        response = await self.request(self.feed_path, headers=self._validators)
        if response.status_code == 304:
            return list(self._items)
        with self.parsing("rss"):
            items = parse_rss(response.text, self.name, self.source)
        self._validators = {
            sent_as: value for got, sent_as in _VALIDATORS if (value := response.headers.get(got))
        }
        self._items = items
        return list(items)


class CoinDeskProvider(RssNewsProvider):
    name = "coindesk"
    order = 110
    source = "CoinDesk"
    hosts: ClassVar[dict[str, str]] = {"": "https://www.coindesk.com"}
    feed_path = "/arc/outboundfeeds/rss/"
    docs_url = "https://www.coindesk.com/arc/outboundfeeds/rss/"
    shapes = feed_shapes(name, source, feed_path, "news/coindesk_rss.xml")


class CointelegraphProvider(RssNewsProvider):
    name = "cointelegraph"
    order = 120
    source = "Cointelegraph"
    hosts: ClassVar[dict[str, str]] = {"": "https://cointelegraph.com"}
    feed_path = "/rss"
    docs_url = "https://cointelegraph.com/rss-feeds"
    shapes = feed_shapes(
        name, source, feed_path, "news/cointelegraph_rss_THIRD_PARTY_REGENERATED.xml"
    )


class DecryptProvider(RssNewsProvider):
    name = "decrypt"
    order = 130
    source = "Decrypt"
    hosts: ClassVar[dict[str, str]] = {"": "https://decrypt.co"}
    feed_path = "/feed"
    docs_url = "https://decrypt.co/feed"
    shapes = feed_shapes(name, source, feed_path, "news/decrypt_rss_THIRD_PARTY_REGENERATED.xml")
