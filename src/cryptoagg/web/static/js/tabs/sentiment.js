// Sentiment: the Fear & Greed index, the last day's news sentiment, news sentiment per asset
// (click an asset, or type a symbol, for the items behind its figures: `#sentiment/<asset>`),
// and a box to score text.

import { getJson, postJson } from '../api.js';
import { describe, learn } from '../assets.js';
import { el, fillRows, freshness, sentimentPill, showError, td } from '../dom.js';
import * as fmt from '../format.js';
import { assetChips, assetTitle, labelCounts, meanScore, newsItem, windowFigures, windowOf } from '../newsview.js';

let selected = ''; // the asset whose items are shown: a typed symbol or an asset id

function gauge(value) {
  const meter = el('meter', { min: 0, max: 100, low: 25, high: 75, optimum: 50, value, id: 'fng-meter' });
  return el('div', { class: 'gauge' }, el('span', { class: 'muted' }, 'extreme fear'), meter, el('span', { class: 'muted' }, 'extreme greed'));
}

function renderFearGreed(box, fng) {
  if (!fng) {
    box.replaceChildren(el('h2', {}, 'Fear & Greed'), el('p', {}, 'not available'));
    return;
  }
  box.replaceChildren(
    el('h2', {}, 'Fear & Greed'),
    el('p', { class: 'big' }, el('span', { id: 'fng-value' }, String(fng.value)), ' ', el('span', { id: 'fng-class' }, fng.classification)),
    gauge(fng.value),
    el('p', {}, `from ${fng.sources.join(', ')} · `, freshness(fng.as_of, fng.stale)),
  );
}

function renderNews(box, news) {
  const labels = Object.entries(news.labels || {});
  box.replaceChildren(
    el('h2', {}, `News, last ${news.window_h} h`),
    el('p', { class: 'big' }, news.mean_score === null ? '–' : fmt.number(news.mean_score, 3), el('span', { class: 'muted unit' }, ' mean score (−1 … 1)')),
    el('p', {}, `${fmt.integer(news.scored)} of ${fmt.integer(news.items)} headlines scored by ${news.model}`),
    el('p', {}, labels.map(([label, count]) => [sentimentPill(label, `${label} ${fmt.integer(count)}`), ' '])),
  );
}

function assetRow(block) {
  const day = windowOf(block, '24h');
  const week = windowOf(block, '7d');
  const open = el('a', { href: `#sentiment/${encodeURIComponent(block.asset_id)}`, title: 'the items behind the figures' }, block.name || block.asset_id);
  return el(
    'tr',
    { dataset: { asset: block.asset_id } },
    td([open, ' ', el('span', { class: 'symbol' }, block.symbol || '')], 'asset'),
    td(`${fmt.integer(day.items)} / ${fmt.integer(week.items)}`, 'num items'),
    td(labelCounts(day.labels), 'labels-24h'),
    td(labelCounts(week.labels), 'labels-7d'),
    td(meanScore(day.mean_score), 'num mean-24h'),
    td(meanScore(week.mean_score), 'num mean-7d'),
  );
}

function markSelected(panel, assetId) {
  for (const tr of panel.querySelectorAll('#asset-sentiment tr[data-asset]')) {
    tr.classList.toggle('selected', tr.dataset.asset === assetId);
  }
}

/** The selected asset's figures and the items behind them (or, with none selected, a hint);
 * an unknown or ambiguous symbol is said in the API's words, with a link per candidate. */
async function renderSelected(panel) {
  const box = panel.querySelector('#asset-news');
  const asked = selected;
  if (!asked) {
    markSelected(panel, null);
    box.replaceChildren(el('p', { class: 'muted hint' }, 'Click an asset, or type a symbol, to see the items behind its figures.'));
    return;
  }
  let block;
  try {
    const body = await getJson(`/api/news/sentiment?${new URLSearchParams({ symbol: asked })}`);
    block = body.assets[0];
    learn([block]);
    await describe(block.news.flatMap((n) => n.assets));
  } catch (error) {
    if (asked !== selected) return;
    const candidates = (error.details && error.details.candidates) || [];
    const links = candidates.map((id, i) => [i ? ', ' : null, el('a', { href: `#sentiment/${encodeURIComponent(id)}` }, id)]);
    markSelected(panel, null);
    box.replaceChildren(el('p', { class: 'refused' }, error.message));
    if (candidates.length) box.append(el('p', {}, 'one of: ', links));
    return;
  }
  if (asked !== selected) return;
  markSelected(panel, block.asset_id);
  panel.querySelector('#sentiment-symbol').value = block.symbol || '';
  const items = block.news.length ? el('ul', { class: 'news', id: 'asset-news-list' }, block.news.map(newsItem)) : el('p', { class: 'muted' }, 'no news about it in the last 7 days');
  box.replaceChildren(
    el('h2', {}, assetTitle(block), el('span', { class: 'muted' }, ' · the items behind the figures')),
    el('p', { class: 'asset-line' }, windowFigures(block), el('span', { class: 'muted' }, 'news: ', assetChips([block.asset_id]))),
    items,
  );
}

export default {
  id: 'sentiment',
  init(ctx, panel) {
    const input = panel.querySelector('#sentiment-symbol');
    input.addEventListener('change', () => {
      const symbol = input.value.trim().toUpperCase();
      if (symbol) {
        window.location.hash = `sentiment/${encodeURIComponent(symbol)}`;
      } else {
        selected = '';
        history.pushState(null, '', '#sentiment');
        renderSelected(panel);
      }
    });
    const form = panel.querySelector('#score-form');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const texts = form.querySelector('textarea').value.split('\n').map((t) => t.trim()).filter(Boolean);
      if (!texts.length) return;
      try {
        const body = await postJson('/api/hf/run-sentiment', { texts });
        fillRows(
          form.querySelector('#score-results'),
          body.results.map((r, i) => el('tr', {}, td(texts[i]), td(sentimentPill(r.label)), td(fmt.number(r.score, 3), 'num'))),
        );
        showError(panel, null);
      } catch (error) {
        showError(panel, error);
      }
    });
  },
  route(ctx, panel, asset) {
    selected = asset.trim();
    panel.querySelector('#sentiment-symbol').value = selected;
  },
  async refresh(ctx, panel) {
    // apart: Fear & Greed may be unavailable while the stored news can still be counted
    const [market, perAsset] = await Promise.allSettled([getJson('/api/sentiment'), getJson('/api/news/sentiment')]);
    if (market.status === 'fulfilled') {
      renderFearGreed(panel.querySelector('#fear-greed'), market.value.fear_greed);
      renderNews(panel.querySelector('#news-sentiment'), market.value.news);
    }
    if (perAsset.status === 'fulfilled') {
      learn(perAsset.value.assets);
      fillRows(panel.querySelector('#asset-sentiment'), perAsset.value.assets.map(assetRow), 'no news about any asset in the last 7 days');
    }
    const failed = [market, perAsset].find((r) => r.status === 'rejected');
    showError(panel, failed ? failed.reason : null);
    await renderSelected(panel);
  },
};
