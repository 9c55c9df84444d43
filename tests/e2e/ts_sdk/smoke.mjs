// Optional smoke run of CoinGecko's official TypeScript SDK (@coingecko/coingecko-typescript)
// against this server's /api/v3, with a dummy Demo key as a new user would configure it.
// Not part of `make test` (it needs Node.js and npm):
//
//   npm ci --prefix tests/e2e/ts_sdk
//   node tests/e2e/ts_sdk/smoke.mjs http://127.0.0.1:7860
//
// The TypeScript SDK does not validate answers at run time, so the fields its types declare
// as required are checked here (the Python SDK's strict run is tests/e2e/test_coingecko_sdk.py).
import assert from "node:assert/strict";
import Coingecko from "@coingecko/coingecko-typescript";

const base = (process.argv[2] ?? "http://127.0.0.1:7860").replace(/\/$/, "");
const client = new Coingecko({
  demoAPIKey: "CG-dummy-demo-key",
  baseURL: `${base}/api/v3`,
  maxRetries: 0,
});
const number = (v, what) => assert.equal(typeof v, "number", `${what}: ${v}`);
const string = (v, what) => assert.equal(typeof v, "string", `${what}: ${v}`);
let calls = 0;
const call = async (promise) => {
  const answer = await promise;
  calls += 1;
  return answer;
};

const ping = await call(client.ping.get());
assert.equal(ping.gecko_says, "(V3) To the Moon!");

for (const lookup of [{ ids: "bitcoin,ethereum" }, { names: "Bitcoin,Ethereum" }, { symbols: "btc,eth" }]) {
  const prices = await call(
    client.simple.price.get({
      vs_currencies: "usd",
      include_market_cap: true,
      include_24hr_vol: true,
      include_24hr_change: true,
      include_last_updated_at: true,
      precision: "2",
      ...lookup,
    }),
  );
  assert.equal(Object.keys(prices).length, 2, JSON.stringify(lookup));
  for (const [key, coin] of Object.entries(prices)) {
    for (const field of ["usd", "usd_market_cap", "usd_24h_vol", "usd_24h_change", "last_updated_at"]) {
      number(coin[field], `simple/price ${key}.${field}`);
    }
  }
}

for (const order of ["market_cap_desc", "market_cap_asc", "volume_desc", "volume_asc", "id_asc", "id_desc"]) {
  for (const page of [1, 2]) {
    const rows = await call(client.coins.markets.get({ vs_currency: "usd", order, per_page: 25, page }));
    assert.ok(rows.length > 0, `${order} page ${page}`);
    for (const row of rows) {
      for (const field of ["id", "symbol", "name", "image", "last_updated"]) string(row[field], `markets ${row.id}.${field}`);
    }
  }
}

const trending = await call(client.search.trending.get());
assert.ok(trending.coins.length > 0);
for (const { item } of trending.coins) {
  for (const field of ["id", "name", "symbol", "thumb", "small", "large", "slug"]) string(item[field], `trending ${item.id}.${field}`);
  for (const field of ["coin_id", "market_cap_rank", "price_btc", "score"]) number(item[field], `trending ${item.id}.${field}`);
  for (const field of ["price_btc", "market_cap", "market_cap_btc", "total_volume", "total_volume_btc", "sparkline"]) {
    string(item.data[field], `trending ${item.id}.data.${field}`);
  }
  number(item.data.price, `trending ${item.id}.data.price`);
}

for (const days of ["1", "30", "365", "max"]) {
  for (const interval of [undefined, "1m", "5m", "hourly", "daily"]) {
    const chart = await call(
      client.coins.marketChart.get("bitcoin", { vs_currency: "usd", days, ...(interval ? { interval } : {}) }),
    );
    assert.ok(chart.prices.length > 0, `market_chart ${days} ${interval}`);
    for (const series of ["prices", "market_caps", "total_volumes"]) {
      for (const [t, v] of chart[series]) {
        number(t, `${series} time`);
        number(v, `${series} value`);
      }
    }
  }
}

console.log(`ok: ${calls} calls of @coingecko/coingecko-typescript against ${base}/api/v3`);
