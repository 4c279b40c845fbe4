// The local run's mail UI: three tabs (Mailbox, Jobs, Dead letters), a message view and a job
// view, drawn from the page's JSON API (web/routes.ts). Plain DOM, no framework, no build step.
// Every text from a message or a job goes in with textContent, never as HTML; a message's HTML
// part is shown only in an iframe sandboxed without allow-scripts, under its own CSP.
/* global document, window, EventSource, URLSearchParams, location */
import { getJson, h, notice } from './dom.js';
import { drawJob } from './job.js';
import { drawList, refreshList } from './lists.js';
import { drawMessage } from './message.js';
import { redriveState } from './redrive.js';

const TABS = ['mailbox', 'jobs', 'dead-letters'];

/** The route: `#tab?q=..&outcome=..&page=..`, `#message/<file>` or `#job/<id>`. */
function currentRoute() {
  const hash = location.hash.slice(1) || 'mailbox';
  const [path, query = ''] = hash.split('?');
  const [name, ...rest] = path.split('/');
  return { name, arg: rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined, params: new URLSearchParams(query) };
}
// ---- the header: counts and tabs -----------------------------------------------------------

async function refreshOverview() {
  const { stats, tabs } = await getJson('/api/overview');
  const queued = stats.queue.ready + stats.queue.inFlight + stats.queue.delayed;
  const counts = [
    ['received', stats.received],
    ['delivered', stats.delivered],
    ['retried', stats.retried],
    ['dead-lettered', stats.deadLettered],
    ['re-enqueued', stats.reEnqueued],
    ['queued', queued],
    ['dlq', stats.dlq],
  ];
  document
    .getElementById('counts')
    .replaceChildren(...counts.map(([label, value]) => h('li', { id: `count-${label}` }, h('b', {}, value), ` ${label}`)));
  const byTab = { mailbox: tabs.mailbox, jobs: tabs.jobs, 'dead-letters': tabs.deadLetters };
  for (const tab of TABS) document.querySelector(`#tab-${tab} .count`).textContent = String(byTab[tab]);
}

function markTab(name) {
  const active = name === 'message' ? 'mailbox' : name === 'job' ? 'jobs' : name;
  for (const tab of TABS) {
    const link = document.getElementById(`tab-${tab}`);
    link.classList.toggle('active', tab === active);
    if (tab === active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// ---- routing and live updates --------------------------------------------------------------

let drawn = '';

async function refresh() {
  const route = currentRoute();
  try {
    await refreshOverview();
    if (TABS.includes(route.name)) {
      if (drawn !== route.name) {
        drawList(route.name, route.params);
        drawn = route.name;
      }
      await refreshList(route.name, route.params);
    } else if (route.name === 'job') {
      drawn = 'job';
      await drawJob(route.arg);
    } else if (route.name === 'message' && drawn !== `message/${route.arg}`) {
      drawn = `message/${route.arg}`;
      await drawMessage(route.arg);
    }
  } catch (error) {
    notice(`Could not load: ${error.message}`, true);
  }
}

function navigate() {
  const route = currentRoute();
  markTab(route.name);
  drawn = '';
  notice('');
  void refresh();
}

async function start() {
  redriveState.available = (await getJson('/api/overview')).redrive === true;
  window.addEventListener('mail:changed', () => void refresh());
  window.addEventListener('hashchange', navigate);
  navigate();
  const live = document.getElementById('live');
  const events = new EventSource('/events');
  let pending = false;
  events.addEventListener('open', () => {
    live.classList.add('on');
    live.title = 'live updates: on';
  });
  events.addEventListener('error', () => {
    live.classList.remove('on');
    live.title = 'live updates: reconnecting';
  });
  events.addEventListener('change', () => {
    if (pending) return;
    pending = true;
    void refresh().finally(() => (pending = false));
  });
}

void start();
