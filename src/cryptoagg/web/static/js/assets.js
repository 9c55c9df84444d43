// Asset ids to tickers and names. News items name their assets by id only, and a chip shows
// the ticker: ids are learned from answers the page already has (the per-asset sentiment, a
// resolved symbol), then from one registry listing, and only an id still unknown after that is
// resolved on its own. An id nothing answers for is shown as it is.

import { getJson } from './api.js';

// the registry lists tracked assets first, by rank: what news is about is nearly always there
const LISTING = '/api/assets?limit=250';

const known = new Map(); // asset id -> { symbol, name }
let listed = null; // the registry listing's promise, asked for once

/** Remember assets from an answer: objects with `asset_id` or `id`, `symbol` and `name`. */
export function learn(assets) {
  for (const a of assets || []) {
    const id = a && (a.asset_id || a.id);
    if (id && a.symbol) known.set(id, { symbol: String(a.symbol).toUpperCase(), name: a.name || id });
  }
}

/** The asset's ticker ("BTC"), or its id when it is not known. */
export function ticker(id) {
  return known.has(id) ? known.get(id).symbol : id;
}

/** The asset's name ("Bitcoin"), or its id when it is not known. */
export function name(id) {
  return known.has(id) ? known.get(id).name : id;
}

async function resolveOne(id) {
  try {
    const body = await getJson(`/api/resolve?${new URLSearchParams({ q: id })}`);
    learn([{ ...body.asset, id }]);
  } catch {
    // shown as its id, and not asked again: a chip still filters by it
    known.set(id, { symbol: id, name: id });
  }
}

/** Make sure every id in `ids` has its ticker (see the top of this file for how). */
export async function describe(ids) {
  const unknown = () => [...new Set(ids)].filter((id) => !known.has(id));
  if (!unknown().length) return;
  if (!listed) {
    listed = getJson(LISTING).then(
      (body) => learn(body.assets),
      () => {
        listed = null; // asked again next time
      },
    );
  }
  await listed;
  await Promise.all(unknown().map(resolveOne));
}
