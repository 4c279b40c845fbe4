/**
 * MAIL_ALLOWED_RECIPIENTS in the handler, against smtp-server and the SQS emulator: recipients
 * outside the list never reach RCPT TO; a job with none left is done unsent (outcome `suppressed`,
 * deleted, not dead-lettered, no connection); a mixed job is sent to the rest; the log names only
 * the domains; RecipientsSuppressed counts recipients. Tags are logged with the outcome and put on a
 * dead letter as one `Tags` attribute.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { readAllowedRecipients } from '../../lib/config/allowedRecipients.js';
import { QueueActions } from '../../lib/delivery/QueueActions.js';
import { METRIC } from '../../lib/delivery/report.js';
import { SmtpClient } from '../../lib/smtp/index.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRigOptions } from '../support/sendMailHarness.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function settingsOf(handle: SmtpServerHandle): SmtpSettings {
  return { host: handle.host, port: handle.port, security: 'starttls', username: handle.user, password: handle.pass };
}

/** A rig whose environment allows `allowed` (MAIL_ALLOWED_RECIPIENTS), counting connections and every RCPT TO the server saw. */
async function rigWith(allowed: string, serverOptions: SmtpServerOptions = {}, rigOptions: Partial<SendMailRigOptions> = {}) {
  const rcpts: string[] = [];
  const connections = { count: 0 };
  server = await startSmtpServer({
    ...serverOptions,
    onRcptTo: (address, session) => {
      rcpts.push(address);
      return serverOptions.onRcptTo?.(address, session);
    },
  });
  const rig = await sendMailRig({
    emulator: emulator(),
    smtp: { kind: 'url', settings: settingsOf(server) },
    tlsCa: server.ca,
    deps: {
      connect: (options) => {
        connections.count += 1;
        return SmtpClient.connect(options);
      },
    },
    ...rigOptions,
  });
  const list = readAllowedRecipients({ MAIL_ALLOWED_RECIPIENTS: allowed });
  if (list !== undefined) rig.config.allowedRecipients = list; // read by the handler at each invocation
  return { rig, smtp: server, rcpts, connections };
}

describe('MAIL_ALLOWED_RECIPIENTS: recipients outside it are suppressed', () => {
  it('a mixed job: only the allowed recipients reach RCPT TO; delivered; the log lists the suppressed by domain, the metric counts them', async () => {
    const { rig, smtp, rcpts } = await rigWith('example.com,qa@example.org');
    const job = mailJob(1, {
      to: ['ann@example.com', 'Customer <real.customer@customer.example>'],
      cc: ['qa@example.org', 'boss@example.org'],
      bcc: ['audit@sub.example.com'],
      tags: { tenant: 'acme', campaign: 'dec-2026' },
    });
    const { records, response } = await rig.run([job]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts).toEqual(['ann@example.com', 'qa@example.org']);
    expect(smtp.messages.map((m) => m.to)).toEqual([['ann@example.com', 'qa@example.org']]);
    // The headers still show every To and Cc (the mail is the same mail; only the envelope is cut).
    expect(smtp.messages[0]?.raw.toString('latin1')).toMatch(/^To: ann@example\.com, Customer <real\.customer@customer\.example>$/m);
    const line = rig.log.records().get(records[0]?.messageId ?? '');
    expect(line?.attributes).toMatchObject({
      outcome: 'delivered',
      placement: 'done',
      accepted: 2,
      suppressedRecipients: 3,
      suppressedDomains: ['customer.example', 'example.org', 'sub.example.com'],
      tags: { tenant: 'acme', campaign: 'dec-2026' },
    });
    expect(JSON.stringify(rig.log.lines)).not.toMatch(/real\.customer@|boss@|audit@/);
    expect(rig.metrics.get(METRIC.recipientsSuppressed)).toBe(3);
    expect(rig.metrics.get(METRIC.delivered)).toBe(1);
    const queue = await rig.queues.contents(rig.queues.queueName);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect([queue.ready.length, queue.delayed.length, dead.ready.length]).toEqual([0, 0, 0]);
  });

  it('a job with every recipient outside: done unsent (outcome suppressed), not in the DLQ, not retried; a batch of only such jobs opens no connection', async () => {
    const { rig, smtp, rcpts, connections } = await rigWith('example.com');
    const raw = {
      v: 1,
      id: 'raw-1',
      raw: {
        envelope: { from: 'sender@example.com', to: ['x@customer.example', 'y@customer.example'] },
        message: 'From: sender@example.com\r\nSubject: raw\r\n\r\nhi\r\n',
      },
    };
    const { records, response } = await rig.run([mailJob(1, { to: 'customer@customer.example', cc: 'other@other.example' }), raw]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(connections.count).toBe(0);
    expect(rcpts).toEqual([]);
    expect(smtp.messages).toEqual([]);
    const lines = rig.log.records();
    expect(records.map((r) => lines.get(r.messageId)?.attributes)).toEqual([
      expect.objectContaining({
        outcome: 'suppressed',
        placement: 'done',
        recipients: 2,
        suppressedRecipients: 2,
        suppressedDomains: ['customer.example', 'other.example'],
      }),
      expect.objectContaining({ outcome: 'suppressed', placement: 'done', recipients: 2, suppressedDomains: ['customer.example'] }),
    ]);
    expect(records.map((r) => lines.get(r.messageId)?.level)).toEqual(['info', 'info']);
    expect(rig.metrics.get(METRIC.recipientsSuppressed)).toBe(4);
    expect(rig.metrics.get(METRIC.deadLettered)).toBe(0);
    expect(rig.metrics.get(METRIC.retried)).toBe(0);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready).toEqual([]);
  });

  it('beside jobs that are sent: the suppressed job costs nothing of the connection, the others go out', async () => {
    const { rig, smtp, rcpts, connections } = await rigWith('.example.com');
    const { records, response } = await rig.run([
      mailJob(1, { to: 'ann@mail.example.com' }),
      mailJob(2, { to: 'ann@example.com' }), // example.com itself is not a subdomain of it
      mailJob(3, { to: 'bob@eu.mail.example.com' }),
    ]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(connections.count).toBe(1);
    expect(rcpts).toEqual(['ann@mail.example.com', 'bob@eu.mail.example.com']);
    expect(smtp.messages.map((m) => m.to)).toEqual([['ann@mail.example.com'], ['bob@eu.mail.example.com']]);
    const lines = rig.log.records();
    expect(records.map((r) => lines.get(r.messageId)?.attributes['outcome'])).toEqual(['delivered', 'suppressed', 'delivered']);
  });

  it('unset: everyone is sent to (as before)', async () => {
    const { rig, rcpts } = await rigWith('');
    const { response } = await rig.run([mailJob(1, { to: ['a@customer.example', 'b@example.com'] })]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts).toEqual(['a@customer.example', 'b@example.com']);
    expect(rig.metrics.get(METRIC.recipientsSuppressed)).toBe(0);
  });

  it('refused for now: the re-enqueued part holds only allowed recipients; suppressed ones are counted once, when the record leaves', async () => {
    const { rig, rcpts } = await rigWith('example.com', {
      onRcptTo: (to) => (to.startsWith('later') ? { code: 450, message: 'Mailbox busy' } : undefined),
    });
    const { response } = await rig.run([
      mailJob(1, { to: ['ann@example.com', 'later@example.com', 'cust@customer.example'], delaySeconds: 600, tags: { tenant: 'acme' } }),
    ]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts).toEqual(['ann@example.com', 'later@example.com']);
    const queue = await rig.queues.contents(rig.queues.queueName);
    const copies = [...queue.ready, ...queue.delayed];
    expect(copies).toHaveLength(1);
    // The raw copy of the message as sent: its envelope holds only the recipient refused for now
    // (the headers still show every To, as the others received them); tags kept, delaySeconds not re-applied.
    const copy = JSON.parse(copies[0]?.body ?? '{}') as { id?: string; tags?: unknown; delaySeconds?: unknown; raw?: { envelope?: unknown } };
    expect(copy.id).toBe('job-1');
    expect(copy.raw?.envelope).toEqual({ from: 'sender@example.com', to: ['later@example.com'] });
    expect(copy.tags).toEqual({ tenant: 'acme' });
    expect(copy.delaySeconds).toBeUndefined();
    expect(copies[0]?.delayUntil).toBeDefined();
    expect(rig.metrics.get(METRIC.recipientsSuppressed)).toBe(1);
  });
});

describe('tags on a dead letter', () => {
  it('a job refused for good goes to the DLQ with its tags as one Tags attribute (JSON), and its log line carries them', async () => {
    const { rig } = await rigWith('', { onRcptTo: () => ({ code: 550, message: 'No such user' }) });
    const { records, response } = await rig.run([mailJob(1, { tags: { tenant: 'acme', 'trace.id': 'abc-123' } })]);
    expect(response).toEqual({ batchItemFailures: [] });
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready).toHaveLength(1);
    const attributes = dead.ready[0]?.messageAttributes ?? {};
    expect(attributes['Tags']).toEqual({ DataType: 'String', StringValue: '{"tenant":"acme","trace.id":"abc-123"}' });
    expect(Object.keys(attributes).length).toBeLessThanOrEqual(10);
    expect(rig.log.records().get(records[0]?.messageId ?? '')?.attributes).toMatchObject({
      outcome: 'permanent',
      tags: { tenant: 'acme', 'trace.id': 'abc-123' },
    });
  });

  it("a dead letter with every attribute (14 with Tags) keeps to SQS's 10, Tags among them, dropping those said elsewhere", async () => {
    const { rig } = await rigWith('');
    const actions = new QueueActions(emulator().sqs, { queueUrl: rig.queues.queueUrl, dlqUrl: rig.queues.dlqUrl });
    const record = { messageId: 'm-1', receiptHandle: 'h', body: '{"v":1}', receiveCount: 3, requeueCount: 5 };
    await actions.deadLetter(
      record,
      { phase: 'rcpt', code: 450, enhancedCode: '4.2.1', error: 'RecipientsRefusedError', message: '450 4.2.1 Mailbox busy' },
      { jobId: 'job-1', attempts: 3, kind: 'permanent', tags: { tenant: 'acme' }, part: { form: 'narrowed', pending: 1, delivered: 2 } },
    );
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready).toHaveLength(1);
    expect(Object.keys(dead.ready[0]?.messageAttributes ?? {}).sort()).toEqual(
      [
        'Attempts',
        'DeliveredRecipients',
        'FailureCode',
        'FailureKind',
        'FailureMessage',
        'FailurePhase',
        'JobForm',
        'JobId',
        'PendingRecipients',
        'SourceMessageId',
        'Tags',
      ]
        .filter((name) => name !== 'DeliveredRecipients')
        .sort(),
    );
  });
});
