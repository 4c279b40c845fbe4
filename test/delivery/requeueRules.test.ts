/**
 * What goes back on the queue, or to the DLQ, when some recipients took a message and others were
 * refused for now (issue 13, items 4 and 5): the copy follows SQS's rules as the producer does
 * (1 MiB with its attributes, no U+FFFE/U+FFFF), holds only the recipients not yet delivered
 * (in `to`, `cc` or `bcc`, composed or raw), and a DLQ copy says so in its attributes.
 * Against smtp-server and the SQS emulator.
 */
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { composeMail, parseMailJob } from '../../lib/message/index.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import type { HeldMessage } from '../support/sqsQueues.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import type { SendMailRig } from '../support/sendMailHarness.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** A relay that refuses every `later…` recipient for now (450). */
async function rigWith(serverOptions: SmtpServerOptions = {}, maxRequeues?: number): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle }> {
  server = await startSmtpServer({
    onRcptTo: (to) => (to.startsWith('later') ? { code: 450, message: 'Mailbox busy' } : undefined),
    ...serverOptions,
  });
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
  const rig = await sendMailRig({
    emulator: emulator(),
    smtp: { kind: 'url', settings },
    tlsCa: server.ca,
    ...(maxRequeues === undefined ? {} : { deps: { tuning: { backoff: { random: () => 0 }, maxRequeues } } }),
  });
  return { rig, smtp: server };
}

/** `job` with an attachment (and spaces after its text) sized so that the job's JSON is exactly `bytes` octets. */
function sizedJob(job: Record<string, unknown>, bytes: number): Record<string, unknown> {
  const attach = (length: number, spaces = 0): Record<string, unknown> => ({
    ...job,
    text: `${String(job['text'])}${' '.repeat(spaces)}`,
    attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: 'A'.repeat(length) }],
  });
  const length = bytes - Buffer.byteLength(JSON.stringify(attach(0)));
  const sized = attach(length - (length % 4), length % 4);
  expect(Buffer.byteLength(JSON.stringify(sized))).toBe(bytes);
  return sized;
}

async function held(rig: SendMailRig, name: string): Promise<HeldMessage[]> {
  const contents = await rig.queues.contents(name);
  return [...contents.ready, ...contents.delayed];
}

function attributes(message: HeldMessage): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(message.messageAttributes).map(([name, value]) => [name, value.StringValue]));
}

describe("re-enqueued and dead-lettered parts follow the producer's rules (item 4)", () => {
  it('a job of almost 1 MiB: the narrowed copy plus its count attribute would not fit, so only the pending part goes to the DLQ and the record is done', async () => {
    // Prepare: 1,048,572 octets, legal for the producer (and for SQS without attributes).
    const { rig, smtp } = await rigWith();
    const job = sizedJob(mailJob(1, { to: ['a@x.io', 'later@x.io'] }), 1_048_572);
    // Act
    const { records, response } = await rig.run([job]);
    // Assess: the recipient who took it got it once, nothing comes back, the DLQ holds the rest only.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@x.io']]);
    expect(await held(rig, rig.queues.queueName)).toEqual([]);
    const dead = await held(rig, rig.queues.dlqName);
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]!.body)).toEqual({ ...job, to: ['later@x.io'] });
    // 1,048,563 octets of body leave 13 for attributes: none fits (the body is kept, the attributes give way).
    expect(attributes(dead[0]!)).toEqual({});
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'partlyRefused', placement: 'done' });
  });

  it('U+FFFE and U+FFFF in a raw message: the re-enqueued copy escapes them as the producer does', async () => {
    // Prepare: a raw job (explicit envelope) whose text holds both characters, as the producer sends it.
    const { rig, smtp } = await rigWith();
    const message =
      'From: s@example.com\r\nTo: a@example.com\r\nSubject: Test job 1\r\nMessage-ID: <j1@example.com>\r\n\r\nodd \ufffe and \uffff\r\n';
    const job = { v: 1, id: 'job-1', raw: { envelope: { from: 's@example.com', to: ['a@example.com', 'later@example.com'] }, message } };
    const body = JSON.stringify(job).replace(/[\ufffe\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
    // Act
    const { response } = await rig.run([body]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@example.com']]);
    const requeued = await held(rig, rig.queues.queueName);
    expect(requeued).toHaveLength(1);
    expect(requeued[0]!.body).toContain('\\ufffe and \\uffff');
    expect(requeued[0]!.body).not.toMatch(/[\ufffe\uffff]/);
    expect(parseMailJob(JSON.parse(requeued[0]!.body))).toMatchObject({
      kind: 'raw',
      id: 'job-1',
      envelope: { from: 's@example.com', to: ['later@example.com'] },
      message,
    });
    expect(await held(rig, rig.queues.dlqName)).toEqual([]);
  });
});

describe('a copy holds only the recipients not yet delivered (item 5)', () => {
  it('a large job whose recipient refused for now sits in cc: the copy is narrowed (cc too), never the whole job', async () => {
    // Prepare: 1,000,000 octets: too large for the raw form (the composed message grows: base64 lines, CRLF escaped in JSON), small enough to narrow.
    const { rig, smtp } = await rigWith();
    const job = sizedJob(
      mailJob(1, { to: ['a@example.com'], cc: ['Cy <later-cy@example.com>', 'b@example.com'], bcc: ['d@example.com'] }),
      1_000_000,
    );
    // Act
    const { response } = await rig.run([job]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@example.com', 'b@example.com', 'd@example.com']]);
    const requeued = await held(rig, rig.queues.queueName);
    expect(requeued).toHaveLength(1);
    const next = JSON.parse(requeued[0]!.body) as Record<string, unknown>;
    const { cc: _cc, bcc: _bcc, ...rest } = job;
    expect(next).toEqual({ ...rest, to: ['Cy <later-cy@example.com>'] });
    expect((await composeMail(parseMailJob(next))).envelope.to).toEqual(['later-cy@example.com']);
    expect(await held(rig, rig.queues.dlqName)).toEqual([]);
  });

  it('several blind copies refused for now in a large job: one copy each, so that none sees another', async () => {
    // Prepare
    const { rig, smtp } = await rigWith();
    const job = sizedJob(mailJob(1, { to: ['a@example.com'], bcc: ['later-1@example.com', 'later-2@example.com'] }), 1_000_000);
    // Act
    const { response } = await rig.run([job]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@example.com']]);
    const requeued = (await held(rig, rig.queues.queueName)).map((m) => JSON.parse(m.body) as Record<string, unknown>);
    const { bcc: _bcc, ...rest } = job;
    expect(requeued.sort((x, y) => String(x['to']).localeCompare(String(y['to'])))).toEqual([
      { ...rest, to: ['later-1@example.com'] },
      { ...rest, to: ['later-2@example.com'] },
    ]);
  });

  it('after the last re-enqueue the DLQ copy holds only the pending recipients and says how many took it', async () => {
    // Prepare: a record already re-enqueued 5 times (the limit) whose recipient in cc is still refused.
    const { rig, smtp } = await rigWith({}, 5);
    const job = sizedJob(mailJob(1, { to: ['a@example.com', 'b@example.com'], cc: ['later@example.com'] }), 1_000_000);
    await rig.queues.publish([JSON.stringify(job)], { attributes: { MailRequeueCount: '5' } });
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@example.com', 'b@example.com']]);
    const dead = await held(rig, rig.queues.dlqName);
    expect(dead).toHaveLength(1);
    const { cc: _cc, ...rest } = job;
    expect(JSON.parse(dead[0]!.body)).toEqual({ ...rest, to: ['later@example.com'] });
    expect(attributes(dead[0]!)).toEqual({
      FailurePhase: 'rcpt',
      FailureKind: 'permanent',
      FailureMessage: 'recipients still refused for now after 5 re-enqueues',
      SourceMessageId: records[0]!.messageId,
      SourceReceiveCount: '1',
      JobId: 'job-1',
      PendingRecipients: '1',
      DeliveredRecipients: '2',
      JobForm: 'narrowed',
    });
    expect(await held(rig, rig.queues.queueName)).toEqual([]);
  });

  it('a raw job too large to copy whole: its envelope is narrowed in place', async () => {
    // Prepare: a raw job of about 1 MB with LF line ends, whose second recipient is refused for now.
    // The message as sent has CRLF line ends: copied whole it would be 2 octets a line larger, over 1 MiB.
    const { rig, smtp } = await rigWith();
    const message = `From: s@example.com\nTo: a@example.com\nSubject: Test job 1\nMessage-ID: <j1@example.com>\n\n${('x'.repeat(70) + '\n').repeat(14_400)}`;
    const job = { v: 1, id: 'job-1', raw: { envelope: { from: 's@example.com', to: ['a@example.com', 'later@example.com'] }, message } };
    expect(Buffer.byteLength(JSON.stringify(job))).toBeGreaterThan(1_036_800);
    expect(Buffer.byteLength(JSON.stringify(job))).toBeLessThan(1_040_000);
    // Act
    const { response } = await rig.run([job]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@example.com']]);
    const requeued = await held(rig, rig.queues.queueName);
    expect(requeued.map((m) => JSON.parse(m.body) as unknown)).toEqual([
      { ...job, raw: { ...job.raw, envelope: { from: 's@example.com', to: ['later@example.com'] } } },
    ]);
  });

  it('the re-enqueue fails (the mail queue is gone): the pending part goes to the DLQ and the record is done, not re-sent to everyone', async () => {
    // Prepare
    const { rig, smtp } = await rigWith();
    await rig.queues.publish([JSON.stringify(mailJob(1, { to: ['a@example.com'], cc: ['later@example.com'] }))]);
    const records = await rig.queues.receiveRecords(10);
    await emulator().sqs.send(new DeleteQueueCommand({ QueueUrl: rig.queues.queueUrl }));
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@example.com']]);
    const dead = await held(rig, rig.queues.dlqName);
    expect(dead).toHaveLength(1);
    expect(parseMailJob(JSON.parse(dead[0]!.body))).toMatchObject({
      kind: 'raw',
      id: 'job-1',
      envelope: { from: 'sender@example.com', to: ['later@example.com'] },
    });
    const { FailureMessage, ...rest } = attributes(dead[0]!);
    expect(FailureMessage).toMatch(/^recipients refused for now could not be re-enqueued: \S*QueueDoesNotExist/);
    expect(rest).toEqual({
      FailurePhase: 'rcpt',
      FailureKind: 'permanent',
      SourceMessageId: records[0]!.messageId,
      SourceReceiveCount: '1',
      JobId: 'job-1',
      JobForm: 'raw',
      PendingRecipients: '1',
      DeliveredRecipients: '1',
    });
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'partlyRefused', placement: 'done' });
  });
});
