/**
 * What the local run records of each job for the page's job view (every receive with its outcome
 * and reason, moves by SQS, redrives), what the Dead letters tab makes of the dead-letter queue,
 * and the job view's JSON (related queue messages, the messages a job became, its dead letters).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InvocationReport } from '../../lib/local/EventSourceMapping.js';
import type { HeldMessage } from '../../lib/local/LocalSqs.js';
import { Mailbox } from '../../lib/local/Mailbox.js';
import { RunActivity } from '../../lib/local/RunActivity.js';
import { sqsRecordOf } from '../../lib/local/sqsRecord.js';
import { startWebPage } from '../../lib/local/WebPage.js';
import type { WebPage } from '../../lib/local/WebPage.js';
import { deadLetterRows } from '../../lib/local/web/deadLetters.js';
import { composeMail } from '../../lib/message/index.js';

const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:000000000000:mail';
const NO_QUEUE = { ready: 0, inFlight: 0, delayed: 0 };

/** An invocation of the handler with these records (message id, body, receive count) and its `mail job` log lines. */
function invocation(records: [string, string, number][], logs: Record<string, unknown>[], failed: string[] = []): InvocationReport {
  return {
    poller: 1,
    records: records.map(([id, body, receives]) =>
      sqsRecordOf({ MessageId: id, Body: body, Attributes: { ApproximateReceiveCount: String(receives) } }, QUEUE_ARN, 'eu-west-1'),
    ),
    result: {
      kind: 'response',
      response: { batchItemFailures: failed.map((id) => ({ itemIdentifier: id })) },
      logs: logs.map((l) => JSON.stringify({ message: 'mail job', ...l })),
    },
    failed,
    deleted: records.map(([id]) => id).filter((id) => !failed.includes(id)),
    deleteFailed: [],
    coldStart: false,
  };
}

const body = (id: string, to: string[], subject: string): string => JSON.stringify({ v: 1, id, to, subject, text: 'hi' });

function held(messageId: string, messageBody: string, attributes: Record<string, string>, sentTimestamp: number, receives = 1): HeldMessage {
  const messageAttributes: HeldMessage['messageAttributes'] = {};
  for (const [name, value] of Object.entries(attributes))
    messageAttributes[name] = { DataType: /Count|Code$/.test(name) ? 'Number' : 'String', StringValue: value };
  return { messageId, body: messageBody, messageAttributes, approximateReceiveCount: receives, sentTimestamp };
}

describe('RunActivity, for the job view', () => {
  it('keeps every receive of a job with its outcome, reason, backoff and re-enqueue', () => {
    const activity = new RunActivity();
    let changes = 0;
    const stop = activity.subscribe(() => (changes += 1));
    const later = body('order-7', ['ann@example.com', 'later@example.net'], 'Your order');
    activity.invocation(
      invocation(
        [['m-1', later, 1]],
        [
          {
            outcome: 'transient',
            placement: 'retry',
            sqsMessageId: 'm-1',
            jobId: 'order-7',
            reason: { phase: 'rcpt', code: 450, text: 'busy' },
            backoffSeconds: 15,
          },
        ],
        ['m-1'],
      ),
    );
    activity.invocation(
      invocation(
        [['m-1', later, 2]],
        [
          {
            outcome: 'partlyRefused',
            placement: 'done',
            sqsMessageId: 'm-1',
            jobId: 'order-7',
            accepted: 1,
            refused: [{ domain: 'example.net', code: 450, transient: true }],
            requeuedRecipients: 1,
          },
        ],
      ),
    );
    expect(activity.jobAttempts('m-1')).toEqual([
      {
        at: expect.any(String),
        receive: 1,
        poller: 1,
        kind: 'retry',
        detail: 'transient, rcpt 450: busy; back in 15 s',
        outcome: 'transient',
        reason: 'rcpt 450: busy',
        backoffSeconds: 15,
      },
      {
        at: expect.any(String),
        receive: 2,
        poller: 1,
        kind: 'partly refused',
        detail: '1 accepted, refused: 450 for now at example.net; 1 re-enqueued as a new job',
        outcome: 'partlyRefused',
        requeuedRecipients: 1,
      },
    ]);
    expect(activity.jobAttempts('unknown')).toEqual([]);
    expect(changes).toBe(2);
    stop();
    activity.redriven(2, 'web page');
    expect(changes).toBe(2);
    expect(activity.events.at(-1)).toMatchObject({
      kind: 'redriven',
      detail: '2 job(s) put back on the mail queue from the dead-letter queue (web page)',
    });
  });

  it('records a move by SQS as the job’s last receive, and keeps what the DLQ holds', () => {
    const activity = new RunActivity();
    activity.invocation(invocation([['m-2', body('flaky', ['bob@example.com'], 'Flaky'), 5]], [], ['m-2']));
    const moved = held('m-2', body('flaky', ['bob@example.com'], 'Flaky'), {}, 1_700_000_000_000, 5);
    activity.queues(NO_QUEUE, [moved]);
    expect(activity.jobAttempts('m-2').map((a) => [a.receive, a.kind, a.detail])).toEqual([
      [5, 'retry', 'in batchItemFailures'],
      [5, 'dead-lettered', 'moved by SQS after 5 receives (maxReceiveCount)'],
    ]);
    expect(activity.deadLetters()).toEqual([moved]);
    let changes = 0;
    activity.subscribe(() => (changes += 1));
    activity.queues(NO_QUEUE, [moved]);
    expect(changes).toBe(0); // nothing new
    activity.queues(NO_QUEUE, []);
    expect([changes, activity.deadLetters()]).toEqual([1, []]);
  });
});

describe('RunActivity, for recipients outside allowedRecipients', () => {
  it('names the suppressed outcome: a job with no allowed recipient is suppressed, not delivered; a mixed one says how many were left out', () => {
    const activity = new RunActivity();
    activity.invocation(
      invocation(
        [
          ['m-s', body('s-1', ['ann@example.org', 'bob@example.net'], 'Outside'), 1],
          ['m-mix', body('s-2', ['ann@example.com', 'cy@example.org'], 'Mixed'), 1],
        ],
        [
          {
            outcome: 'suppressed',
            placement: 'done',
            sqsMessageId: 'm-s',
            jobId: 's-1',
            recipients: 2,
            suppressedRecipients: 2,
            suppressedDomains: ['example.org', 'example.net'],
          },
          {
            outcome: 'delivered',
            placement: 'done',
            sqsMessageId: 'm-mix',
            jobId: 's-2',
            accepted: 1,
            suppressedRecipients: 1,
            suppressedDomains: ['example.org'],
          },
        ],
      ),
    );
    expect(activity.events.map(({ kind, messageId, detail }) => ({ kind, messageId, detail }))).toEqual([
      {
        kind: 'suppressed',
        messageId: 'm-s',
        detail: 'not sent: every recipient (2) is outside allowedRecipients (MAIL_ALLOWED_RECIPIENTS): example.org, example.net',
      },
      {
        kind: 'delivered',
        messageId: 'm-mix',
        detail: '1 recipient(s) took it; 1 suppressed, outside allowedRecipients: example.org',
      },
    ]);
    expect(activity.jobs().find((job) => job.messageId === 'm-s')).toMatchObject({ outcome: 'suppressed' });
    expect(activity.jobAttempts('m-s')).toMatchObject([{ kind: 'suppressed', outcome: 'suppressed' }]);
    expect(activity.stats()).toMatchObject({ received: 2, delivered: 1, retried: 0, deadLettered: 0 });
  });
});

describe('the Dead letters tab', () => {
  it('says why each job is there, who put it there, newest first', () => {
    const rows = deadLetterRows([
      held('d-1', body('gone', ['x@example.org'], 'Gone'), {}, 1_700_000_000_000, 5),
      held(
        'd-2',
        body('refused', ['refuse@example.org'], 'Refused'),
        {
          FailurePhase: 'rcpt',
          FailureCode: '550',
          FailureEnhancedCode: '5.1.1',
          FailureMessage: 'no such user',
          FailureError: 'RecipientsRefusedError',
          SourceMessageId: 'm-9',
          SourceReceiveCount: '1',
          JobId: 'refused',
        },
        1_700_000_100_000,
      ),
      held(
        'd-3',
        'not json',
        { FailurePhase: 'job', FailureMessage: 'invalid mail job', SourceMessageId: 'm-10', SourceReceiveCount: '1' },
        1_700_000_050_000,
      ),
      held(
        'd-4',
        body('late', ['ann@example.com'], 'Late'),
        { FailurePhase: 'connect', FailureKind: 'last-receive', FailureMessage: 'refused', Attempts: '4' },
        1_700_000_060_000,
      ),
    ]);
    expect(rows.map((r) => [r.messageId, r.kind, r.placedBy, r.receives, r.reason, r.jobId])).toEqual([
      ['d-2', 'permanent', 'handler', 1, 'rcpt 550 5.1.1: no such user (RecipientsRefusedError)', 'refused'],
      ['d-4', 'last-receive', 'handler', 4, 'connect: refused', 'late'],
      ['d-3', 'invalid', 'handler', 1, 'job: invalid mail job', undefined],
      ['d-1', 'moved by SQS', 'SQS', 5, 'moved by SQS after too many receives: no reason attached', 'gone'],
    ]);
    expect(rows[0]).toMatchObject({
      sourceMessageId: 'm-9',
      subject: 'Refused',
      recipients: ['refuse@example.org'],
      failedAt: '2023-11-14T22:15:00.000Z',
    });
    expect(rows[3]).toMatchObject({ sourceMessageId: 'd-1', subject: 'Gone' });
  });
});

describe('the job view’s JSON', () => {
  let dir: string;
  let page: WebPage;
  const activity = new RunActivity();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'job-view-'));
    const mailbox = await Mailbox.open(dir);
    const job = {
      v: 1 as const,
      id: 'order-7',
      from: 'shop@example.com',
      to: ['ann@example.com', 'later@example.net'],
      subject: 'Your order',
      text: 'hi',
    };
    const { message } = await composeMail(job);
    await mailbox.store({
      from: 'shop@example.com',
      to: ['ann@example.com'],
      refused: [{ address: 'later@example.net', code: 450 }],
      raw: Buffer.from(message),
    });
    const first = body('order-7', job.to, 'Your order');
    activity.invocation(
      invocation(
        [['m-1', first, 1]],
        [
          {
            outcome: 'partlyRefused',
            placement: 'done',
            sqsMessageId: 'm-1',
            jobId: 'order-7',
            accepted: 1,
            refused: [{ domain: 'example.net', code: 450, transient: true }],
            requeuedRecipients: 1,
          },
        ],
      ),
    );
    activity.invocation(
      invocation(
        [['m-2', body('order-7', ['later@example.net'], 'Your order'), 1]],
        [
          {
            outcome: 'permanent',
            placement: 'deadLettered',
            sqsMessageId: 'm-2',
            jobId: 'order-7',
            reason: { phase: 'rcpt', code: 550, text: 'gone' },
          },
        ],
      ),
    );
    activity.queues(NO_QUEUE, [
      held(
        'd-1',
        body('order-7', ['later@example.net'], 'Your order'),
        { FailurePhase: 'rcpt', FailureCode: '550', FailureMessage: 'gone', SourceMessageId: 'm-2', SourceReceiveCount: '1', JobId: 'order-7' },
        1_700_000_000_000,
      ),
    ]);
    page = await startWebPage({ port: 0, mailbox, activity });
  });

  afterAll(async () => {
    await page.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('links a job to its other queue messages, the messages it became and its dead letters', async () => {
    const detail = (await (await fetch(`${page.url}api/job/m-1`)).json()) as Record<
      string,
      { messageId?: string; subject?: string; kind?: string }[]
    >;
    expect(detail['attempts']).toHaveLength(1);
    expect(detail['related']!.map((j) => j.messageId)).toEqual(['m-2']);
    expect(detail['messages']!.map((m) => m.subject)).toEqual(['Your order']);
    expect(detail['deadLetters']!.map((d) => [d.messageId, d.kind])).toEqual([['d-1', 'permanent']]);
    const message = (await (await fetch(`${page.url}api/message/${(detail['messages']![0] as { file: string } & object).file}`)).json()) as {
      jobs: { messageId: string }[];
    };
    expect(message.jobs.map((j) => j.messageId).sort()).toEqual(['m-1', 'm-2']);
    expect((await fetch(`${page.url}api/job/nothing`)).status).toBe(404);
  });

  it('lists and filters the dead letters, and says when this run has no redrive', async () => {
    const list = (await (await fetch(`${page.url}api/list/dead-letters?outcome=permanent`)).json()) as {
      total: number;
      outcomes: Record<string, number>;
    };
    expect([list.total, list.outcomes]).toEqual([1, { permanent: 1 }]);
    const jobs = (await (await fetch(`${page.url}api/list/jobs?q=order-7&outcome=dead-lettered`)).json()) as { items: { messageId: string }[] };
    expect(jobs.items.map((j) => j.messageId)).toEqual(['m-2']);
    expect(await (await fetch(`${page.url}api/overview`)).json()).toMatchObject({ tabs: { mailbox: 1, jobs: 2, deadLetters: 1 }, redrive: false });
    const post = await fetch(`${page.url}api/dead-letters/redrive`, {
      method: 'POST',
      headers: { 'x-mail-token': page.token },
      body: '{"ids":["d-1"]}',
    });
    expect(post.status).toBe(501);
  });
});
