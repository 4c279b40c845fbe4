/**
 * The send-mail handler against a real SMTP server (smtp-server, STARTTLS + AUTH) and the SQS
 * emulator: one case per row of the outcome table.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMailJob } from '../../lib/message/index.js';
import type { SmtpSettings } from '../../lib/config.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
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

async function rigWith(serverOptions: SmtpServerOptions = {}, rigOptions: Partial<SendMailRigOptions> = {}) {
  server = await startSmtpServer(serverOptions);
  const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings: settingsOf(server) }, tlsCa: server.ca, ...rigOptions });
  return { rig, smtp: server };
}

describe('send-mail handler, outcome table, against smtp-server and fauxqs', () => {
  it('delivered: every job sent over one connection, nothing reported failed', async () => {
    // Prepare
    const { rig, smtp } = await rigWith();
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2), mailJob(3)]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com'], ['rcpt3@example.com']]);
    expect(smtp.messages.every((m) => m.secure && m.user === smtp.user)).toBe(true);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'delivered', 'delivered'],
      smtp.messages.map((m) => m.raw),
    );
    const lines = rig.log.records();
    expect(records.map((r) => lines.get(r.messageId)?.attributes['outcome'])).toEqual(['delivered', 'delivered', 'delivered']);
    expect(records.map((r) => lines.get(r.messageId)?.attributes['jobId'])).toEqual(['job-1', 'job-2', 'job-3']);
    expect(rig.metrics.get('Delivered')).toBe(3);
    expect(rig.metrics.get('Retried')).toBe(0);
    expect(rig.metrics.get('RoundTrips')).toBeGreaterThan(0);
  });

  it('a batch of 10 with mixed outcomes: each record delivered, re-enqueued in part, dead-lettered or retried', async () => {
    // Prepare
    const { rig, smtp } = await rigWith({
      size: 200_000,
      onMailFrom: (from) =>
        from === 'blocked@example.com'
          ? { code: 550, message: 'Sender blocked' }
          : from === 'busy@example.com'
            ? { code: 451, message: 'Try later' }
            : undefined,
      onRcptTo: (to) =>
        to.startsWith('gone') ? { code: 550, message: 'No such user' } : to.startsWith('later') ? { code: 450, message: 'Mailbox busy' } : undefined,
      onData: (raw) => (raw.toString('latin1').includes('Subject: Test job 7') ? { code: 554, message: 'Content rejected' } : undefined),
    });
    const big = Buffer.alloc(300_000, 7).toString('base64');
    const jobs = [
      mailJob(1),
      mailJob(2, { to: ['rcpt2@example.com', 'gone2@example.com', 'Later <later2@example.com>'] }),
      mailJob(3, { to: ['gone3@example.com'] }),
      mailJob(4, { to: ['later4@example.com'] }),
      mailJob(5, { from: 'blocked@example.com' }),
      mailJob(6, { from: 'busy@example.com' }),
      mailJob(7),
      mailJob(8, { to: 'not an address' }),
      mailJob(9, { attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: big }] }),
      mailJob(10),
    ];
    const started = Date.now();
    // Act
    const { records, response } = await rig.run(jobs);
    // Assess
    const id = (n: number): string => records[n - 1]!.messageId;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: id(4) }, { itemIdentifier: id(6) }]);
    await expectPlaces(
      rig,
      records,
      response,
      [
        'delivered',
        'delivered+requeued',
        'dead-lettered',
        'failed',
        'dead-lettered',
        'failed',
        'dead-lettered',
        'dead-lettered',
        'dead-lettered',
        'delivered',
      ],
      smtp.messages.map((m) => m.raw),
    );
    expect(smtp.messages.find((m) => m.raw.includes('Subject: Test job 2'))?.to).toEqual(['rcpt2@example.com']);

    // The DLQ holds each permanent failure's job as published, with its reason as attributes.
    const dead = await emulator().sqs.send(
      new ReceiveMessageCommand({ QueueUrl: rig.queues.dlqUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );
    const reasons = new Map(
      (dead.Messages ?? []).map((m) => [
        m.MessageAttributes?.['SourceMessageId']?.StringValue,
        {
          body: m.Body,
          phase: m.MessageAttributes?.['FailurePhase']?.StringValue,
          code: m.MessageAttributes?.['FailureCode']?.StringValue,
          enhancedCode: m.MessageAttributes?.['FailureEnhancedCode']?.StringValue,
          text: m.MessageAttributes?.['FailureMessage']?.StringValue,
          jobId: m.MessageAttributes?.['JobId']?.StringValue,
          error: m.MessageAttributes?.['FailureError']?.StringValue,
        },
      ]),
    );
    expect(reasons.get(id(3))).toMatchObject({
      body: records[2]!.body,
      phase: 'rcpt',
      code: '550',
      enhancedCode: '5.1.1',
      jobId: 'job-3',
      error: 'RecipientsRefusedError',
    });
    expect(reasons.get(id(3))?.text).toContain('No such user');
    expect(reasons.get(id(5))).toMatchObject({ phase: 'mail', code: '550', jobId: 'job-5' });
    expect(reasons.get(id(7))).toMatchObject({ phase: 'data', code: '554', jobId: 'job-7' });
    expect(reasons.get(id(7))?.text).toContain('Content rejected');
    expect(reasons.get(id(8))).toMatchObject({ body: records[7]!.body, phase: 'job', jobId: 'job-8' });
    expect(reasons.get(id(8))?.text).toContain('to');
    expect(reasons.get(id(9))).toMatchObject({ phase: 'mail', jobId: 'job-9', error: 'MessageTooLargeError' });
    expect(reasons.get(id(9))?.text).toContain('at most 200000');

    // Job 2's recipient refused for now is back on the queue, alone, as the same message with the same id.
    const queue = await rig.queues.contents(rig.queues.queueName);
    const requeued = [...queue.ready, ...queue.delayed].filter((m) => m.messageAttributes['MailRequeueCount'] !== undefined);
    expect(requeued).toHaveLength(1);
    expect(requeued[0]!.messageAttributes['MailRequeueCount']?.StringValue).toBe('1');
    const next = parseMailJob(JSON.parse(requeued[0]!.body));
    expect(next).toMatchObject({ kind: 'raw', id: 'job-2', envelope: { from: 'sender@example.com', to: ['later2@example.com'] } });
    const sentToOthers = smtp.messages.find((m) => m.raw.includes('Subject: Test job 2'))!.raw.toString('utf8');
    expect(next.kind === 'raw' && next.message).toBe(sentToOthers);

    // The transient failures stay invisible for their backoff (receive 1, no jitter: 15 s).
    const finished = Date.now();
    for (const n of [4, 6]) {
      const held = queue.inflight.find((entry) => entry.message.messageId === id(n));
      expect(held?.visibilityDeadline).toBeGreaterThanOrEqual(started + 15_000);
      expect(held?.visibilityDeadline).toBeLessThanOrEqual(finished + 15_000);
    }
    const lines = rig.log.records();
    expect(lines.get(id(4))?.attributes).toMatchObject({ outcome: 'transient', placement: 'retry', backoffSeconds: 15 });
    expect(lines.get(id(2))?.attributes).toMatchObject({ outcome: 'partlyRefused', requeuedRecipients: 1 });
    expect(rig.metrics.get('Delivered')).toBe(3);
    expect(rig.metrics.get('DeadLettered')).toBe(5);
    expect(rig.metrics.get('Retried')).toBe(2);
    expect(rig.metrics.get('RecipientsRefused')).toBe(4); // job 2: two, job 3: one, job 4: one
    expect(rig.metrics.get('RecipientsRequeued')).toBe(1);
    // Logs: domains only, never a full address, a body or the password.
    const logged = JSON.stringify(rig.log.lines);
    expect(logged).not.toMatch(/[A-Za-z0-9]@example\.com/);
    expect(logged).not.toContain('Body of job');
    expect(logged).not.toContain(smtp.pass);
    expect(logged).toContain('"domain":"example.com"');
  });

  it('not attempted: jobs beyond the per-connection count are retried without a backoff', async () => {
    // Prepare
    const { rig, smtp } = await rigWith({}, { mailPerConnection: 3 });
    // Act
    const { records, response } = await rig.run([1, 2, 3, 4, 5].map((n) => mailJob(n)));
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[3]!.messageId }, { itemIdentifier: records[4]!.messageId }]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'delivered', 'delivered', 'failed', 'failed'],
      smtp.messages.map((m) => m.raw),
    );
    const lines = rig.log.records();
    expect(lines.get(records[3]!.messageId)?.attributes).toEqual(
      expect.objectContaining({ outcome: 'notAttempted', cause: 'perConnectionLimit', placement: 'retry' }),
    );
    expect(lines.get(records[3]!.messageId)?.attributes['backoffSeconds']).toBeUndefined();
  });

  it('not attempted: once the remaining time falls under the margin no new message starts', async () => {
    // Prepare: the invocation "runs short" as soon as the server has two messages.
    const { rig, smtp } = await rigWith();
    const remaining = (): number => (smtp.messages.length >= 2 ? 1_000 : 60_000);
    // Act
    const { records, response } = await rig.run(
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) => mailJob(n)),
      remaining,
    );
    // Assess: a prefix of the batch went (the two, plus at most the window already handed to the client), the rest are back.
    const delivered = smtp.messages.length;
    expect(delivered).toBeGreaterThanOrEqual(2);
    expect(delivered).toBeLessThanOrEqual(4);
    const places = records.map((_, index) => (index < delivered ? 'delivered' : 'failed'));
    await expectPlaces(
      rig,
      records,
      response,
      places,
      smtp.messages.map((m) => m.raw),
    );
    const lines = rig.log.records();
    for (const record of records.slice(delivered)) {
      expect(lines.get(record.messageId)?.attributes).toEqual(expect.objectContaining({ outcome: 'notAttempted', cause: 'outOfTime' }));
    }
  });

  it('not attempted: with less than the margin left at the start, nothing is sent and no connection is opened', async () => {
    // Prepare
    const { rig, smtp } = await rigWith();
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2)], () => 4_000);
    // Assess
    expect(smtp.messages).toEqual([]);
    expect(smtp.authAttempts).toEqual([]);
    await expectPlaces(rig, records, response, ['failed', 'failed'], []);
  });

  it('permanent: invalid jobs among valid ones are dead-lettered alone, the valid ones delivered', async () => {
    // Prepare
    const { rig, smtp } = await rigWith();
    const jobs = [mailJob(1), 'this is not JSON', mailJob(3, { v: 2, cc: ['a@example.com, b@example.com'] }), mailJob(4)];
    // Act
    const { records, response } = await rig.run(jobs);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'dead-lettered', 'dead-lettered', 'delivered'],
      smtp.messages.map((m) => m.raw),
    );
    const dead = await rig.queues.receiveAll(rig.queues.dlqUrl);
    const bySource = new Map(dead.map((m) => [m.MessageAttributes?.['SourceMessageId']?.StringValue, m]));
    expect(bySource.get(records[1]!.messageId)?.Body).toBe('this is not JSON');
    expect(bySource.get(records[1]!.messageId)?.MessageAttributes?.['FailureMessage']?.StringValue).toBe('the message body is not JSON');
    const invalid = bySource.get(records[2]!.messageId)?.MessageAttributes?.['FailureMessage']?.StringValue ?? '';
    expect(invalid).toMatch(/^invalid mail job \(2 problems\): /); // said once, not twice
    expect(invalid).toContain('v:'); // every problem at once
    expect(invalid).toContain('cc[0]');
    expect(rig.log.records().get(records[2]!.messageId)?.attributes).toMatchObject({
      outcome: 'permanent',
      placement: 'deadLettered',
      jobId: 'job-3',
    });
  });

  it('permanent, but the DLQ send fails: the record is reported failed instead, nothing is lost', async () => {
    // Prepare: the DLQ URL names a queue the emulator does not have.
    const { rig, smtp } = await rigWith(
      { onRcptTo: (to) => (to.startsWith('gone') ? { code: 550, message: 'No such user' } : undefined) },
      { dlqUrl: `${emulator().endpoint}/000000000000/no-such-dlq` },
    );
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2, { to: ['gone2@example.com'] }), 'not JSON', mailJob(4)]);
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: records[1]!.messageId }, { itemIdentifier: records[2]!.messageId }]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'failed', 'failed', 'delivered'],
      smtp.messages.map((m) => m.raw),
    );
    const line = rig.log.records().get(records[1]!.messageId)!;
    expect(line.level).toBe('error');
    expect(line.attributes).toMatchObject({ outcome: 'permanent', placement: 'retry' });
    expect(String(line.attributes['problem'])).toContain('dead-letter send failed');
  });

  it('partly refused: after the last allowed re-enqueue, recipients still refused for now go to the DLQ as their own job', async () => {
    // Prepare
    const { rig, smtp } = await rigWith({
      onRcptTo: (to) => (to.startsWith('later') ? { code: 452, message: 'Too many recipients now' } : undefined),
    });
    await rig.queues.publish([JSON.stringify(mailJob(1, { to: ['rcpt1@example.com', 'later1@example.com'] }))], {
      attributes: { MailRequeueCount: '5' },
    });
    const records = await rig.queues.receiveRecords();
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com']]);
    const dead = await rig.queues.receiveAll(rig.queues.dlqUrl);
    expect(dead).toHaveLength(1);
    expect(parseMailJob(JSON.parse(dead[0]!.Body!))).toMatchObject({ kind: 'raw', id: 'job-1', envelope: { to: ['later1@example.com'] } });
    expect(dead[0]!.MessageAttributes?.['FailureMessage']?.StringValue).toBe('recipients still refused for now after 5 re-enqueues');
    const queue = await rig.queues.contents(rig.queues.queueName);
    expect([...queue.ready, ...queue.delayed]).toEqual([]);
  });

  it('partly refused: the re-enqueued job delivers to only the refused recipient once it takes mail, as the same message', async () => {
    // Prepare: no backoff delay so that the re-enqueued job can be received at once.
    let busy = true;
    const { rig, smtp } = await rigWith(
      { onRcptTo: (to) => (to.startsWith('later') && busy ? { code: 450, message: 'Mailbox busy' } : undefined) },
      { deps: { tuning: { backoff: { baseSeconds: 0 } } } },
    );
    const first = await rig.run([mailJob(1, { to: ['rcpt1@example.com'], cc: ['later1@example.com'] })]);
    expect(first.response).toEqual({ batchItemFailures: [] });
    busy = false;
    const again = await rig.queues.receiveRecords();
    expect(again).toHaveLength(1);
    // Act
    const response = await rig.handler(sqsEvent(again), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['later1@example.com']]);
    expect(smtp.messages[1]!.raw.equals(smtp.messages[0]!.raw)).toBe(true);
    expect(smtp.messages[1]!.raw.toString('latin1')).toMatch(/^Cc: later1@example\.com/m);
  });

  it('an unexpected failure of the delivery itself: every record of the batch is retried, and an error logged', async () => {
    // Prepare: a broken invocation clock makes the delivery throw before anything is sent.
    const { rig, smtp } = await rigWith();
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2)], () => {
      throw new Error('clock broken');
    });
    // Assess
    await expectPlaces(
      rig,
      records,
      response,
      ['failed', 'failed'],
      smtp.messages.map((m) => m.raw),
    );
    expect(rig.log.lines).toEqual([
      {
        level: 'error',
        message: 'the batch could not be handled; every record is retried',
        attributes: { error: 'Error: clock broken', records: 2 },
      },
    ]);
  });

  it('an event without records gets an empty answer and opens no connection', async () => {
    const { rig, smtp } = await rigWith();
    expect(await rig.handler(sqsEvent([]), lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(smtp.authAttempts).toEqual([]);
  });

  it('transient: the backoff grows with the receive count (third receive: 60 s without jitter)', async () => {
    // Prepare: the job has been handed out twice before.
    const { rig } = await rigWith({ onRcptTo: () => ({ code: 451, message: 'Greylisted' }) });
    await rig.queues.publish([JSON.stringify(mailJob(1))]);
    for (let receive = 0; receive < 2; receive += 1) {
      await emulator().sqs.send(new ReceiveMessageCommand({ QueueUrl: rig.queues.queueUrl, VisibilityTimeout: 0 }));
    }
    const records = await rig.queues.receiveRecords();
    expect(records[0]!.attributes.ApproximateReceiveCount).toBe('3');
    const started = Date.now();
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.messageId }] });
    const held = (await rig.queues.contents(rig.queues.queueName)).inflight[0]!;
    expect(held.visibilityDeadline).toBeGreaterThanOrEqual(started + 60_000);
    expect(held.visibilityDeadline).toBeLessThanOrEqual(Date.now() + 60_000);
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', receiveCount: 3, backoffSeconds: 60 });
  });

  it('permanent, with a job at the SQS size limit: it still reaches the DLQ, keeping the attributes that fit', async () => {
    // Prepare: an invalid job (unknown field) whose body is a few bytes under 1 MiB.
    const { rig } = await rigWith();
    const base = JSON.stringify({ ...mailJob(1), oops: true, text: '' });
    const body = JSON.stringify({ ...mailJob(1), oops: true, text: 'x'.repeat(1_048_576 - 40 - base.length) });
    expect(Buffer.byteLength(body)).toBe(1_048_576 - 40);
    // Act
    const { records, response } = await rig.run([body]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const dead = await rig.queues.receiveAll(rig.queues.dlqUrl);
    expect(dead.map((m) => m.Body)).toEqual([body]);
    // 40 bytes of room: the phase (21 bytes) and the job id (16) fit; the rest, by priority, does not.
    const attributes = dead[0]!.MessageAttributes ?? {};
    expect(Object.keys(attributes).sort()).toEqual(['FailurePhase', 'JobId']);
    expect(attributes['FailurePhase']?.StringValue).toBe('job');
    expect(attributes['JobId']?.StringValue).toBe('job-1');
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'permanent', placement: 'deadLettered' });
  });
});
