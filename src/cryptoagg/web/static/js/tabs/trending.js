// Trending: the ten coins CoinGecko's users search for most.

import { getJson } from '../api.js';
import { el, safeUrl, showError } from '../dom.js';

export default {
  id: 'trending',
  init() {},
  async refresh(ctx, panel) {
    try {
      const body = await getJson('/api/trending');
      const list = panel.querySelector('#trending-list');
      list.replaceChildren(
        ...body.trending.map((coin) => {
          const thumb = safeUrl(coin.thumb);
          return el(
            'li',
            { class: 'card coin', dataset: { asset: coin.asset_id || '' } },
            thumb ? el('img', { src: thumb, alt: '', width: 32, height: 32, loading: 'lazy', referrerpolicy: 'no-referrer' }) : null,
            el('div', {},
              el('a', { href: coin.asset_id ? `#charts/${encodeURIComponent(coin.asset_id)}` : null }, coin.name),
              ' ', el('span', { class: 'symbol' }, coin.symbol),
              el('div', { class: 'muted' }, `rank ${coin.market_cap_rank ?? '–'}`,
                coin.price_btc ? ` · ${coin.price_btc.toPrecision(4)} BTC` : ''),
            ),
          );
        }),
      );
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
