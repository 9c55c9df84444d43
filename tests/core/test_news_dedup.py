"""One story, many copies: canonical URLs, GUIDs and near-identical titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cryptoagg.core.news_dedup import StoryKey, canonical_url, figures, same_story

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.CoinDesk.com/markets/2026/12/01/btc/?utm_source=rss&utm_medium=feed",
            "https://coindesk.com/markets/2026/12/01/btc",
        ),
        (
            "http://decrypt.co/123/story?ref=twitter&b=2&a=1#top",
            "https://decrypt.co/123/story?a=1&b=2",
        ),
        ("https://cointelegraph.com/news/x?fbclid=abc", "https://cointelegraph.com/news/x"),
        ("not a url", "not a url"),
    ],
)
def test_canonical_url_drops_what_differs_between_copies(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def key(
    title: str,
    url: str = "https://a.example/1",
    *,
    at: datetime = T0,
    assets: tuple[str, ...] = ("bitcoin",),
    guid: str | None = None,
) -> StoryKey:
    return StoryKey.of(url, title, at, assets, guid)


def test_copies_of_one_link_or_guid_are_one_story() -> None:
    a = key("Bitcoin rises", "https://a.example/1?utm_source=x")
    assert same_story(a, key("Other words", "https://www.a.example/1/")) == "url"
    b = key("Bitcoin rises", "https://a.example/1", guid="cd-42")
    assert (
        same_story(b, key("Bitcoin rises (updated)", "https://a.example/2", guid="cd-42")) == "guid"
    )


def test_near_identical_titles_within_the_window_are_one_story() -> None:
    a = key("Bitcoin Soars to Record High as Institutional Demand Surges", "https://a.example/1")
    b = key(
        "Bitcoin soars to record high as institutional demand surges!",
        "https://b.example/9",
        at=T0 + timedelta(hours=3),
    )
    c = key("Bitcoin soars to a record high as institutional demand surges", "https://c.example/x")
    assert same_story(a, b) == "title"
    assert same_story(a, c) == "title"
    later = key(b.title, "https://b.example/9", at=T0 + timedelta(days=3))
    assert same_story(a, later) is None


def test_stories_that_differ_where_it_matters_stay_apart() -> None:
    eth = key("ETF flows lift Ethereum as institutions return", assets=("ethereum",))
    ltc = key(
        "ETF flows lift Litecoin as institutions return",
        "https://b.example/2",
        assets=("litecoin",),
    )
    assert same_story(eth, ltc) is None  # other asset
    a = key("Bitcoin falls below $60,000 as liquidations mount")
    b = key("Bitcoin falls below $58,000 as liquidations mount", "https://b.example/3")
    assert same_story(a, b) is None  # other figure
    c = key("Bitcoin miners sell as hashprice slumps", "https://b.example/4")
    assert same_story(a, c) is None  # another story
    assert figures("$60,000 and 2.5%") == {"60000", "2.5"}


def test_titles_that_differ_by_a_name_stay_apart_even_unlinked() -> None:
    eth = key("ETF flows lift Ethereum as institutions return", assets=())
    ltc = key("ETF flows lift Litecoin as institutions return", "https://b.example/2", assets=())
    assert same_story(eth, ltc) is None
    a = key("Bitcoin Soars to Record High as Institutional Demand Surges", assets=())
    b = key(
        "Bitcoin soars to a record high as institutional demand surges",
        "https://b.example/5",
        assets=(),
    )
    assert same_story(a, b) == "title"
