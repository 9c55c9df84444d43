// Sentiment: the Fear & Greed index, the last day's news sentiment, and a box to score text.

import { getJson, postJson } from '../api.js';
import { el, fillRows, freshness, sentimentPill, showError, td } from '../dom.js';
import * as fmt from '../format.js';

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

export default {
  id: 'sentiment',
  init(ctx, panel) {
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
  async refresh(ctx, panel) {
    try {
      const body = await getJson('/api/sentiment');
      renderFearGreed(panel.querySelector('#fear-greed'), body.fear_greed);
      renderNews(panel.querySelector('#news-sentiment'), body.news);
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
