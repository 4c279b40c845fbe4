// The three tabs' lists: a search box and an outcome filter over one page fetched from the
// server, and the pager.
/* global document, window, URLSearchParams, setTimeout, clearTimeout */
import { badge, getJson, h, time, view } from './dom.js';
import { redriveButton } from './redrive.js';

export function listHash(tab, params) {
  const text = params.toString();
  return `#${tab}${text === '' ? '' : `?${text}`}`;
}

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

export function drawList(tab, params) {
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

export async function refreshList(tab, params) {
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
    // As `mail-queue dlq redrive --all`: a job dead-lettered for an invalid body goes back only on its own button.
    const valid = page.items.filter((letter) => letter.kind !== 'invalid');
    document.getElementById('redrive-all').replaceChildren(
      valid.length > 1
        ? redriveButton(
            valid.map((letter) => letter.messageId),
            `Redrive these ${valid.length}`,
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
