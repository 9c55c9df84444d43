// News: stored headlines with their sentiment, newest first; new ones arrive over `news`.

import { getJson } from '../api.js';
import { el, freshness, link, sentimentPill, showError } from '../dom.js';
import * as fmt from '../format.js';

const LIMIT = 50;

let symbol = ''; // what was typed
let ticker = ''; // the ticker /api/news filtered by (an asset id becomes its ticker)
let stop = null;

function item(n) {
  return el(
    'li',
    { dataset: { url: n.url } },
    el('div', {}, link(n.url, n.title)),
    el('div', { class: 'muted' },
      n.sentiment_label ? [sentimentPill(n.sentiment_label), ' '] : null,
      `${n.source} · `, freshness(n.published_at, false, ''),
      n.currencies && n.currencies.length ? ` · ${n.currencies.join(', ')}` : ''),
    n.summary ? el('p', {}, n.summary) : null,
  );
}

function onNews(panel, data, frame) {
  // the snapshot repeats what /api/news gave; updates carry headlines stored since
  if (frame.type !== 'update' || !data) return;
  const list = panel.querySelector('#news-list');
  const known = new Set([...list.children].map((li) => li.dataset.url));
  const fresh = data.items.filter((n) => !known.has(n.url) && (!ticker || (n.currencies || []).includes(ticker)));
  list.prepend(...fresh.map(item));
  while (list.children.length > LIMIT) list.lastElementChild.remove();
}

export default {
  id: 'news',
  init(ctx, panel) {
    const input = panel.querySelector('#news-symbol');
    input.addEventListener('change', () => {
      symbol = input.value.trim().toUpperCase();
      this.refresh(ctx, panel);
    });
  },
  show(ctx, panel) {
    stop = ctx.live.subscribe('news', (data, frame) => onNews(panel, data, frame));
  },
  hide() {
    if (stop) stop();
    stop = null;
  },
  async refresh(ctx, panel) {
    try {
      const query = new URLSearchParams({ limit: String(LIMIT) });
      if (symbol) query.set('symbol', symbol);
      const body = await getJson(`/api/news?${query}`);
      ticker = body.symbol || '';
      const tagged = ticker ? ` tagged ${ticker}` : '';
      const list = panel.querySelector('#news-list');
      list.replaceChildren(...body.news.map(item));
      panel.querySelector('#news-fresh').textContent = `${fmt.integer(body.count)} headlines${tagged} · sentiment by ${body.sentiment_model}`;
      if (ticker && !body.asset_id) {
        // /api/news filters by any ticker; for one that names no single asset (unknown, or
        // shared by several) /api/resolve answers why, in the API's words
        try {
          await getJson(`/api/resolve?${new URLSearchParams({ q: ticker })}`);
        } catch (error) {
          if (!body.news.length) list.append(el('li', { class: 'empty' }, `no news${tagged}`));
          throw error;
        }
      }
      if (!body.news.length) list.append(el('li', { class: 'empty' }, `no stored news${tagged} yet`));
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
