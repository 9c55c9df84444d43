// Building DOM from data. Text always goes in as text (never as HTML), links only if http(s).

import { age } from './format.js';

/** An element with `attrs` and `children`: nodes, text (strings, numbers) or arrays of them,
 * nested to any depth; null, undefined and false are left out. Anything else is a bug (it would
 * read "[object Object]"), so it throws. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    if (child instanceof Node) node.append(child);
    else if (typeof child === 'string' || typeof child === 'number') node.append(String(child));
    else throw new TypeError(`el(${tag}): a child that is not text or a node: ${Object.prototype.toString.call(child)}`);
  }
  return node;
}

export function safeUrl(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

export function link(url, text) {
  const href = safeUrl(url);
  return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }, text) : el('span', {}, text);
}

/** Replace a table body's rows; `empty` is shown in one cell when there are none. */
export function fillRows(table, rows, empty = 'nothing to show') {
  const body = table.tBodies[0];
  if (rows.length === 0) {
    const columns = table.tHead ? table.tHead.rows[0].cells.length : 1;
    body.replaceChildren(el('tr', { class: 'empty' }, el('td', { colspan: columns }, empty)));
  } else {
    body.replaceChildren(...rows);
  }
  labelCells(table);
}

/**
 * Each body cell gets its column's name in `data-label` (the header's `data-label`, else its
 * text) and, under a header marked `data-more`, `data-more`: on a narrow screen app.css keeps
 * the other columns on the row's first line and moves these to a second, each under its label.
 */
export function labelCells(table) {
  if (!table.tHead) return;
  const heads = [...table.tHead.rows[0].cells];
  for (const tr of table.tBodies[0].rows) {
    if (tr.cells.length !== heads.length) continue;
    [...tr.cells].forEach((cell, i) => {
      cell.dataset.label = heads[i].dataset.label ?? heads[i].textContent.trim();
      if ('more' in heads[i].dataset) cell.dataset.more = '';
    });
  }
}

export function td(content, cls) {
  return el('td', cls ? { class: cls } : {}, content);
}

export function pill(text, kind) {
  return el('span', { class: `pill pill-${kind}` }, text);
}

const SENTIMENT_KIND = { positive: 'ok', neutral: 'muted', negative: 'bad' };

/** A sentiment label's pill, coloured by the label; `text` defaults to the label. */
export function sentimentPill(label, text = label) {
  return pill(text, SENTIMENT_KIND[label] || 'muted');
}

/** A panel's error line: shown with the API's message, hidden again on success. */
export function showError(panel, error) {
  const box = panel.querySelector('.error');
  if (!box) return;
  if (error) {
    box.textContent = error.message || String(error);
    box.hidden = false;
  } else {
    box.hidden = true;
    box.textContent = '';
  }
}

/** "as of" text kept current by main.js's ticker (every `[data-as-of]` element). */
export function freshness(asOf, stale = false, prefix = 'as of') {
  const node = el('span', { class: stale ? 'age stale' : 'age', title: asOf || '' });
  setFreshness(node, asOf, stale, prefix);
  return node;
}

export function setFreshness(node, asOf, stale = false, prefix = 'as of') {
  node.dataset.asOf = asOf || '';
  node.dataset.prefix = prefix;
  node.classList.toggle('stale', Boolean(stale));
  node.title = asOf || '';
  renderAge(node);
}

export function renderAge(node, now = Date.now()) {
  const { asOf, prefix } = node.dataset;
  const stale = node.classList.contains('stale') ? ' · stale' : '';
  node.textContent = `${prefix ? prefix + ' ' : ''}${age(asOf, now)}${stale}`;
}
