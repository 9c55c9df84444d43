"""Stored news: one row per story, every outlet that carried it, and the assets it is about.

`add_stories` stores each story once. An incoming item that repeats a stored one — same
canonical URL, same GUID, or a near-identical title within the window (`core/news_dedup.py`)
— adds its outlet to `news_sources` of the stored item instead of a row of its own. A new
item's links (`core/news_links.py`) go to `news_assets`, and it is marked `linked`; items
stored before linking existed are found by `unlinked` and linked by `set_links`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from cryptoagg.core.models import NewsItem
from cryptoagg.core.news_dedup import TITLE_WINDOW, StoryKey, first_match
from cryptoagg.core.news_links import Link
from cryptoagg.storage.dialect import insert_ignoring_duplicates
from cryptoagg.storage.tables import news, news_assets, news_sources


def news_item(r: Any) -> NewsItem:
    """A `news` row (mapping) as the domain item."""
    return NewsItem(
        title=r["title"],
        url=r["url"],
        source=r["source"],
        published_at=r["published_at"],
        provider=r["provider"],
        summary=r["summary"],
        currencies=tuple(r["currencies"]),
    )


@dataclass(frozen=True, slots=True)
class Incoming:
    """An item as collected, with the assets it is about and its feed GUID."""

    item: NewsItem
    links: tuple[Link, ...] = ()
    guid: str | None = None

    def key(self) -> StoryKey:
        assets = (link.asset_id for link in self.links)
        return StoryKey.of(
            self.item.url, self.item.title, self.item.published_at, assets, self.guid
        )


@dataclass(frozen=True, slots=True)
class Added:
    """A story stored for the first time."""

    id: int
    item: NewsItem
    assets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unlinked:
    id: int
    item: NewsItem


class NewsRepository:
    def __init__(self, engine: Engine, window: timedelta = TITLE_WINDOW) -> None:
        self.engine = engine
        self.window = window

    def add_stories(self, incoming: Sequence[Incoming]) -> list[Added]:
        """Store the stories not seen before; copies add their outlet. Returns the new ones,
        in the order given."""
        if not incoming:
            return []
        keys = [story.key() for story in incoming]
        added: list[Added] = []
        with self.engine.begin() as connection:
            known = self._candidates(connection, keys)
            for story, key in zip(incoming, keys, strict=True):
                match = first_match(key, known)
                if match is not None:
                    self._add_source(connection, match[0], story.item, match[1], key.guid)
                    # a later copy may repeat this one's URL or GUID
                    known.append((match[0], replace(key, title="")))
                    continue
                row_id = self._insert(connection, story, key)
                if row_id is None:  # the same raw URL, stored under an older canonical form
                    continue
                known.append((row_id, key))
                added.append(Added(row_id, story.item, tuple(sorted(key.assets))))
        return added

    def _candidates(
        self, connection: Connection, keys: Sequence[StoryKey]
    ) -> list[tuple[int, StoryKey]]:
        """Stored stories an incoming key may repeat: same URL or GUID, or published within
        the window of the batch; and their copies (by URL and GUID only)."""
        first = min(k.published_at for k in keys) - self.window
        last = max(k.published_at for k in keys) + self.window
        urls = [k.canonical_url for k in keys]
        guids = [k.guid for k in keys if k.guid]
        query = select(news.c.id, news.c.url, news.c.title, news.c.published_at, news.c.guid).where(
            or_(
                news.c.canonical_url.in_(urls),
                news.c.guid.in_(guids),
                news.c.published_at.between(first, last),
            )
        )
        rows = connection.execute(query).all()
        assets: dict[int, set[str]] = {}
        if rows:
            links = select(news_assets.c.news_id, news_assets.c.asset_id).where(
                news_assets.c.news_id.in_([r.id for r in rows])
            )
            for news_id, asset_id in connection.execute(links):
                assets.setdefault(news_id, set()).add(asset_id)
        known = [
            (r.id, StoryKey.of(r.url, r.title, r.published_at, assets.get(r.id, ()), r.guid))
            for r in sorted(rows, key=lambda r: r.id)
        ]
        copies = select(
            news_sources.c.news_id,
            news_sources.c.url,
            news_sources.c.published_at,
            news_sources.c.guid,
        ).where(
            news_sources.c.matched_by != "first",
            or_(news_sources.c.guid.in_(guids), news_sources.c.published_at.between(first, last)),
        )
        for r in connection.execute(copies):
            copy = StoryKey.of(r.url, "", r.published_at, (), r.guid)  # by URL and GUID only
            known.append((r.news_id, copy))
        return known

    def _insert(self, connection: Connection, story: Incoming, key: StoryKey) -> int | None:
        item = story.item
        statement = (
            insert_ignoring_duplicates(self.engine, news)
            .values(
                url=item.url,
                title=item.title,
                source=item.source,
                provider=item.provider,
                published_at=item.published_at,
                summary=item.summary,
                currencies=list(item.currencies),
                canonical_url=key.canonical_url,
                guid=key.guid,
                linked=True,
            )
            .returning(news.c.id)
        )
        row_id = connection.execute(statement).scalar_one_or_none()
        if row_id is None:
            return None
        self._add_source(connection, row_id, item, "first", key.guid)
        self._write_links(connection, row_id, story.links)
        return int(row_id)

    def _add_source(
        self, connection: Connection, row_id: int, item: NewsItem, how: str, guid: str | None
    ) -> None:
        statement = insert_ignoring_duplicates(self.engine, news_sources).values(
            news_id=row_id,
            url=item.url,
            source=item.source,
            provider=item.provider,
            published_at=item.published_at,
            matched_by=how,
            guid=guid,
        )
        connection.execute(statement)

    def _write_links(self, connection: Connection, row_id: int, links: Sequence[Link]) -> None:
        if links:
            values = [
                {"news_id": row_id, "asset_id": x.asset_id, "matched_by": x.matched_by,
                 "text": x.text[:100]}
                for x in links
            ]  # fmt: skip
            connection.execute(insert_ignoring_duplicates(self.engine, news_assets), values)

    def unlinked(self, limit: int) -> list[Unlinked]:
        """Stored items not linked by the current linker yet, newest first."""
        query = (
            select(news)
            .where(news.c.linked.is_(False))
            .order_by(news.c.published_at.desc(), news.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [Unlinked(r["id"], news_item(r)) for r in connection.execute(query).mappings()]

    def set_links(self, links: Sequence[tuple[int, Sequence[Link]]]) -> int:
        """Replace the links of the given items and mark them linked; returns how many."""
        if not links:
            return 0
        ids = [row_id for row_id, _ in links]
        with self.engine.begin() as connection:
            connection.execute(news_assets.delete().where(news_assets.c.news_id.in_(ids)))
            for row_id, found in links:
                self._write_links(connection, row_id, found)
            connection.execute(update(news).where(news.c.id.in_(ids)).values(linked=True))
        return len(ids)
