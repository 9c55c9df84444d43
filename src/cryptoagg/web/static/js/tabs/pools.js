// Pools: each capability's providers in order, the strategy and the current member; the
// rotation history of a pool (the first that has rotated, until another is picked); Rotate
// (admin token required) moves a pool to its next member.

import { getJson, postJson } from '../api.js';
import { el, fillRows, showError, td } from '../dom.js';
import * as fmt from '../format.js';

let selected = null;

/** "coingecko, binance, kraken" with the current member in bold. */
function members(pool) {
  const names = pool.members.flatMap((m, i) => [i ? ', ' : null, m === pool.current ? el('strong', { class: 'current', title: 'current' }, m) : m]);
  return td(names, 'members');
}

function markSelected(panel) {
  for (const tr of panel.querySelectorAll('#pools-table tr[data-pool]')) {
    tr.classList.toggle('selected', tr.dataset.pool === selected);
  }
}

async function showRotations(panel, poolId) {
  selected = poolId;
  markSelected(panel);
  const body = await getJson(`/api/pools/${encodeURIComponent(poolId)}/rotations`);
  if (selected !== poolId) return; // another pool was picked meanwhile
  panel.querySelector('#rotations-title').textContent = `Rotations of ${poolId}`;
  fillRows(
    panel.querySelector('#rotations-table'),
    body.rotations.map((r) => el('tr', {}, td(fmt.time(r.at)), td(r.pool), td(r.from || '–'), td(r.to || '–'), td(r.reason))),
    'no rotations yet',
  );
}

async function rotate(ctx, panel, poolId) {
  const token = panel.querySelector('#admin-token').value.trim();
  try {
    await postJson(`/api/pools/${encodeURIComponent(poolId)}/rotate`, {}, token || null);
    selected = poolId;
    await refresh(ctx, panel);
    showError(panel, null);
  } catch (error) {
    showError(panel, error);
  }
}

function poolLink(panel, pool) {
  const pick = (event) => {
    event.preventDefault();
    showRotations(panel, pool.id).catch((error) => showError(panel, error));
  };
  return el('a', { href: '#pools', title: 'show its rotations', onclick: pick }, pool.id);
}

async function refresh(ctx, panel) {
  try {
    const body = await getJson('/api/pools');
    fillRows(
      panel.querySelector('#pools-table'),
      body.pools.map((p) =>
        el(
          'tr',
          { dataset: { pool: p.id } },
          td(poolLink(panel, p)),
          td(p.strategy),
          members(p),
          td(String(p.rotations), 'num'),
          td(el('button', { type: 'button', onclick: () => rotate(ctx, panel, p.id) }, 'Rotate')),
        ),
      ),
      'no pools',
    );
    if (!body.pools.some((p) => p.id === selected)) {
      // until one is picked: the first pool that has rotated, else the first
      const first = body.pools.find((p) => p.rotations > 0) || body.pools[0];
      selected = first ? first.id : null;
    }
    if (selected) await showRotations(panel, selected);
    showError(panel, null);
  } catch (error) {
    showError(panel, error);
  }
}

export default { id: 'pools', init() {}, refresh };
