"""Generate `src/cryptoagg/providers/shapes.json` from the recorded payloads.

    .venv/bin/python -m tests.providers.shapes_gen        # rewrite the file
    .venv/bin/python -m tests.providers.shapes_gen --check  # exit 1 if it is out of date

One endpoint per provider: the call `cryptoagg providers check` and `providers schema` make
(the health check's probe). Each is described by its recording, the
keys that hold data rather than field names (`maps`), and its adapter's own parse function;
a field is `required` when the parse fails or yields nothing once the field is deleted from
the recording, `used` when the parsed values change. Feeds are parsed from text, so their
fields are compared but not classified.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptoagg.core.asset_seed import seeded_registry
from cryptoagg.providers import (
    alternative_me,
    binance,
    coinbase,
    coincap,
    coingecko,
    coinpaprika,
    cryptocompare,
    cryptopanic,
    defillama,
    kraken,
    messari,
    news,
)
from cryptoagg.providers.shapes import ROOT, decode, shape_of
from tests.providers.support import FIXTURES, NOW, fixture_bytes

TARGET = Path(__file__).resolve().parents[2] / "src" / "cryptoagg" / "providers" / "shapes.json"
COMMAND = "python -m tests.providers.shapes_gen"

ASSETS = seeded_registry()
BTC = ASSETS.get("bitcoin")


@dataclass(frozen=True)
class Endpoint:
    provider: str
    path: str
    fixture: str
    parse: Callable[[Any], object]
    maps: tuple[str, ...] = ()
    kind: str = "json"


def _feed(cls: type[news.RssNewsProvider], fixture: str) -> Endpoint:
    return Endpoint(
        cls.name,
        cls.feed_path,
        fixture,
        lambda text: news.parse_rss(text, cls.name, cls.source),
        kind="feed",
    )


ENDPOINTS = (
    Endpoint(
        "coingecko",
        "/api/v3/simple/price",
        "coingecko/simple_price.json",
        lambda p: coingecko.parse_simple_price(p, {"bitcoin": BTC}, NOW),
        maps=("$",),
    ),
    Endpoint(
        "binance",
        "/api/v3/ticker/24hr",
        "binance/ticker_24hr_list.json",
        # the documented example is the BNBBTC ticker
        lambda p: binance.parse_tickers(p, {"BNBBTC": ASSETS.get("binancecoin")}),
    ),
    Endpoint(
        "kraken",
        "/0/public/Ticker",
        "kraken/ticker.json",
        lambda p: kraken.parse_ticker(p, {"XBT": BTC}, NOW),
        maps=("$.result",),
    ),
    Endpoint(
        "coinbase",
        "/products/BTC-USD/ticker",
        "coinbase/exchange_product_ticker_live_capture.json",
        lambda p: coinbase.parse_product_ticker(p, BTC),
    ),
    Endpoint(
        "coinpaprika",
        "/v1/tickers",
        "coinpaprika/tickers.json",
        lambda p: coinpaprika.parse_tickers(p, {"btc-bitcoin": BTC}),
    ),
    Endpoint(
        "coincap",
        "/v3/assets",
        "coincap/v2_assets.json",
        lambda p: coincap.parse_assets(p, {"bitcoin": BTC}),
    ),
    Endpoint(
        "cryptocompare",
        "/data/pricemultifull",
        "cryptocompare/pricemultifull.json",
        lambda p: cryptocompare.parse_pricemultifull(p, {"BTC": BTC}),
        maps=("$.RAW", "$.RAW.*", "$.DISPLAY", "$.DISPLAY.*"),
    ),
    Endpoint(
        "messari",
        "/metrics/v2/assets/details",
        "messari/v2_assets_details_FROM_SCHEMA.json",
        lambda p: messari.parse_asset_details(p, {"bitcoin": BTC}, NOW),
    ),
    Endpoint("alternative_me", "/fng/", "alternative_me/fng_limit2.json", alternative_me.parse_fng),
    Endpoint(
        "defillama",
        f"/tvl/{defillama.PROBE_PROTOCOL}",
        "defillama/tvl_protocol.json",
        defillama.parse_protocol_tvl,
    ),
    _feed(news.CoinDeskProvider, "news/coindesk_rss.xml"),
    _feed(news.CointelegraphProvider, "news/cointelegraph_rss_THIRD_PARTY_REGENERATED.xml"),
    _feed(news.DecryptProvider, "news/decrypt_rss_THIRD_PARTY_REGENERATED.xml"),
    Endpoint(
        "cryptopanic", "/api/v1/posts/", "news/cryptopanic_posts.json", cryptopanic.parse_posts
    ),
)


def without(value: object, target: str, maps: tuple[str, ...], path: str = ROOT) -> object:
    """`value` with the key at `target` deleted wherever it occurs."""
    if isinstance(value, Mapping):
        kept = {}
        for key, item in value.items():
            child = f"{path}.*" if path in maps else f"{path}.{key}"
            if child != target:
                kept[key] = without(item, target, maps, child)
        return kept
    if isinstance(value, list):
        return [without(item, target, maps, f"{path}[]") for item in value]
    return value


def _need(endpoint: Endpoint, payload: object, baseline: object, path: str) -> str | None:
    try:
        result = endpoint.parse(without(payload, path, endpoint.maps))
    except Exception:
        return "required"
    if isinstance(result, list) and not result:
        return "required"
    return "used" if result != baseline else None


def describe(endpoint: Endpoint) -> dict[str, Any]:
    body = fixture_bytes(endpoint.fixture)
    payload = decode(body, endpoint.kind)
    fields = shape_of(payload, endpoint.maps)
    needs: dict[str, list[str]] = {"required": [], "used": []}
    if endpoint.kind == "json":
        baseline = endpoint.parse(payload)
        assert baseline, f"{endpoint.fixture}: the parse yields nothing"
        for path in sorted(fields):
            if path.endswith(("[]", ".*")) or path == ROOT:
                continue
            need = _need(endpoint, payload, baseline, path)
            if need is not None:
                needs[need].append(path)
    else:
        assert endpoint.parse(body.decode()), f"{endpoint.fixture}: the parse yields nothing"
    return {
        "fixture": endpoint.fixture,
        "kind": endpoint.kind,
        "maps": list(endpoint.maps),
        "fields": {path: sorted(types) for path, types in sorted(fields.items())},
        **needs,
    }


def build() -> dict[str, Any]:
    providers: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        assert (FIXTURES / endpoint.fixture).is_file(), endpoint.fixture
        providers.setdefault(endpoint.provider, {})[endpoint.path] = describe(endpoint)
    return {"generated_by": COMMAND, "from": "tests/fixtures/providers", "providers": providers}


def render(shapes: Mapping[str, Any]) -> str:
    return json.dumps(shapes, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render(build())
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run {COMMAND}")
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
