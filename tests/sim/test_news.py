"""The simulated RSS feeds answer conditional GET: 304 (no body) while a feed is unchanged,
200 with a new ETag once it changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.core.news_links import NewsLinker
from cryptoagg.providers.base import ProviderContext
from cryptoagg.providers.cryptopanic import CryptoPanicProvider
from cryptoagg.providers.news import CoinDeskProvider, CointelegraphProvider, DecryptProvider
from cryptoagg.sim.app import create_sim_app
from cryptoagg.sim.market import PriceModel
from cryptoagg.sim.news import FEED_UPDATE_S, HEADLINES, STORY_SLOT_S
from cryptoagg.storage.db import make_engine, upgrade
from cryptoagg.storage.news import Incoming, NewsRepository
from tests.sim.conftest import Clock

#: 12:31:15, so the feed was last rebuilt at 12:30:00
NOW = datetime(2026, 11, 20, 12, 31, 15, tzinfo=UTC)
FEED = "/coindesk/arc/outboundfeeds/rss/"


@pytest.mark.parametrize("path", [FEED, "/cointelegraph/rss", "/decrypt/feed"])
async def test_an_unchanged_feed_answers_304_without_a_body(
    sim: httpx.AsyncClient, path: str
) -> None:
    first = await sim.get(path)
    assert first.status_code == 200 and "</rss>" in first.text
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["last-modified"] == "Fri, 20 Nov 2026 12:30:00 GMT"
    assert "<lastBuildDate>Fri, 20 Nov 2026 12:30:00 +0000</lastBuildDate>" in first.text
    again = await sim.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


async def test_a_feed_changes_only_when_it_is_rebuilt(sim: httpx.AsyncClient, clock: Clock) -> None:
    first = await sim.get(FEED)
    etag = first.headers["etag"]
    clock.now = NOW.replace(minute=34, second=59)  # same 5-minute build
    assert (await sim.get(FEED, headers={"If-None-Match": etag})).status_code == 304
    clock.now = NOW.replace(minute=35)
    changed = await sim.get(FEED, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.text != first.text
    assert changed.headers["last-modified"] == "Fri, 20 Nov 2026 12:35:00 GMT"
    assert FEED_UPDATE_S == 300 and "<ttl>5</ttl>" in changed.text


async def test_if_none_match_lists_weak_tags_and_the_wildcard(sim: httpx.AsyncClient) -> None:
    etag = (await sim.get(FEED)).headers["etag"]
    for header in (f'"other", W/{etag}', "*"):
        assert (await sim.get(FEED, headers={"If-None-Match": header})).status_code == 304
    assert (await sim.get(FEED, headers={"If-None-Match": '"other"'})).status_code == 200


async def test_if_modified_since_is_used_only_without_if_none_match(
    sim: httpx.AsyncClient,
) -> None:
    built = "Fri, 20 Nov 2026 12:30:00 GMT"
    earlier = "Fri, 20 Nov 2026 12:29:59 GMT"
    assert (await sim.get(FEED, headers={"If-Modified-Since": built})).status_code == 304
    assert (await sim.get(FEED, headers={"If-Modified-Since": earlier})).status_code == 200
    assert (await sim.get(FEED, headers={"If-Modified-Since": "yesterday"})).status_code == 200
    both = {"If-Modified-Since": built, "If-None-Match": '"other"'}
    assert (await sim.get(FEED, headers=both)).status_code == 200


async def test_the_adapter_gets_304s_from_the_simulator_and_keeps_its_items(
    clock: Clock,
) -> None:
    app = create_sim_app(seed=1, clock=clock)
    statuses: list[int] = []

    async def keep(response: httpx.Response) -> None:
        statuses.append(response.status_code)

    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), event_hooks={"response": [keep]}
    )
    async with client:
        ctx = ProviderContext(
            client=client, registry=seeded_registry(), upstream_base_url="http://sim"
        )
        provider = CoinDeskProvider(ctx)
        first = await provider.news()
        again = await provider.news()
        clock.now += timedelta(seconds=STORY_SLOT_S)
        later = await provider.news()
    assert len(first) == 10 and again == first
    # one slot later the feed slides by one story: the others keep their time, title and URL
    assert later[1:] == first[:-1]
    assert later[0].published_at > first[0].published_at
    assert statuses == [200, 304, 200]
    assert app.state.sim.stats.snapshot()["calls"]["coindesk"] == {"/arc/outboundfeeds/rss/": 3}


async def test_a_restarted_simulator_serves_the_same_stories_and_nothing_is_stored_twice(
    clock: Clock, tmp_path: Path
) -> None:
    """A mock run restarted a few minutes later: every feed (and CryptoPanic) gives the same
    stories with the same URLs, so the news store adds nothing; the three feeds' items are
    stored once each."""
    engine = make_engine(f"sqlite:///{tmp_path / 'news.db'}")
    upgrade(engine)
    repo = NewsRepository(engine)
    registry = seeded_registry()
    linker = NewsLinker(registry.tracked(), registry.asset_id_of)

    async def run() -> tuple[int, int]:
        app = create_sim_app(seed=1, clock=clock)  # a new simulator: a restart
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as client:
            ctx = ProviderContext(
                client=client,
                registry=registry,
                upstream_base_url="http://sim",
                api_key=SecretStr("sim"),
            )
            providers = [cls(ctx) for cls in (CoinDeskProvider, CointelegraphProvider,
                                                DecryptProvider, CryptoPanicProvider)]  # fmt: skip
            items = [i for p in providers for i in await p.news()]
        incoming = [Incoming(i, tuple(linker.links(i.title, i.summary, i.currencies)), i.guid)
                    for i in items]  # fmt: skip
        return len(items), len(repo.add_stories(incoming))

    seen, stored = await run()
    clock.now += timedelta(minutes=3)
    seen_again, stored_again = await run()
    assert seen == seen_again == 50 and 0 < stored <= seen  # 3 feeds × 10, CryptoPanic 20
    assert stored_again == 0
    engine.dispose()


def test_every_simulated_title_links_its_asset() -> None:
    """Whatever asset a story draws, the linker links its title to it: "Stellar" and "LINK"
    are ordinary words and count only in crypto context, which every template gives."""
    registry = seeded_registry()
    linker = NewsLinker(registry.tracked(), registry.asset_id_of)
    titles = {
        template.format(name=asset.name, symbol=asset.symbol): asset.id
        for asset in PriceModel(seed=1).assets[:25]
        for template in HEADLINES
    }
    linked = {title: {link.asset_id for link in linker.links(title, "", ())} for title in titles}
    missed = [title for title, asset_id in titles.items() if asset_id not in linked[title]]
    assert missed == []
