// Start-up: tabs (with #hash routing), the live connection, refresh timers, health badge.

import { getJson } from './api.js';
import { renderAge } from './dom.js';
import { Live } from './live.js';
import charts from './tabs/charts.js';
import defi from './tabs/defi.js';
import logs from './tabs/logs.js';
import market from './tabs/market.js';
import news from './tabs/news.js';
import pools from './tabs/pools.js';
import providers from './tabs/providers.js';
import sentiment from './tabs/sentiment.js';
import trending from './tabs/trending.js';

const TABS = [market, charts, trending, defi, sentiment, news, providers, pools, logs];
// While /ws is live, pushed data keeps panels current and the rest refreshes slowly; without
// it every panel polls (?poll=N seconds, 2–300, default 15).
const LIVE_REFRESH_S = 60;
const HEALTH_REFRESH_S = 30;

function pollSeconds() {
  const asked = Number(new URLSearchParams(window.location.search).get('poll'));
  return Number.isFinite(asked) && asked > 0 ? Math.min(300, Math.max(2, asked)) : 15;
}

const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
const live = new Live(`${scheme}//${window.location.host}/ws`);
const ctx = { live, pollS: pollSeconds(), shared: {} };
const started = new Set();
let active = null;
let timer = null;

function panelOf(tab) {
  return document.getElementById(`panel-${tab.id}`);
}

async function refresh(tab) {
  try {
    await tab.refresh(ctx, panelOf(tab));
  } catch (error) {
    console.warn(`refresh ${tab.id}:`, error);
  }
}

function schedule() {
  clearTimeout(timer);
  if (!active) return;
  const seconds = live.live ? LIVE_REFRESH_S : ctx.pollS;
  timer = setTimeout(async () => {
    await refresh(active);
    schedule();
  }, seconds * 1000);
}

function show(id, arg) {
  const tab = TABS.find((t) => t.id === id) || market;
  for (const t of TABS) {
    const selected = t === tab;
    const button = document.getElementById(`tab-${t.id}`);
    button.setAttribute('aria-selected', String(selected));
    button.tabIndex = selected ? 0 : -1;
    panelOf(t).hidden = !selected;
  }
  const switched = active !== tab;
  if (active && switched && active.hide) active.hide(ctx, panelOf(active));
  active = tab;
  if (!started.has(tab.id)) {
    started.add(tab.id);
    tab.init(ctx, panelOf(tab));
  }
  if (tab.route && arg !== undefined) tab.route(ctx, panelOf(tab), arg);
  if (switched && tab.show) tab.show(ctx, panelOf(tab));
  if (switched || arg !== undefined) refresh(tab).then(schedule);
}

function route() {
  const [id, ...rest] = window.location.hash.replace(/^#/, '').split('/');
  show(id || 'market', rest.length ? decodeURIComponent(rest.join('/')) : undefined);
}

function wireTabs() {
  const buttons = TABS.map((t) => document.getElementById(`tab-${t.id}`));
  buttons.forEach((button, index) => {
    button.addEventListener('click', () => {
      window.location.hash = button.dataset.tab;
    });
    button.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = buttons[(index + step + buttons.length) % buttons.length];
      next.focus();
      next.click();
    });
  });
  window.addEventListener('hashchange', route);
}

function wireLiveBadge() {
  const badge = document.getElementById('live');
  live.onState((state) => {
    badge.dataset.state = state;
    badge.textContent = state === 'live' ? 'live' : state === 'polling' ? `polling every ${ctx.pollS} s` : 'connecting…';
    schedule();
  });
}

async function checkHealth() {
  const badge = document.getElementById('health');
  try {
    const health = await getJson('/health');
    badge.textContent = `health: ${health.status}`;
    badge.dataset.state = health.status;
    document.getElementById('mock-badge').hidden = !health.mock;
  } catch (error) {
    const status = error.status === 0 ? 'unreachable' : `error ${error.status}`;
    badge.textContent = `health: ${status}`;
    badge.dataset.state = status;
  }
  setTimeout(checkHealth, HEALTH_REFRESH_S * 1000);
}

function tickAges() {
  const now = Date.now();
  for (const node of document.querySelectorAll('[data-as-of]')) renderAge(node, now);
}

wireTabs();
wireLiveBadge();
live.start();
route();
checkHealth();
setInterval(tickAges, 1000);
