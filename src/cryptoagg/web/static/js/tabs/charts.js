// Charts: candlesticks with volume from /api/crypto/history (filled on demand), a range and
// interval switch, and the consensus price beside it; the last candle follows prices:<asset>.

import { getJson } from '../api.js';
import { el, freshness, showError } from '../dom.js';
import * as fmt from '../format.js';
import { CandlestickSeries, ColorType, createChart, HistogramSeries } from '../../vendor/lightweight-charts.js';

const INTERVAL_S = { '1m': 60, '1h': 3600, '1d': 86400 };
const RANGES = [
  ['1D', 86400],
  ['1W', 7 * 86400],
  ['1M', 30 * 86400],
  ['3M', 90 * 86400],
  ['1Y', 365 * 86400],
  ['5Y', 5 * 365 * 86400],
];
const MAX_CANDLES = 5000; // what one /api/crypto/history request may ask for
const UP = '#16a34a';
const DOWN = '#dc2626';
const PARTIAL = '#94a3b8'; // a closed rollup some of whose finer candles are missing
const VOLUME_PANE = 1;
const VOLUME_SHARE = 0.22; // of the chart's height
const LABEL_HALF_PX = 7; // half an axis label's height (12 px font)
const MAX_DIGITS = 12;

const state = { asset: 'bitcoin', range: '1W', interval: '1h', chart: null, candles: null, volume: null, digits: null, last: null, stop: null, following: null, request: 0 };

function fits(interval, range) {
  const seconds = RANGES.find(([name]) => name === range)[1];
  return seconds / INTERVAL_S[interval] + 1 <= MAX_CANDLES;
}

function buttons(panel) {
  const ranges = panel.querySelector('#chart-ranges');
  const intervals = panel.querySelector('#chart-intervals');
  ranges.replaceChildren(
    ...RANGES.map(([name]) =>
      el('button', { type: 'button', 'aria-pressed': String(name === state.range), dataset: { range: name } }, name),
    ),
  );
  intervals.replaceChildren(
    ...Object.keys(INTERVAL_S).map((name) =>
      el(
        'button',
        {
          type: 'button',
          'aria-pressed': String(name === state.interval),
          disabled: !fits(name, state.range),
          title: fits(name, state.range) ? null : `more than ${MAX_CANDLES} candles: pick a shorter range`,
          dataset: { interval: name },
        },
        name,
      ),
    ),
  );
}

function setRange(name) {
  state.range = name;
  if (!fits(state.interval, name)) state.interval = Object.keys(INTERVAL_S).find((i) => fits(i, name));
}

function ensureChart(panel) {
  if (state.chart) return;
  const box = panel.querySelector('#chart');
  state.chart = createChart(box, {
    autoSize: true,
    layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: '#334155' },
    grid: { vertLines: { color: '#e2e8f0' }, horzLines: { color: '#e2e8f0' } },
    // pinned to the first and last candle, so the labels at both ends are moved inside the
    // chart instead of being cut in half
    timeScale: { timeVisible: true, secondsVisible: false, fixLeftEdge: true, fixRightEdge: true },
    rightPriceScale: { scaleMargins: { top: 0.08, bottom: 0.06 } },
  });
  state.candles = state.chart.addSeries(CandlestickSeries, {
    upColor: UP, downColor: DOWN, wickUpColor: UP, wickDownColor: DOWN, borderVisible: false,
  });
  // volume in a pane of its own below the prices: its bars and its axis never mix with the
  // price axis
  state.volume = state.chart.addSeries(
    HistogramSeries,
    { priceFormat: { type: 'custom', formatter: fmt.compact, minMove: 1 }, lastValueVisible: false, priceLineVisible: false },
    VOLUME_PANE,
  );
  state.volume.priceScale().applyOptions({ scaleMargins: { top: 0.15, bottom: 0 } });
  state.chart.panes()[VOLUME_PANE].setStretchFactor(VOLUME_SHARE);
  state.chart.panes()[0].setStretchFactor(1 - VOLUME_SHARE);
  setDigits(2);
}

/** Whether a price tick's label fits in the price pane (the chart would draw it cut in half). */
function labelFits(value) {
  const y = state.candles.priceToCoordinate(value);
  const height = state.chart.panes()[0].getHeight();
  return y === null || (y >= LABEL_HALF_PX && y <= height - LABEL_HALF_PX);
}

/** Prices on the axis, the crosshair and the last-price label through the dashboard's formatter,
 * with the decimals a price of the asset's size has; ticks fall on whole steps of them. */
function setDigits(digits) {
  if (state.digits === digits) return;
  state.digits = digits;
  state.candles.applyOptions({
    priceFormat: {
      type: 'custom',
      minMove: 10 ** -digits,
      formatter: (value) => fmt.price(value, digits),
      tickmarksFormatter: (values) => fmt.priceTicks(values, digits).map((text, i) => (labelFits(values[i]) ? text : '')),
    },
  });
}

/** The decimals of the price axis: those of the last close (fmt.priceDigits), more when the
 * candles span too little for ticks at that precision (a stablecoin between $0.998 and $1.002). */
function axisDigits(candles) {
  const spread = Math.max(...candles.map((c) => c.high)) - Math.min(...candles.map((c) => c.low));
  const fine = spread > 0 ? Math.ceil(-Math.log10(spread / 10)) : 0;
  return Math.min(MAX_DIGITS, Math.max(fmt.priceDigits(candles[candles.length - 1].close), fine));
}

/** The chart (Lightweight Charts' API), for tests and the browser console; null before data. */
export function chart() {
  return state.chart;
}

function toSeconds(iso) {
  return Math.floor(Date.parse(iso) / 1000);
}

async function loadCandles(panel) {
  const ticket = ++state.request;
  const end = new Date();
  const seconds = RANGES.find(([name]) => name === state.range)[1];
  const start = new Date(end.getTime() - seconds * 1000);
  const query = new URLSearchParams({ interval: state.interval, start: start.toISOString(), end: end.toISOString() });
  const body = await getJson(`/api/crypto/history/${encodeURIComponent(state.asset)}?${query}`);
  if (ticket !== state.request) return; // a newer switch has already asked
  ensureChart(panel);
  // a partial rollup of a period that has closed is drawn grey (the current period is
  // partial until it closes, and is drawn as usual)
  const closed = (c) => c.partial && toSeconds(c.time) + INTERVAL_S[body.interval] <= Date.now() / 1000;
  const candles = body.candles.map((c) => ({
    time: toSeconds(c.time),
    open: c.open,
    high: c.high,
    low: c.low,
    close: c.close,
    ...(closed(c) ? { color: PARTIAL, wickColor: PARTIAL, borderColor: PARTIAL } : {}),
  }));
  const partial = body.candles.filter(closed).length;
  const volume = body.candles.map((c) => ({ time: toSeconds(c.time), value: c.volume ?? 0, color: c.close >= c.open ? `${UP}66` : `${DOWN}66` }));
  if (candles.length) setDigits(axisDigits(candles));
  state.candles.setData(candles);
  state.volume.setData(volume);
  state.last = candles.length ? { ...candles[candles.length - 1], volume: volume[volume.length - 1].value } : null;
  state.chart.timeScale().fitContent();
  const missing = body.missing.reduce((sum, gap) => sum + gap.candles, 0);
  const info = panel.querySelector('#chart-info');
  info.dataset.count = String(body.count);
  info.dataset.interval = body.interval;
  info.dataset.partial = String(partial);
  info.textContent =
    `${body.symbol} · ${fmt.integer(body.count)} ${body.interval} candles` +
    (body.backfilled ? ` · ${fmt.integer(body.backfilled)} fetched now` : '') +
    (partial ? ` · ${fmt.integer(partial)} partial (grey: rolled up from incomplete data)` : '') +
    (missing ? ` · ${fmt.integer(missing)} still missing (filled as budgets allow)` : '');
}

// What a quote's price and time rest on: a stablecoin conversion (marked when its rate was
// assumed, not measured) and a time that is only when we received it (the payload had none).
function quoteNotes(q, conversions) {
  const notes = [];
  if (q.converted_from) {
    const rate = conversions[q.converted_from];
    notes.push(rate && rate.assumed ? `from ${q.converted_from} (rate assumed)` : `from ${q.converted_from}`);
  }
  if (q.time_source === 'received') notes.push('time: received');
  return notes.join(' · ');
}

function conversionLines(conversions) {
  return Object.entries(conversions).map(([code, c]) =>
    el(
      'p',
      { class: c.assumed ? 'stale' : 'muted', dataset: { conversion: code, assumed: String(c.assumed) } },
      c.assumed
        ? `${code} assumed at ${fmt.number(c.rate, 4)} USD (no USD quote): band widened`
        : `${code} at ${fmt.number(c.rate, 4)} USD (measured: ${c.sources.join(', ')})`,
    ),
  );
}

function renderConsensus(aside, quote) {
  if (!quote) {
    aside.replaceChildren(el('p', {}, 'no consensus price yet'));
    return;
  }
  const band = quote.confidence;
  const conversions = quote.conversions || {};
  const rows = (quote.quotes || []).map((q) =>
    el(
      'tr',
      {},
      el('td', {}, q.provider),
      el('td', { class: 'num' }, fmt.price(q.price)),
      el('td', { title: q.time_source === 'received' ? 'the provider sent no time: this is when we received it' : null }, quoteNotes(q, conversions)),
    ),
  );
  const dropped = (quote.outliers || []).map((o) => el('li', {}, `${o.provider}: ${fmt.price(o.price)} (${o.reason})`));
  const parts = [
    el('h2', {}, `${quote.name || quote.symbol} (${quote.symbol})`),
    el('p', { class: 'big', id: 'consensus-price' }, fmt.price(quote.price)),
    el('p', {}, `band ${fmt.price(band.low)} – ${fmt.price(band.high)} · spread ${fmt.number(band.spread_bps)} bps`),
    el('p', {}, `${quote.sources.length} sources · `, freshness(quote.as_of, quote.stale)),
    rows.length ? el('table', { class: 'grid compact' }, el('tbody', {}, rows)) : null,
    ...conversionLines(conversions),
    dropped.length ? el('details', {}, el('summary', {}, `${dropped.length} outliers dropped`), el('ul', {}, dropped)) : null,
    el('p', { class: 'method' }, band.method),
  ];
  aside.replaceChildren(...parts.filter(Boolean));
  aside.dataset.asset = quote.asset_id;
}

function onPrice(panel, data) {
  if (!data) return;
  const big = panel.querySelector('#consensus-price');
  if (big) big.textContent = fmt.price(data.price);
  if (!state.last || !state.candles) return;
  const bucket = Math.floor(Date.parse(data.as_of) / 1000 / INTERVAL_S[state.interval]) * INTERVAL_S[state.interval];
  if (bucket < state.last.time) return;
  if (bucket === state.last.time) {
    state.last = { ...state.last, close: data.price, high: Math.max(state.last.high, data.price), low: Math.min(state.last.low, data.price) };
  } else {
    state.last = { time: bucket, open: data.price, high: data.price, low: data.price, close: data.price, volume: 0 };
  }
  const { volume, ...candle } = state.last;
  state.candles.update(candle);
}

function follow(ctx, panel, asset) {
  if (state.following === asset) return;
  if (state.stop) state.stop();
  state.following = asset;
  state.stop = ctx.live.subscribe(`prices:${asset}`, (data) => onPrice(panel, data));
}

function suggest(ctx, panel) {
  const list = panel.querySelector('#chart-assets');
  if (list.options.length || !ctx.shared.coins) return;
  list.replaceChildren(...ctx.shared.coins.map((c) => el('option', { value: c.asset_id }, `${c.symbol} ${c.name}`)));
}

async function refresh(ctx, panel) {
  buttons(panel);
  suggest(ctx, panel);
  try {
    const [quote] = await Promise.all([
      getJson(`/api/price/${encodeURIComponent(state.asset)}`),
      loadCandles(panel),
    ]);
    renderConsensus(panel.querySelector('#consensus'), quote);
    if (quote.asset_id !== state.asset) state.asset = quote.asset_id;
    follow(ctx, panel, state.asset);
    showError(panel, null);
  } catch (error) {
    showError(panel, error);
  }
}

export default {
  id: 'charts',
  init(ctx, panel) {
    const input = panel.querySelector('#chart-asset');
    input.value = state.asset;
    input.addEventListener('change', () => {
      const asset = input.value.trim();
      if (asset) window.location.hash = `charts/${encodeURIComponent(asset)}`;
    });
    panel.querySelector('#chart-ranges').addEventListener('click', (event) => {
      const name = event.target.dataset && event.target.dataset.range;
      if (!name) return;
      setRange(name);
      refresh(ctx, panel);
    });
    panel.querySelector('#chart-intervals').addEventListener('click', (event) => {
      const name = event.target.dataset && event.target.dataset.interval;
      if (!name || !fits(name, state.range)) return;
      state.interval = name;
      refresh(ctx, panel);
    });
  },
  route(ctx, panel, asset) {
    state.asset = asset.toLowerCase();
    panel.querySelector('#chart-asset').value = asset;
  },
  refresh,
  hide() {
    if (state.stop) state.stop();
    state.stop = null;
    state.following = null;
  },
};
