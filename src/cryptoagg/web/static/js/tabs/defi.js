// DeFi: total value locked, the top protocols and chains (DefiLlama).

import { getJson } from '../api.js';
import { el, fillRows, freshness, showError, td } from '../dom.js';
import * as fmt from '../format.js';

const PROTOCOLS = 25;
const CHAINS = 15;

export default {
  id: 'defi',
  init() {},
  async refresh(ctx, panel) {
    try {
      const body = await getJson('/api/defi');
      panel.querySelector('#defi-total').textContent = `Total value locked ${fmt.money(body.total_tvl)}`;
      panel.querySelector('#defi-fresh').replaceChildren(`from ${body.sources.join(', ')} · `, freshness(body.as_of, body.stale));
      fillRows(
        panel.querySelector('#defi-protocols'),
        body.protocols.slice(0, PROTOCOLS).map((p) =>
          el('tr', {}, td(p.name), td(p.category || '–'), td(p.chains.slice(0, 4).join(', ') + (p.chains.length > 4 ? ` +${p.chains.length - 4}` : '')),
            td(fmt.money(p.tvl), 'num'), td(fmt.percent(p.change_1d), fmt.changeClass(p.change_1d))),
        ),
      );
      fillRows(
        panel.querySelector('#defi-chains'),
        body.chains.slice(0, CHAINS).map((c) => el('tr', {}, td(c.token_symbol ? `${c.name} (${c.token_symbol})` : c.name), td(fmt.money(c.tvl), 'num'))),
      );
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
