// News: stored headlines, newest first, each with its sentiment, the assets it is about (chips
// that filter the tab) and the other outlets that carried it. A filter (a typed symbol, a chip,
// `#news/<asset>`) is resolved through /api/resolve, so an unknown or ambiguous symbol is
// reported in the API's words; filtered, the tab shows the asset's news sentiment over 24 h
// and 7 days on top. Live: new headlines arrive over `news`, or `news:<asset>` when filtered
// (the server picks an asset's items by the same links /api/news filters by).

import { getJson } from '../api.js';
import { describe, learn } from '../assets.js';
import { el, showError } from '../dom.js';
import * as fmt from '../format.js';
import { assetTitle, newsItem, windowFigures } from '../newsview.js';

const LIMIT = 50;

const state = {
  query: '', // what the filter asks for: a typed symbol, or an asset id from a chip
  asset: null, // what `query` resolved to ({ id, symbol, name }), null unfiltered
  resolved: null, // the query `asset` was resolved for
  topic: null, // the live topic followed
  stop: null, // stops following it
  run: 0, // the latest refresh: an older one's answers are dropped
  ctx: null,
};

function about() {
  return state.asset ? ` about ${state.asset.symbol.toUpperCase()}` : '';
}

/** The asset `state.query` names (cached while the query stays the same); throws the API's
 * error for a symbol that names no asset or several. */
async function resolve() {
  if (!state.query) {
    state.asset = null;
    return;
  }
  if (state.resolved === state.query) return;
  state.asset = null;
  const body = await getJson(`/api/resolve?${new URLSearchParams({ q: state.query })}`);
  state.asset = body.asset;
  state.resolved = state.query;
  learn([body.asset]);
}

function follow(ctx, panel, topic) {
  if (state.topic === topic && state.stop) return;
  if (state.stop) state.stop();
  state.topic = topic;
  state.stop = topic ? ctx.live.subscribe(topic, (data, frame) => onNews(panel, topic, data, frame)) : null;
}

async function onNews(panel, topic, data, frame) {
  // the snapshot repeats what /api/news gave; updates carry the headlines stored since
  if (frame.type !== 'update' || !data || topic !== state.topic) return;
  const list = panel.querySelector('#news-list');
  const known = new Set([...list.children].map((li) => li.dataset.url));
  const fresh = data.items.filter((n) => !known.has(n.url));
  if (!fresh.length) return;
  await describe(fresh.flatMap((n) => n.assets || []));
  if (topic !== state.topic) return;
  for (const empty of list.querySelectorAll('li.empty')) empty.remove();
  list.prepend(...fresh.map(newsItem));
  while (list.children.length > LIMIT) list.lastElementChild.remove();
  // the asset's figures now count these items too
  if (state.asset) renderAsset(panel, await sentimentOf(state.asset.id).catch(() => null));
}

async function sentimentOf(assetId) {
  const body = await getJson(`/api/news/sentiment?${new URLSearchParams({ symbol: assetId })}`);
  return body.assets[0];
}

/** The filtered asset's line on top: its name, its figures per window, a way back to all. */
function renderAsset(panel, block) {
  const box = panel.querySelector('#news-asset');
  box.hidden = !block;
  if (!block) return;
  const all = el('button', { type: 'button', id: 'news-all', onclick: () => clear(panel) }, 'all news');
  box.replaceChildren(el('span', { class: 'who' }, assetTitle(block), el('span', { class: 'muted' }, ' news sentiment')), ...windowFigures(block), all);
}

/** An unknown or ambiguous symbol: no items, and for an ambiguous one a chip per candidate. */
function renderRefused(panel, error) {
  const candidates = (error.details && error.details.candidates) || [];
  const list = panel.querySelector('#news-list');
  list.replaceChildren(el('li', { class: 'empty' }, `no news about ${state.query}`));
  // by id: the candidates share the ticker that was asked for
  const pick = candidates.map((id) => el('a', { class: 'chip', href: `#news/${encodeURIComponent(id)}` }, id));
  if (pick.length) list.append(el('li', { class: 'empty' }, 'one of: ', pick));
  panel.querySelector('#news-fresh').textContent = '';
  renderAsset(panel, null);
}

function clear(panel) {
  state.query = '';
  panel.querySelector('#news-symbol').value = '';
  history.pushState(null, '', '#news');
  refresh(state.ctx, panel);
}

async function refresh(ctx, panel) {
  const run = ++state.run;
  try {
    try {
      await resolve();
    } catch (error) {
      if (run !== state.run) return;
      follow(ctx, panel, null);
      renderRefused(panel, error);
      throw error;
    }
    const id = state.asset ? state.asset.id : null;
    const query = new URLSearchParams({ limit: String(LIMIT) });
    if (id) query.set('symbol', id);
    const [body, block] = await Promise.all([getJson(`/api/news?${query}`), id ? sentimentOf(id) : null]);
    await describe(body.news.flatMap((n) => n.assets));
    if (run !== state.run) return;
    const list = panel.querySelector('#news-list');
    list.replaceChildren(...body.news.map(newsItem));
    if (!body.news.length) list.append(el('li', { class: 'empty' }, `no stored news${about()} yet`));
    if (state.asset) panel.querySelector('#news-symbol').value = state.asset.symbol.toUpperCase();
    renderAsset(panel, block);
    // the model's name never breaks at its hyphens
    const model = body.sentiment_model ? [' · sentiment by ', el('span', { class: 'nowrap' }, body.sentiment_model)] : [];
    panel.querySelector('#news-fresh').replaceChildren(`${fmt.integer(body.count)} headlines${about()}`, ...model);
    follow(ctx, panel, id ? `news:${id}` : 'news');
    showError(panel, null);
  } catch (error) {
    if (run === state.run) showError(panel, error);
  }
}

export default {
  id: 'news',
  init(ctx, panel) {
    state.ctx = ctx;
    const input = panel.querySelector('#news-symbol');
    input.addEventListener('change', () => {
      const symbol = input.value.trim().toUpperCase();
      if (symbol) window.location.hash = `news/${encodeURIComponent(symbol)}`;
      else clear(panel);
    });
  },
  route(ctx, panel, asset) {
    state.query = asset.trim();
    panel.querySelector('#news-symbol').value = state.query;
  },
  show(ctx, panel) {
    // back on the tab: follow again what was followed (the first refresh picks the topic)
    if (state.topic) follow(ctx, panel, state.topic);
  },
  hide() {
    if (state.stop) state.stop();
    state.stop = null;
  },
  refresh,
};
