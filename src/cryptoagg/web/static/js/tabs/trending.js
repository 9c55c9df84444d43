// Trending: the ten coins CoinGecko's users search for most.

import { getJson } from '../api.js';
import { el, safeUrl, showError } from '../dom.js';
import * as fmt from '../format.js';

/** The coin's initial in a circle: shown without a thumbnail, or when it does not load. */
function badge(coin) {
  return el('span', { class: 'coin-icon', 'aria-hidden': 'true' }, (coin.symbol || coin.name || '?').slice(0, 1));
}

function thumbnail(coin) {
  const src = safeUrl(coin.thumb);
  if (!src) return badge(coin);
  const img = el('img', { src, alt: '', width: 32, height: 32, loading: 'lazy', referrerpolicy: 'no-referrer' });
  img.addEventListener('error', () => img.replaceWith(badge(coin)), { once: true });
  return img;
}

export default {
  id: 'trending',
  init() {},
  async refresh(ctx, panel) {
    try {
      const body = await getJson('/api/trending');
      const list = panel.querySelector('#trending-list');
      list.replaceChildren(
        ...body.trending.map((coin) =>
          el(
            'li',
            { class: 'card coin', dataset: { asset: coin.asset_id || '' } },
            thumbnail(coin),
            el('div', {},
              el('a', { href: coin.asset_id ? `#charts/${encodeURIComponent(coin.asset_id)}` : null }, coin.name),
              ' ', el('span', { class: 'symbol' }, coin.symbol),
              el('div', { class: 'muted' }, `rank ${coin.market_cap_rank ?? '–'}`,
                coin.price_btc ? ` · ${fmt.amount(coin.price_btc, 'BTC')}` : ''),
            ),
          ),
        ),
      );
      if (!body.trending.length) list.append(el('li', { class: 'empty muted' }, 'nothing trending right now'));
      showError(panel, null);
    } catch (error) {
      showError(panel, error);
    }
  },
};
