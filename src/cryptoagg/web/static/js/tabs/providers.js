// Providers: state, breaker, latency, success rates, quota and last error of each provider,
// and the incidents the health checks opened; state changes arrive over `providers`.

import { getJson } from '../api.js';
import { el, fillRows, freshness, pill, showError, td } from '../dom.js';
import * as fmt from '../format.js';

const STATE_KIND = { ok: 'ok', degraded: 'warn', down: 'bad', disabled: 'muted' };
let stop = null;

function stateCell(p) {
  if (!p.enabled) return td(pill(`disabled${p.disabled_reason ? ': ' + p.disabled_reason : ''}`, 'muted'));
  return td(pill(p.state, STATE_KIND[p.state] || 'warn'));
}

function quota(q) {
  if (q.monthly === null || q.monthly === undefined) return td(`${q.used_this_month} used · no monthly cap`);
  return td([
    el('meter', { min: 0, max: q.monthly, value: q.used_this_month, high: q.monthly * 0.8, optimum: 0 }),
    ` ${q.used_this_month} / ${q.monthly} (${q.left} left)`,
  ]);
}

function row(p) {
  return el(
    'tr',
    { dataset: { provider: p.name, state: p.enabled ? p.state : 'disabled' } },
    td(el('strong', {}, p.name)),
    stateCell(p),
    td(p.breaker),
    td(`${fmt.number(p.latency_ms.p50, 0)} / ${fmt.number(p.latency_ms.p95, 0)}`, 'num'),
    td(`${fmt.ratio(p.success_rate_1h)} / ${fmt.ratio(p.success_rate_24h)}`, 'num'),
    quota(p.quota),
    td(p.last_error_at ? [el('span', { title: p.last_error || '' }, p.last_error_reason || 'error'), ' ', freshness(p.last_error_at, false, '')] : '–'),
  );
}

function onProviders(panel, data) {
  // pushed on change: state, breaker, enabled; the counters come with the next refresh
  for (const p of data || []) {
    const tr = panel.querySelector(`#providers-table tr[data-provider="${CSS.escape(p.name)}"]`);
    if (!tr) continue;
    tr.dataset.state = p.enabled ? p.state : 'disabled';
    tr.cells[1].replaceWith(stateCell(p));
    tr.cells[2].textContent = p.breaker;
  }
}

export default {
  id: 'providers',
  init() {},
  show(ctx, panel) {
    stop = ctx.live.subscribe('providers', (data) => onProviders(panel, data));
  },
  hide() {
    if (stop) stop();
    stop = null;
  },
  async refresh(ctx, panel) {
    try {
      const [providers, incidents] = await Promise.all([getJson('/api/providers'), getJson('/api/incidents?limit=50')]);
      fillRows(panel.querySelector('#providers-table'), providers.providers.map(row), 'no providers');
      fillRows(
        panel.querySelector('#incidents-table'),
        incidents.incidents.map((i) =>
          el('tr', {}, td(i.provider), td(pill(i.status, i.status === 'open' ? 'bad' : 'ok')), td(fmt.time(i.opened_at)),
            td(i.resolved_at ? fmt.time(i.resolved_at) : '–'), td(i.reason), td(String(i.failed_checks), 'num')),
        ),
        'no incidents',
      );
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
