// Providers: state, breaker, latency, success rates, this month's quota and plan (calls used,
// projected month-end use, quota and target, the reserve kept for client requests), each
// background job's current interval, and the incidents the health checks opened; state
// changes arrive over `providers`.

import { getJson } from '../api.js';
import { el, fillRows, freshness, labelCells, pill, showError, td } from '../dom.js';
import * as fmt from '../format.js';

const STATE_KIND = {
  ok: 'ok',
  unknown: 'muted',
  failing: 'bad',
  outlier: 'warn',
  open: 'bad',
  half_open: 'warn',
  quota_exhausted: 'bad',
  disabled: 'muted',
};
const STATE_TEXT = { half_open: 'half-open', quota_exhausted: 'quota exhausted' };
const STATE_TITLE = {
  quota_exhausted: 'The monthly quota is used up: no calls until the month turns (UTC)',
  outlier: 'Answers, but its prices disagree with the consensus of the others: they are left out',
};
// collectors first, then the probes; a job not listed here goes last
const JOB_ORDER = ['prices', 'candles', 'news', 'health', 'discovery'];
let stop = null;

function stateCell(p) {
  if (!p.enabled) return td(pill(`disabled${p.disabled_reason ? ': ' + p.disabled_reason : ''}`, 'muted'));
  const badge = pill(STATE_TEXT[p.state] || p.state, STATE_KIND[p.state] || 'warn');
  if (STATE_TITLE[p.state]) badge.title = STATE_TITLE[p.state];
  return td(badge);
}

function quota(q) {
  const capped = q.monthly !== null && q.monthly !== undefined;
  const over = capped && q.target !== null && q.projected_month_end > q.target;
  const lines = capped
    ? [
        el('div', { class: q.exhausted ? 'down' : null },
          // green below the target, yellow past it, red once used up
          el('meter', { min: 0, max: q.monthly, value: q.used_this_month, low: q.target ?? q.monthly, high: q.monthly - 0.5, optimum: 0 }),
          ` ${fmt.integer(q.used_this_month)} used of ${fmt.integer(q.monthly)} (${fmt.integer(q.left)} left)`),
        el('div', { class: over ? 'stale' : null },
          `projected ${fmt.integer(q.projected_month_end)} by month end · target ${fmt.integer(q.target)}`),
        el('div', { class: 'muted' },
          `client reserve ${fmt.integer(q.client_reserve)} · clients used ${fmt.integer(q.used_by_clients)}`),
      ]
    : [
        el('div', {}, `${fmt.integer(q.used_this_month)} used · no monthly cap`),
        el('div', { class: 'muted' }, `projected ${fmt.integer(q.projected_month_end)} by month end`),
      ];
  return td(lines, 'quota');
}

function job(j) {
  if (j.interval_s === null || j.interval_s === undefined) {
    return el('span', { class: 'job paused', title: 'nothing left of the allowance this month' }, `${j.job} paused`);
  }
  const base = Math.abs(j.interval_s - j.base_interval_s) < 0.05;
  const text = base
    ? `${j.job} every ${fmt.duration(j.interval_s)}`
    : `${j.job} every ${fmt.duration(j.interval_s)} (base ${fmt.duration(j.base_interval_s)})`;
  const calls = `${j.calls_per_run} call${j.calls_per_run === 1 ? '' : 's'} per run`;
  return el('span', { class: base ? 'job' : 'job slowed', title: calls }, text);
}

function schedule(p, columns) {
  const rank = (j) => (JOB_ORDER.includes(j.job) ? JOB_ORDER.indexOf(j.job) : JOB_ORDER.length);
  const ordered = [...p.schedule].sort((a, b) => rank(a) - rank(b));
  const jobs = ordered.flatMap((j, i) => (i === 0 ? [job(j)] : [' · ', job(j)]));
  return el(
    'tr',
    { class: 'plan', dataset: { planFor: p.name } },
    el('td', { colspan: columns }, el('span', { class: 'plan-label' }, 'schedule'), ' ', jobs),
  );
}

function rows(p, columns) {
  const main = el(
    'tr',
    { class: p.schedule.length ? 'has-plan' : null, dataset: { provider: p.name, state: p.enabled ? p.state : 'disabled' } },
    td(el('strong', {}, p.name)),
    stateCell(p),
    td(p.breaker),
    td(`${fmt.number(p.latency_ms.p50, 0)} / ${fmt.number(p.latency_ms.p95, 0)}`, 'num'),
    td(`${fmt.ratio(p.success_rate_1h)} / ${fmt.ratio(p.success_rate_24h)}`, 'num'),
    quota(p.quota),
    td(p.last_error_at ? [el('span', { title: p.last_error || '' }, p.last_error_reason || 'error'), ' ', freshness(p.last_error_at, false, '')] : '–'),
  );
  return p.schedule.length ? [main, schedule(p, columns)] : [main];
}

function onProviders(panel, data) {
  // pushed on change: state, breaker, enabled; the counters come with the next refresh
  const table = panel.querySelector('#providers-table');
  for (const p of data || []) {
    const tr = table.querySelector(`tr[data-provider="${CSS.escape(p.name)}"]`);
    if (!tr) continue;
    tr.dataset.state = p.enabled ? p.state : 'disabled';
    tr.cells[1].replaceWith(stateCell(p));
    tr.cells[2].textContent = p.breaker;
  }
  labelCells(table);
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
      const table = panel.querySelector('#providers-table');
      const columns = table.tHead.rows[0].cells.length;
      fillRows(table, providers.providers.flatMap((p) => rows(p, columns)), 'no providers');
      const incidentsTable = panel.querySelector('#incidents-table');
      fillRows(
        incidentsTable,
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
