// Numbers and times as people read them: the dashboard's one number formatter. Every tab and
// the chart's axes write numbers through these functions, so a price, an amount of money or a
// count reads the same everywhere: thousands separated (en-US), never in exponent notation.

const LOCALE = 'en-US';
// a price below $1 keeps this many significant digits ($0.9997, $0.00002084)
const PRICE_SIGNIFICANT = 4;
const formatters = new Map();

function formatter(options) {
  const key = JSON.stringify(options);
  let made = formatters.get(key);
  if (!made) {
    made = new Intl.NumberFormat(LOCALE, options);
    formatters.set(key, made);
  }
  return made;
}

function missing(value) {
  return value === null || value === undefined || Number.isNaN(Number(value));
}

/** Decimals a price of this size is written with: 2 from $1 up, else 4 significant digits. */
export function priceDigits(value) {
  const abs = Math.abs(Number(value));
  if (!Number.isFinite(abs) || abs === 0 || abs >= 1) return 2;
  const digits = Math.min(20, PRICE_SIGNIFICANT - 1 - Math.floor(Math.log10(abs)));
  // 0.99996 rounds up to a dollar: written as one ($1.00), not as $1.0000
  return Math.round(abs * 10 ** digits) >= 10 ** digits ? 2 : digits;
}

/** "$93,706.34", "$0.9997", "$0.00002084"; `digits` fixes the decimals (a chart axis). */
export function price(value, digits = priceDigits(value)) {
  if (missing(value)) return '–';
  return formatter({ style: 'currency', currency: 'USD', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

/** Tick labels of a price axis: the fewest decimals (up to `digits`) that write every tick exactly. */
export function priceTicks(values, digits) {
  let shared = 0;
  while (shared < digits && values.some((v) => Math.abs(v * 10 ** shared - Math.round(v * 10 ** shared)) > 1e-6)) shared += 1;
  return values.map((v) => price(v, shared));
}

/** An amount in another unit with the significant digits a price of its size has: "0.00002084 BTC". */
export function amount(value, unit) {
  if (missing(value)) return '–';
  const digits = priceDigits(value);
  return `${formatter({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value)} ${unit}`;
}

/** Compact money, always two decimals: "$7.50B", "$4.00B", "$4.38B", "$1.88T". */
export function money(value) {
  if (missing(value)) return '–';
  return formatter({ style: 'currency', currency: 'USD', notation: 'compact', minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
}

/** A compact count (a volume): "10.22K", "5K". */
export function compact(value) {
  if (missing(value)) return '–';
  return formatter({ notation: 'compact', maximumFractionDigits: 2 }).format(value);
}

/** A plain number with `digits` decimals and thousands separators: "1,181", "5.32". */
export function number(value, digits = 2) {
  if (missing(value)) return '–';
  return formatter({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value);
}

export function integer(value) {
  return number(value, 0);
}

/** A change in percent, signed: "+3.20%", "-0.94%", "0.00%". */
export function percent(value) {
  if (missing(value)) return '–';
  return `${formatter({ minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: 'exceptZero' }).format(value)}%`;
}

/** A signed number with `digits` decimals (a sentiment score, -1 … 1): "+0.165", "-0.200", "0.000". */
export function signed(value, digits = 3) {
  if (missing(value)) return '–';
  return formatter({ minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay: 'exceptZero' }).format(value);
}

/** A signed number's cell class: green above zero, red below, plain when it reads as zero. */
export function signClass(value, digits = 3) {
  if (missing(value) || Math.round(value * 10 ** digits) === 0) return 'num';
  return value > 0 ? 'num up' : 'num down';
}

/** A share of 1 in percent: 0.9876 -> "98.8%". */
export function ratio(value) {
  if (missing(value)) return '–';
  return formatter({ style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);
}

/** 652.3 -> "11 min", 9720 -> "2.7 h": one decimal below 10 of the unit, whole above. */
export function duration(seconds) {
  const trim = (v) => (v >= 10 ? number(v, 0) : number(v, 1).replace(/\.0$/, ''));
  if (seconds < 60) return `${number(seconds, 0)} s`;
  if (seconds < 3600) return `${trim(seconds / 60)} min`;
  if (seconds < 2 * 86400) return `${trim(seconds / 3600)} h`;
  return `${trim(seconds / 86400)} d`;
}

export function age(iso, now = Date.now()) {
  if (!iso) return 'never';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

export function time(iso) {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' });
}

/** A change's cell class: green up, red down, plain when it reads "0.00%". */
export function changeClass(value) {
  if (missing(value) || Math.round(value * 100) === 0) return 'num';
  return value > 0 ? 'num up' : 'num down';
}
