// Numbers and times as people read them (USD, compact units, "12 s ago").

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 2 });

export function price(value) {
  if (value === null || value === undefined) return '–';
  const abs = Math.abs(value);
  if (abs >= 1) return usd.format(value);
  const digits = abs === 0 ? 2 : Math.min(10, Math.max(4, 2 - Math.floor(Math.log10(abs)) + 2));
  return '$' + value.toFixed(digits);
}

export function money(value) {
  return value === null || value === undefined ? '–' : '$' + compact.format(value);
}

export function number(value, digits = 2) {
  return value === null || value === undefined ? '–' : Number(value).toFixed(digits);
}

export function percent(value) {
  if (value === null || value === undefined) return '–';
  return `${value > 0 ? '+' : ''}${value.toFixed(2)}%`;
}

export function ratio(value) {
  return value === null || value === undefined ? '–' : `${(value * 100).toFixed(1)}%`;
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

export function changeClass(value) {
  if (value === null || value === undefined || value === 0) return 'num';
  return value > 0 ? 'num up' : 'num down';
}
