// News items and news sentiment as the News and Sentiment tabs both show them: an item (title,
// label and score, outlet, age, its assets as chips, the other outlets that carried it) and an
// asset's figures over the API's windows (mean score, items, counts per label).

import { name, ticker } from './assets.js';
import { el, freshness, link, sentimentPill } from './dom.js';
import * as fmt from './format.js';

/** The windows of /api/news/sentiment, shortest first. */
export const WINDOWS = ['24h', '7d'];
// label -> the class its count is written in, in the order the counts are shown
const LABELS = [
  ['positive', 'up'],
  ['neutral', 'muted'],
  ['negative', 'down'],
];
const NO_NEWS = { items: 0, scored: 0, labels: {}, mean_score: null };

/** An asset's figures in one window; an asset without news in it has no entry for it. */
export function windowOf(block, key) {
  return block[key] || NO_NEWS;
}

/** A chip per asset the item is about: its ticker, linking to the News tab filtered by it. */
export function assetChips(ids) {
  return (ids || []).map((id) =>
    el('a', { class: 'chip', href: `#news/${encodeURIComponent(id)}`, dataset: { asset: id }, title: `news about ${name(id)}` }, ticker(id)),
  );
}

/** "also in: CoinDesk, Decrypt": the outlets that carried the story besides the item's own,
 * each linking to its copy; null when no other carried it. */
export function alsoIn(item) {
  const seen = new Set();
  const others = [];
  for (const copy of item.sources || []) {
    if (copy.matched_by === 'first') continue;
    // the same outlet through another feed (CoinDesk's RSS and CryptoPanic) says which feed
    const label = copy.source === item.source ? `${copy.source} via ${copy.provider}` : copy.source;
    if (seen.has(label)) continue;
    seen.add(label);
    others.push(link(copy.url, label));
  }
  if (!others.length) return null;
  return el('span', { class: 'also' }, 'also in: ', others.map((a, i) => [i ? ', ' : null, a]));
}

function sentiment(item) {
  const label = item.sentiment_label;
  if (!label) return null;
  const score = item.sentiment_score;
  const pill = sentimentPill(label, score === null || score === undefined ? label : `${label} ${fmt.signed(score)}`);
  const terms = (item.sentiment_terms || []).slice(0, 3);
  // what moved the score, on hover (the strongest three)
  if (terms.length) pill.title = `moved by ${terms.map((t) => `“${t.text}”`).join(', ')}`;
  return pill;
}

/** A stored item as a list entry (`data-url` its link). Items pushed over /ws carry no
 * sentiment or outlets yet: those parts are left out. */
export function newsItem(item) {
  const chips = assetChips(item.assets);
  const also = alsoIn(item);
  return el(
    'li',
    { dataset: { url: item.url } },
    el('div', {}, link(item.url, item.title)),
    el('div', { class: 'muted meta' },
      sentiment(item), ' ',
      `${item.source} · `, freshness(item.published_at, false, ''),
      chips.length ? [' · ', el('span', { class: 'chips' }, chips)] : null,
      also ? [' · ', also] : null),
    item.summary ? el('p', {}, item.summary) : null,
  );
}

/** Counts per label, "2 / 1 / 1" (positive / neutral / negative), with a small bar of their
 * shares after them. */
export function labelCounts(labels) {
  const counts = LABELS.map(([label]) => (labels && labels[label]) || 0);
  const numbers = LABELS.map(([label, cls], i) => [i ? ' / ' : null, el('span', { class: counts[i] ? cls : 'muted', title: label }, fmt.integer(counts[i]))]);
  let bar = null;
  if (counts.some((n) => n > 0)) {
    bar = el('span', { class: 'labelbar', 'aria-hidden': 'true' });
    LABELS.forEach(([label], i) => {
      const part = el('span', { class: `part part-${label}` });
      part.style.flexGrow = String(counts[i]);
      bar.append(part);
    });
  }
  const title = LABELS.map(([label], i) => `${fmt.integer(counts[i])} ${label}`).join(', ');
  return el('span', { class: 'labels', title }, numbers, bar);
}

/** A mean score, signed and coloured (up above zero, down below). */
export function meanScore(value) {
  return el('span', { class: `score ${fmt.signClass(value)}` }, fmt.signed(value));
}

/** An asset's name and ticker. */
export function assetTitle(block) {
  return [el('strong', {}, block.name || block.asset_id), ' ', el('span', { class: 'symbol' }, block.symbol || '')];
}

/** An asset's figures in every window: "24h +0.165 mean · 4 items · 2 / 1 / 1". */
export function windowFigures(block) {
  return WINDOWS.map((key) => {
    const w = windowOf(block, key);
    return el('span', { class: 'window', dataset: { window: key } },
      el('strong', {}, key), ' ', meanScore(w.mean_score), ' mean · ',
      `${fmt.integer(w.items)} items · `, labelCounts(w.labels));
  });
}
