// A message: its envelope and headers, attachments, and its parts: the HTML part in an iframe
// sandboxed without allow-scripts (served under its own CSP: no script, no remote load), the text
// part, the header lines and the raw source.
/* global fetch */
import { badge, getJson, h, size, time, view } from './dom.js';

export async function drawMessage(file) {
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
        : jobs.map((job) =>
            h('a', { href: `#job/${encodeURIComponent(job.messageId)}`, class: 'job-link' }, `${job.jobId ?? job.messageId} (${job.outcome})`),
          ),
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
    h('div', { class: 'switch' }, buttons, h('a', { href: `/raw/${encodeURIComponent(file)}`, download: file, class: 'download' }, 'Download .eml')),
    body,
  );
  show(message.hasHtml ? 'html' : 'text');
}
