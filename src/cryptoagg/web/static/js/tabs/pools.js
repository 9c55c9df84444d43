// Pools: each capability's providers in order, the strategy and the current member; the
// rotation history of a pool; Rotate (admin token required) moves a pool to its next member.

import { getJson, postJson } from '../api.js';
import { el, fillRows, showError, td } from '../dom.js';
import * as fmt from '../format.js';

let selected = null;

function members(pool) {
  return td(pool.members.map((m, i) => [i ? ', ' : '', m === pool.current ? el('strong', {}, m) : m]));
}

async function showRotations(panel, poolId) {
  selected = poolId;
  const body = await getJson(`/api/pools/${encodeURIComponent(poolId)}/rotations`);
  panel.querySelector('#rotations-title').textContent = `Rotations of ${poolId}`;
  fillRows(
    panel.querySelector('#rotations-table'),
    [...body.rotations].reverse().map((r) => el('tr', {}, td(fmt.time(r.at)), td(r.pool), td(r.from || '–'), td(r.to || '–'), td(r.reason))),
    'no rotations yet',
  );
}

async function rotate(ctx, panel, poolId) {
  const token = panel.querySelector('#admin-token').value.trim();
  try {
    await postJson(`/api/pools/${encodeURIComponent(poolId)}/rotate`, {}, token || null);
    await refresh(ctx, panel);
    await showRotations(panel, poolId);
    showError(panel, null);
  } catch (error) {
    showError(panel, error);
  }
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
          td(el('a', { href: '#pools', onclick: (e) => { e.preventDefault(); showRotations(panel, p.id).catch((err) => showError(panel, err)); } }, p.id)),
          td(p.strategy),
          members(p),
          td(String(p.rotations), 'num'),
          td(el('button', { type: 'button', onclick: () => rotate(ctx, panel, p.id) }, 'Rotate')),
        ),
      ),
      'no pools',
    );
    if (selected) await showRotations(panel, selected);
    showError(panel, null);
  } catch (error) {
    showError(panel, error);
  }
}

export default { id: 'pools', init() {}, refresh };
