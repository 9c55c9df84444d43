// Logs: failed health checks, each provider's last error, and the alerts incidents raised.

import { getJson } from '../api.js';
import { el, fillRows, showError, td } from '../dom.js';
import * as fmt from '../format.js';

export default {
  id: 'logs',
  init() {},
  async refresh(ctx, panel) {
    try {
      const [errors, alerts] = await Promise.all([getJson('/api/logs/errors?limit=100'), getJson('/api/alerts?limit=100')]);
      fillRows(
        panel.querySelector('#errors-table'),
        errors.errors.map((e) => el('tr', {}, td(fmt.time(e.at)), td(e.provider), td(e.state), td(e.reason || '–'), td(fmt.number(e.latency_ms, 0), 'num'))),
        'no failed checks',
      );
      fillRows(
        panel.querySelector('#last-errors-table'),
        errors.last_errors.map((e) => el('tr', {}, td(fmt.time(e.at)), td(e.provider), td(e.reason || '–'), td(e.error || '–'))),
        'no errors since start-up',
      );
      fillRows(
        panel.querySelector('#alerts-table'),
        alerts.alerts.map((a) => el('tr', {}, td(fmt.time(a.at)), td(a.kind), td(a.provider || '–'), td(a.message), td(a.delivered ? 'yes' : `no (${a.attempts} attempts)`))),
        'no alerts',
      );
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
