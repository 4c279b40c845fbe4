// A job (one SQS message): each receive with its outcome and reason, the messages it became,
// the same job's other queue messages (re-enqueued parts, redrives) and its dead letters.
/* global fetch */
import { badge, h, time, view } from './dom.js';
import { redriveButton } from './redrive.js';

export async function drawJob(messageId) {
  const reply = await fetch(`/api/job/${encodeURIComponent(messageId)}`);
  if (reply.status === 404) {
    view.replaceChildren(
      h('p', {}, h('a', { href: '#jobs', class: 'back' }, '‹ Jobs')),
      h(
        'p',
        { id: 'job-unknown' },
        `This run has not received the job with SQS message id ${messageId}: it reached the dead-letter queue before this run started, or was put there directly.`,
      ),
    );
    return;
  }
  if (!reply.ok) throw new Error(`job ${messageId}: HTTP ${reply.status}`);
  const detail = await reply.json();
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
