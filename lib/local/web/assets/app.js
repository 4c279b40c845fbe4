// The local run's mail UI: three tabs (Mailbox, Jobs, Dead letters), a message view and a job
// view, drawn from the page's JSON API (web/routes.ts). Plain DOM, no framework, no build step.
// Every text from a message or a job goes in with textContent, never as HTML; a message's HTML
// part is shown only in an iframe sandboxed without allow-scripts, under its own CSP.
/* global document, window, fetch, EventSource, URLSearchParams, location, setTimeout, clearTimeout */

const token = document.querySelector('meta[name="mail-token"]')?.getAttribute('content') ?? '';
const view = document.getElementById('view');
const TABS = ['mailbox', 'jobs', 'dead-letters'];
const OUTCOME_CLASS = { delivered: 'ok', 'partly refused': 'warn', retry: 'warn', 'dead-lettered': 'bad', 'batch failed': 'bad' };

/** An element with attributes (on* never used) and children (strings become text nodes). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return element;
}

async function getJson(url) {
  const reply = await fetch(url, { headers: { Accept: 'application/json' } });
  if (!reply.ok) throw new Error(`${url}: HTTP ${reply.status}`);
  return reply.json();
}

function time(iso) {
  return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '';
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function badge(outcome) {
  return h('span', { class: `badge ${OUTCOME_CLASS[outcome] ?? 'warn'}` }, outcome);
}

function notice(text, bad = false) {
  const element = document.getElementById('notice');
  element.textContent = text;
  element.className = bad ? 'notice bad' : 'notice';
  element.hidden = text === '';
}

/** The route: `#tab?q=..&outcome=..&page=..`, `#message/<file>` or `#job/<id>`. */
function currentRoute() {
  const hash = location.hash.slice(1) || 'mailbox';
  const [path, query = ''] = hash.split('?');
  const [name, ...rest] = path.split('/');
  return { name, arg: rest.length > 0 ? decodeURIComponent(rest.join('/')) : undefined, params: new URLSearchParams(query) };
}

function listHash(tab, params) {
  const text = params.toString();
  return `#${tab}${text === '' ? '' : `?${text}`}`;
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

// ---- lists ---------------------------------------------------------------------------------

const LISTS = {
  mailbox: {
    api: '/api/list/mailbox',
    placeholder: 'search subject, recipient, job id',
    columns: ['received', 'subject', 'recipients', 'outcome'],
    row: (entry) => [
      time(entry.receivedAt),
      h('a', { href: `#message/${encodeURIComponent(entry.file)}` }, entry.subject || '(no subject)'),
      [entry.to.join(', '), ...entry.refused.map((r) => h('span', { class: 'refused' }, ` ${r.address} (${r.code})`))],
      badge(entry.outcome),
    ],
  },
  jobs: {
    api: '/api/list/jobs',
    placeholder: 'search job id, SQS id, subject, recipient',
    columns: ['last seen', 'job', 'subject', 'recipients', 'receives', 'outcome', 'detail'],
    row: (job) => [
      time(job.at),
      h('a', { href: `#job/${encodeURIComponent(job.messageId)}` }, job.jobId ?? job.messageId),
      job.subject || '(no subject)',
      job.recipients.join(', '),
      job.receives,
      badge(job.outcome),
      h('span', { class: 'detail' }, job.detail),
    ],
  },
  'dead-letters': {
    api: '/api/list/dead-letters',
    placeholder: 'search job id, subject, recipient, reason',
    columns: ['failed', 'job', 'subject', 'recipients', 'receives', 'kind', 'reason', ''],
    row: (letter) => [
      time(letter.failedAt),
      h('a', { href: `#job/${encodeURIComponent(letter.sourceMessageId)}` }, letter.jobId ?? letter.sourceMessageId),
      letter.subject || '(no subject)',
      letter.recipients.join(', '),
      letter.receives,
      h('span', { class: `badge ${letter.kind === 'moved by SQS' ? 'warn' : 'bad'}` }, letter.kind),
      h('span', { class: 'detail' }, letter.reason),
      redriveButton([letter.messageId], 'Redrive'),
    ],
  },
};

let redriveAvailable = false;

function redriveButton(ids, label) {
  if (!redriveAvailable) return '';
  const button = h('button', { type: 'button', class: 'redrive', 'data-ids': ids.join(' ') }, label);
  button.addEventListener('click', () => void redrive(ids, button));
  return button;
}

async function redrive(ids, button) {
  button.disabled = true;
  try {
    const reply = await fetch('/api/dead-letters/redrive', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Mail-Token': token },
      body: JSON.stringify({ ids }),
    });
    const outcome = await reply.json();
    if (!reply.ok) throw new Error(outcome.error ?? `HTTP ${reply.status}`);
    const problems = outcome.problems.length === 0 ? '' : `; ${outcome.problems.join('; ')}`;
    notice(`Redriven ${outcome.redriven} of ${ids.length} to the mail queue${problems}`, outcome.problems.length > 0);
  } catch (error) {
    notice(`Redrive failed: ${error.message}`, true);
    button.disabled = false;
  }
  await refresh();
}

function drawList(tab, params) {
  const list = LISTS[tab];
  const search = h('input', { type: 'search', id: 'search', placeholder: list.placeholder, value: params.get('q') ?? '', 'aria-label': 'search' });
  const outcome = h('select', { id: 'outcome', 'aria-label': 'outcome' }, h('option', { value: '' }, 'every outcome'));
  let timer;
  const go = () => {
    const next = new URLSearchParams();
    if (search.value.trim() !== '') next.set('q', search.value.trim());
    if (outcome.value !== '') next.set('outcome', outcome.value);
    window.history.replaceState(null, '', listHash(tab, next));
    void refreshList(tab, next);
  };
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(go, 200);
  });
  outcome.addEventListener('change', go);
  const tools = h('div', { class: 'tools' }, search, outcome, tab === 'dead-letters' ? h('span', { id: 'redrive-all' }) : '');
  const table = h(
    'table',
    { class: 'list', id: `list-${tab}` },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        list.columns.map((c) => h('th', {}, c)),
      ),
    ),
    h('tbody'),
  );
  view.replaceChildren(tools, table, h('nav', { class: 'pager', id: 'pager', 'aria-label': 'pages' }));
}

async function refreshList(tab, params) {
  const list = LISTS[tab];
  const page = await getJson(`${list.api}?${params.toString()}`);
  const table = document.getElementById(`list-${tab}`);
  if (table === null) return; // the view changed meanwhile
  const outcome = document.getElementById('outcome');
  const chosen = params.get('outcome') ?? '';
  const names = Object.keys(page.outcomes);
  if (chosen !== '' && !names.includes(chosen)) names.push(chosen);
  outcome.replaceChildren(
    h('option', { value: '' }, 'every outcome'),
    ...names.sort().map((name) => h('option', { value: name, selected: name === chosen }, `${name} (${page.outcomes[name] ?? 0})`)),
  );
  const rows = page.items.map((item) =>
    h(
      'tr',
      {},
      list.row(item).map((cell, index) => h('td', { 'data-label': list.columns[index] }, cell)),
    ),
  );
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: list.columns.length, class: 'empty' }, 'nothing here yet')));
  table.tBodies[0].replaceChildren(...rows);
  if (tab === 'dead-letters') {
    document.getElementById('redrive-all').replaceChildren(
      page.items.length > 1
        ? redriveButton(
            page.items.map((l) => l.messageId),
            `Redrive these ${page.items.length}`,
          )
        : '',
    );
  }
  drawPager(tab, params, page);
}

function drawPager(tab, params, page) {
  const link = (number, label) => {
    const next = new URLSearchParams(params);
    next.set('page', String(number));
    return h('a', { href: listHash(tab, next), rel: number < page.page ? 'prev' : 'next' }, label);
  };
  const first = page.total === 0 ? 0 : (page.page - 1) * page.pageSize + 1;
  const last = Math.min(page.total, page.page * page.pageSize);
  document
    .getElementById('pager')
    .replaceChildren(
      page.page > 1 ? link(page.page - 1, '‹ newer') : '',
      h('span', { class: 'where' }, `${first}–${last} of ${page.total} · page ${page.page} of ${page.pages}`),
      page.page < page.pages ? link(page.page + 1, 'older ›') : '',
    );
}

// ---- a message -----------------------------------------------------------------------------

async function drawMessage(file) {
  const { entry, view: message, jobs } = await getJson(`/api/message/${encodeURIComponent(file)}`);
  const base = `/message/${encodeURIComponent(file)}`;
  const facts = h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'from'),
    h('dd', {}, message.from || entry.from),
    h('dt', {}, 'to'),
    h('dd', {}, message.to || entry.to.join(', ')),
    h('dt', {}, 'envelope'),
    h(
      'dd',
      {},
      `${entry.from} → ${entry.to.join(', ')}`,
      ...entry.refused.map((r) => h('span', { class: 'refused' }, ` refused: ${r.address} (${r.code})`)),
    ),
    h('dt', {}, 'received'),
    h('dd', {}, time(entry.receivedAt), ' ', badge(entry.outcome)),
    h('dt', {}, 'size'),
    h('dd', {}, size(entry.size)),
    h('dt', {}, 'job'),
    h(
      'dd',
      {},
      jobs.length === 0
        ? '(none seen by this run)'
        : jobs.map((job) => h('a', { href: `#job/${encodeURIComponent(job.messageId)}`, class: 'job-link' }, job.jobId ?? job.messageId)),
    ),
  );
  const attachments = h(
    'ul',
    { class: 'attachments', id: 'attachments' },
    message.attachments.map((a) =>
      h(
        'li',
        {},
        h('a', { href: `${base}/attachments/${a.index}`, download: a.filename }, a.filename),
        ` ${a.contentType} · ${size(a.size)}${a.disposition === 'inline' ? ' · inline' : ''}`,
      ),
    ),
  );
  const parts = {
    html: () => h('iframe', { id: 'html-part', sandbox: '', src: `${base}/html`, title: 'HTML part', referrerpolicy: 'no-referrer' }),
    text: () => h('pre', { id: 'text-part' }, message.text || '(no text part)'),
    headers: () =>
      h(
        'table',
        { class: 'headers', id: 'headers' },
        message.headers.map((line) => h('tr', {}, h('th', {}, line.name), h('td', {}, line.value))),
      ),
    raw: () => {
      const pre = h('pre', { id: 'raw-source' }, 'loading…');
      void fetch(`/raw/${encodeURIComponent(file)}`)
        .then((reply) => reply.text())
        .then((text) => (pre.textContent = text));
      return pre;
    },
  };
  const body = h('div', { class: 'part' });
  const buttons = Object.keys(parts)
    .filter((name) => name !== 'html' || message.hasHtml)
    .map((name) => {
      const button = h(
        'button',
        { type: 'button', id: `show-${name}`, 'aria-pressed': 'false' },
        name === 'html' ? 'HTML' : name[0].toUpperCase() + name.slice(1),
      );
      button.addEventListener('click', () => show(name));
      return button;
    });
  const show = (name) => {
    for (const button of buttons) button.setAttribute('aria-pressed', String(button.id === `show-${name}`));
    body.replaceChildren(parts[name]());
  };
  view.replaceChildren(
    h('p', {}, h('a', { href: '#mailbox', class: 'back' }, '‹ Mailbox')),
    h('h2', { id: 'subject' }, message.subject || '(no subject)'),
    facts,
    message.attachments.length === 0 ? '' : h('h3', {}, `Attachments (${message.attachments.length})`),
    attachments,
    h('div', { class: 'switch' }, buttons),
    body,
  );
  show(message.hasHtml ? 'html' : 'text');
}

// ---- a job ---------------------------------------------------------------------------------

async function drawJob(messageId) {
  const detail = await getJson(`/api/job/${encodeURIComponent(messageId)}`);
  const { job } = detail;
  const jobLink = (other) => h('a', { href: `#job/${encodeURIComponent(other.messageId)}` }, other.messageId);
  view.replaceChildren(
    h('p', {}, h('a', { href: '#jobs', class: 'back' }, '‹ Jobs')),
    h('h2', { id: 'subject' }, job.subject || '(no subject)'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'job id'),
      h('dd', { id: 'job-id' }, job.jobId ?? '(none)'),
      h('dt', {}, 'SQS message'),
      h('dd', {}, h('code', {}, job.messageId)),
      h('dt', {}, 'recipients'),
      h('dd', {}, job.recipients.join(', ')),
      h('dt', {}, 'now'),
      h('dd', {}, badge(job.outcome), ' ', job.detail),
    ),
    h('h3', {}, `Receives (${detail.attempts.length})`),
    h(
      'table',
      { class: 'list', id: 'attempts' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['at', 'receive', 'outcome', 'reason', 'what happened'].map((c) => h('th', {}, c)),
        ),
      ),
      h(
        'tbody',
        {},
        detail.attempts.map((a) =>
          h(
            'tr',
            {},
            h('td', { 'data-label': 'at' }, time(a.at)),
            h('td', { 'data-label': 'receive' }, `#${a.receive}`),
            h('td', { 'data-label': 'outcome' }, badge(a.kind), a.outcome === undefined ? '' : ` ${a.outcome}`),
            h('td', { 'data-label': 'reason' }, a.reason ?? ''),
            h('td', { 'data-label': 'what happened' }, h('span', { class: 'detail' }, a.detail)),
          ),
        ),
      ),
    ),
    h('h3', {}, 'Messages it became'),
    h(
      'ul',
      { id: 'job-messages' },
      detail.messages.length === 0
        ? h('li', {}, 'none in the mailbox')
        : detail.messages.map((m) =>
            h(
              'li',
              {},
              h('a', { href: `#message/${encodeURIComponent(m.file)}` }, m.subject || '(no subject)'),
              ` ${time(m.receivedAt)} to ${m.to.join(', ')}`,
            ),
          ),
    ),
    detail.related.length === 0 ? '' : h('h3', {}, 'Same job, other queue messages (re-enqueued or redriven)'),
    detail.related.length === 0
      ? ''
      : h(
          'ul',
          { id: 'related' },
          detail.related.map((other) => h('li', {}, jobLink(other), ' ', badge(other.outcome), ` ${other.detail}`)),
        ),
    detail.deadLetters.length === 0 ? '' : h('h3', {}, 'In the dead-letter queue'),
    detail.deadLetters.length === 0
      ? ''
      : h(
          'ul',
          { id: 'job-dead-letters' },
          detail.deadLetters.map((l) => h('li', {}, `${l.kind}: ${l.reason} `, redriveButton([l.messageId], 'Redrive'))),
        ),
  );
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
  redriveAvailable = (await getJson('/api/overview')).redrive === true;
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
