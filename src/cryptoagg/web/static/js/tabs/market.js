// Market: the top tracked assets from /api/market (up to LIMIT: the server lists the assets it
// tracks, about 56 by default); the top LIVE_ROWS tick live over prices:<asset>.

import { getJson } from '../api.js';
import { el, fillRows, freshness, setFreshness, showError, td } from '../dom.js';
import * as fmt from '../format.js';

const LIMIT = 100;
// The price collector publishes the top COLLECT_ASSETS (20 by default) assets.
const LIVE_ROWS = 20;

const rows = new Map(); // asset_id -> {row, priceCell, ageNode, coin}
const unsubscribes = new Map(); // asset_id -> function
let filterText = '';

function applyFilter(table) {
  for (const { row, coin } of rows.values()) {
    const hay = `${coin.name} ${coin.symbol} ${coin.asset_id}`.toLowerCase();
    row.hidden = filterText !== '' && !hay.includes(filterText);
  }
  table.classList.toggle('filtered', filterText !== '');
}

function leftOut(coin) {
  const left = coin.replaced.map((r) => `${r.provider} sent ${fmt.price(r.price)}`);
  return left.length ? `; left out (off the consensus): ${left.join('; ')}` : '';
}

function priceTitle(coin) {
  const basis = coin.price_basis === 'consensus' ? 'consensus price' : 'median of the listings';
  return `${basis} from ${coin.price_sources.join(', ')}${leftOut(coin)}`;
}

function render(table, coins) {
  rows.clear();
  const built = coins.map((coin) => {
    const priceCell = td(fmt.price(coin.price), 'num price');
    priceCell.title = priceTitle(coin);
    if (coin.replaced.length) priceCell.classList.add('replaced');
    const ageNode = freshness(coin.as_of, coin.stale, '');
    const open = el('a', { href: `#charts/${encodeURIComponent(coin.asset_id)}`, title: 'chart' }, coin.name);
    const row = el(
      'tr',
      { dataset: { asset: coin.asset_id } },
      td(coin.rank ?? '–', 'num'),
      td([open, ' ', el('span', { class: 'symbol' }, coin.symbol)]),
      priceCell,
      td(fmt.percent(coin.change_24h), fmt.changeClass(coin.change_24h)),
      td(fmt.money(coin.market_cap), 'num'),
      td(fmt.money(coin.volume_24h), 'num'),
      el('td', { class: 'num', title: coin.sources.join(', ') }, String(coin.sources.length)),
      td(ageNode),
    );
    rows.set(coin.asset_id, { row, priceCell, ageNode, coin });
    return row;
  });
  fillRows(table, built, 'no coins');
  applyFilter(table);
}

function onPrice(data) {
  if (!data) return;
  const entry = rows.get(data.asset_id);
  if (!entry) return;
  const before = entry.coin.price;
  entry.coin.price = data.price;
  entry.priceCell.textContent = fmt.price(data.price);
  const band = `${fmt.price(data.low)} – ${fmt.price(data.high)}`;
  entry.priceCell.title = `consensus of ${data.sources.length} sources, ${band}${leftOut(entry.coin)}`;
  setFreshness(entry.ageNode, data.as_of, false, '');
  entry.row.dataset.updates = String(Number(entry.row.dataset.updates || 0) + 1);
  const flash = data.price > before ? 'flash-up' : data.price < before ? 'flash-down' : null;
  if (flash) {
    entry.priceCell.classList.remove('flash-up', 'flash-down');
    void entry.priceCell.offsetWidth; // restart the animation
    entry.priceCell.classList.add(flash);
  }
}

function follow(live, coins) {
  const wanted = new Set(coins.slice(0, LIVE_ROWS).map((c) => c.asset_id));
  for (const [asset, stop] of unsubscribes) {
    if (!wanted.has(asset)) {
      stop();
      unsubscribes.delete(asset);
    }
  }
  for (const asset of wanted) {
    if (!unsubscribes.has(asset)) unsubscribes.set(asset, live.subscribe(`prices:${asset}`, onPrice));
  }
}

export default {
  id: 'market',
  init(ctx, panel) {
    const table = panel.querySelector('#market-table');
    panel.querySelector('#market-filter').addEventListener('input', (event) => {
      filterText = event.target.value.trim().toLowerCase();
      applyFilter(table);
    });
  },
  async refresh(ctx, panel) {
    try {
      const body = await getJson(`/api/market?limit=${LIMIT}`);
      const coins = body.cryptocurrencies;
      ctx.shared.coins = coins;
      render(panel.querySelector('#market-table'), coins);
      follow(ctx.live, coins);
      const fresh = panel.querySelector('#market-fresh');
      panel.querySelector('#market-caption').textContent = `Top ${coins.length} tracked assets by market cap`;
      fresh.replaceChildren(`from ${body.providers.join(', ')} · `, freshness(body.timestamp, body.stale, 'updated'));
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
