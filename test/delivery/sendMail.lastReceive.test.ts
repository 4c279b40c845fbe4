/**
 * Issue 12, "every job in the DLQ carries a reason": with `MAIL_MAX_RECEIVES` (the queue's
 * `maxReceiveCount`), a job that would come back on its last receive is dead-lettered by the
 * handler with the reason of that receive (`FailureKind: last-receive`, `Attempts`), rather than
 * moved by SQS's redrive with nothing attached. A failed DLQ send leaves it to SQS; on a FIFO
 * queue a record held back behind an earlier one of its group stays behind it.
 */
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { DEFAULT_EXTENSIONS, startScriptedServer } from '../support/scriptedServer.js';
import type { ScriptedServerHandle } from '../support/scriptedServer.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig, SendMailRigOptions } from '../support/sendMailHarness.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { RunActivity } from '../../lib/local/RunActivity.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { startSlowSqs } from '../support/slowSqs.js';
import type { SlowSqs } from '../support/slowSqs.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();
const servers: Array<SmtpServerHandle | ScriptedServerHandle | SlowSqs> = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

/** smtp-server refusing `busy…` recipients for now (451) and `gone…` for good (550). */
async function rigWith(rigOptions: Partial<SendMailRigOptions>) {
  const server = await startSmtpServer({
    onRcptTo: (to) =>
      to.startsWith('busy') ? { code: 451, message: 'Try again later' } : to.startsWith('gone') ? { code: 550, message: 'No such user' } : undefined,
  });
  servers.push(server);
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
  const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: server.ca, ...rigOptions });
  return { rig, smtp: server };
}

/** The DLQ's messages, each as its source message id and its attributes' values. */
async function deadLetters(
  rig: SendMailRig,
): Promise<Map<string | undefined, { body: string | undefined; attributes: Record<string, string | undefined> }>> {
  const dead = await rig.queues.receiveAll(rig.queues.dlqUrl);
  return new Map(
    dead.map((m) => [
      m.MessageAttributes?.['SourceMessageId']?.StringValue,
      { body: m.Body, attributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue])) },
    ]),
  );
}

/** The records as received, with the receive counts SQS would give them on a later receive. */
function onReceive(records: SQSRecord[], counts: number[]): SQSRecord[] {
  return records.map((record, index) => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: String(counts[index]) } }));
}

const lastReceiveLine = { placement: 'deadLettered', lastReceive: true };

describe('send-mail handler, the last receive (MAIL_MAX_RECEIVES)', () => {
  it('refused for now on its last receive: dead-lettered with that reason, FailureKind last-receive and Attempts; on an earlier receive it comes back', async () => {
    // Prepare: job 1 is received once and handed back, so that the next receive is its second (real counts).
    const { rig, smtp } = await rigWith({ maxReceives: 2 });
    await rig.queues.publish([JSON.stringify(mailJob(1, { to: ['busy1@example.com'] }))]);
    const [early] = await rig.queues.receiveRecords(1);
    await emulator().sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: rig.queues.queueUrl, ReceiptHandle: early!.receiptHandle, VisibilityTimeout: 0 }),
    );
    await rig.queues.publish([JSON.stringify(mailJob(2, { to: ['busy2@example.com'] })), JSON.stringify(mailJob(3))]);
    const records = await rig.queues.receiveRecords(10);
    const byId = (n: number): SQSRecord => records.find((record) => record.body.includes(`"job-${n}"`))!;
    expect([1, 2, 3].map((n) => byId(n).attributes.ApproximateReceiveCount)).toEqual(['2', '1', '1']);
    const ordered = [byId(1), byId(2), byId(3)];
    // Act
    const response = await rig.handler(sqsEvent(ordered), lambdaContext());
    // Assess: job 1 is in the DLQ with the reason of this receive, job 2 comes back, job 3 was delivered.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: byId(2).messageId }] });
    await expectPlaces(
      rig,
      ordered,
      response,
      ['dead-lettered', 'failed', 'delivered'],
      smtp.messages.map((m) => m.raw),
    );
    const dead = await deadLetters(rig);
    expect(dead.get(byId(1).messageId)).toEqual({
      body: byId(1).body,
      attributes: {
        FailureKind: 'last-receive',
        Attempts: '2',
        FailurePhase: 'rcpt',
        FailureCode: '451',
        FailureEnhancedCode: '4.3.0',
        FailureError: 'RecipientsRefusedError',
        FailureMessage: expect.stringContaining('Try again later'),
        SourceMessageId: byId(1).messageId,
        SourceReceiveCount: '2',
        JobId: 'job-1',
      },
    });
    const lines = rig.log.records();
    expect(lines.get(byId(1).messageId)?.attributes).toMatchObject({ outcome: 'transient', receiveCount: 2, ...lastReceiveLine });
    expect(lines.get(byId(1).messageId)?.attributes).not.toHaveProperty('backoffSeconds');
    expect(lines.get(byId(2).messageId)?.attributes).toMatchObject({ outcome: 'transient', placement: 'retry', backoffSeconds: 15 });
    expect(lines.get(byId(2).messageId)?.attributes).not.toHaveProperty('lastReceive');
    expect(rig.metrics.get('DeadLettered')).toBe(1);
    expect(rig.metrics.get('Retried')).toBe(1);
    // The local run's activity (which reads these log lines) says why a failed-for-now job is in the DLQ.
    const activity = new RunActivity();
    activity.invocation({
      poller: 1,
      records: ordered,
      result: { kind: 'response', response, logs: rig.log.lines.map((line) => JSON.stringify({ message: line.message, ...line.attributes })) },
      failed: [byId(2).messageId],
      deleted: [byId(1).messageId, byId(3).messageId],
      deleteFailed: [],
      coldStart: false,
    });
    expect(activity.events.find((event) => event.messageId === byId(1).messageId)).toMatchObject({
      kind: 'dead-lettered',
      detail: 'on its last receive (2), transient: rcpt 451: The server refused every recipient: <…@example.com> 451 4.3.0 Try again later',
    });
  });

  it('not attempted on its last receive (beyond the per-connection count): dead-lettered as not-attempted, saying why', async () => {
    // Prepare: two jobs, one per connection, both on their last receive.
    const { rig, smtp } = await rigWith({ maxReceives: 4, mailPerConnection: 1 });
    await rig.queues.publish([JSON.stringify(mailJob(1)), JSON.stringify(mailJob(2))]);
    const records = onReceive(await rig.queues.receiveRecords(10), [4, 4]);
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'dead-lettered'],
      smtp.messages.map((m) => m.raw),
    );
    expect((await deadLetters(rig)).get(records[1]!.messageId)?.attributes).toEqual({
      FailureKind: 'last-receive',
      Attempts: '4',
      FailurePhase: 'not-attempted',
      FailureMessage: 'not attempted on its last receive: beyond the per-connection count (MAIL_PER_CONNECTION)',
      SourceMessageId: records[1]!.messageId,
      SourceReceiveCount: '4',
      JobId: 'job-2',
    });
    expect(rig.log.records().get(records[1]!.messageId)?.attributes).toMatchObject({
      outcome: 'notAttempted',
      cause: 'perConnectionLimit',
      ...lastReceiveLine,
    });
  });

  it('a drop after the end of data on the last receive: the possibly delivered job and the ones behind it are dead-lettered, each with its reason', async () => {
    // Prepare: a scripted relay that drops the connection after job 2's dot; every receive is the last (maxReceiveCount 1).
    const relay = await startScriptedServer({
      extensions: DEFAULT_EXTENSIONS.filter((extension) => extension !== 'CHUNKING'),
      onData: (message) => (message.content.toString('latin1').includes('Subject: Test job 2\r\n') ? 'drop' : undefined),
    });
    servers.push(relay);
    const settings: SmtpSettings = { host: relay.host, port: relay.port, security: 'starttls', username: 'mailer', password: 'secret' };
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: relay.ca, maxReceives: 1 });
    // Act
    const { records, response } = await rig.run([mailJob(1), mailJob(2), mailJob(3)]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const dead = await deadLetters(rig);
    expect(dead.has(records[0]!.messageId)).toBe(false);
    expect(dead.get(records[1]!.messageId)?.attributes).toMatchObject({ FailureKind: 'last-receive', Attempts: '1', FailurePhase: 'data' });
    expect(dead.get(records[2]!.messageId)?.attributes).toMatchObject({
      FailureKind: 'last-receive',
      Attempts: '1',
      FailurePhase: 'not-attempted',
      FailureMessage: 'not attempted on its last receive: the connection was lost before its turn',
    });
    const lines = rig.log.records();
    expect(lines.get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'ambiguous', possibleDuplicate: true, ...lastReceiveLine });
    expect(rig.metrics.get('PossibleDuplicates')).toBe(1);
  });

  it('relay unreachable: every job on its last receive is dead-lettered with the systemic reason, the others come back', async () => {
    // Prepare: a port where nothing listens any more.
    const gone = await startSmtpServer();
    await gone.stop();
    const settings: SmtpSettings = { host: gone.host, port: gone.port, security: 'starttls', username: 'u', password: 'p' };
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: gone.ca, maxReceives: 5 });
    await rig.queues.publish([1, 2, 3].map((n) => JSON.stringify(mailJob(n))));
    const records = onReceive(await rig.queues.receiveRecords(10), [5, 3, 6]);
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
    await expectPlaces(rig, records, response, ['dead-lettered', 'failed', 'dead-lettered'], []);
    const dead = await deadLetters(rig);
    for (const [index, attempts] of [
      [0, '5'],
      [2, '6'],
    ] as const) {
      expect(dead.get(records[index]!.messageId)?.attributes).toMatchObject({
        FailureKind: 'last-receive',
        Attempts: attempts,
        FailurePhase: 'connect',
        FailureError: 'ConnectionError',
      });
    }
    expect(rig.log.records().get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'systemic', placement: 'retry' });
    expect(rig.metrics.get('SystemicFailures')).toBe(1);
  });

  it('the DLQ send fails on the last receive: the job is left to SQS (in batchItemFailures), the failure logged', async () => {
    // Prepare: the DLQ URL names a queue the emulator does not have.
    const { rig, smtp } = await rigWith({ maxReceives: 3, dlqUrl: `${emulator().endpoint}/000000000000/no-such-dlq` });
    await rig.queues.publish([JSON.stringify(mailJob(1, { to: ['busy1@example.com'] })), JSON.stringify(mailJob(2))]);
    const records = onReceive(await rig.queues.receiveRecords(10), [3, 3]);
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.messageId }] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt2@example.com']]);
    const line = rig.log.records().get(records[0]!.messageId);
    expect(line?.level).toBe('error');
    expect(line?.attributes).toMatchObject({ outcome: 'transient', placement: 'retry' });
    expect(line?.attributes['problem']).toMatch(/^dead-letter send failed: /);
    expect(rig.metrics.get('DeadLettered')).toBe(0);
  });

  it('unset (today): a job that fails on any receive comes back, for SQS to move', async () => {
    // Prepare
    const { rig } = await rigWith({});
    await rig.queues.publish([JSON.stringify(mailJob(1, { to: ['busy1@example.com'] }))]);
    const records = onReceive(await rig.queues.receiveRecords(10), [1000]);
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.messageId }] });
    expect((await deadLetters(rig)).size).toBe(0);
  });
});

describe('send-mail handler, the last receive on a FIFO queue', () => {
  it('a job dead-lettered on its last receive lets its group go on; a job held back behind an earlier one of its group stays behind it', async () => {
    // Prepare: group A: job 1 refused for now on its last receive, then job 2. Group B: job 3 refused
    // for now on an earlier receive, then job 4 on its last receive (it must not pass job 3).
    const { rig, smtp } = await rigWith({ maxReceives: 3, fifo: true });
    const jobs: [string, number, Record<string, unknown>][] = [
      ['A', 3, mailJob(1, { to: ['busy1@example.com'] })],
      ['A', 1, mailJob(2)],
      ['B', 2, mailJob(3, { to: ['busy3@example.com'] })],
      ['B', 3, mailJob(4)],
    ];
    await rig.queues.publish(jobs.map(([, , job]) => JSON.stringify(job)));
    const received = await rig.queues.receiveRecords(10);
    expect(received).toHaveLength(4);
    // fauxqs hands out one message per group per receive: each is published in its own group and the record names its group.
    const records = received.map((record, index) => ({
      ...record,
      attributes: { ...record.attributes, MessageGroupId: jobs[index]![0], ApproximateReceiveCount: String(jobs[index]![1]) },
    }));
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt2@example.com']]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[2]!.messageId, records[3]!.messageId]);
    await expectPlaces(
      rig,
      records,
      response,
      ['dead-lettered', 'delivered', 'failed', 'failed'],
      smtp.messages.map((m) => m.raw),
    );
    const dead = await deadLetters(rig);
    expect(dead.get(records[0]!.messageId)?.attributes).toMatchObject({ FailureKind: 'last-receive', Attempts: '3', FailureCode: '451' });
    expect(rig.log.records().get(records[3]!.messageId)?.attributes).toMatchObject({
      outcome: 'notAttempted',
      cause: 'fifoStopped',
      placement: 'retry',
    });
  });
});

describe('send-mail handler, the last receive and the deadline', () => {
  it('SQS never answers: the handler still answers before its deadline, and every job it meant to dead-letter is left to SQS', async () => {
    // Prepare: job 2 refused for now, job 3 never answered after its dot (the session is cut), job 4 behind it; every receive is the last.
    const relay = await startScriptedServer({
      extensions: DEFAULT_EXTENSIONS.filter((extension) => extension !== 'CHUNKING'),
      onCommand: (command) => (command.verb === 'RCPT' && command.args.includes('later') ? ['451 4.7.1 Try again later'] : undefined),
      onData: (message) => (message.content.toString('latin1').includes('Subject: Test job 3\r\n') ? 'silent' : undefined),
    });
    servers.push(relay);
    const slow = await startSlowSqs(emulator().endpoint, Number.POSITIVE_INFINITY);
    servers.push(slow);
    process.env['AWS_ENDPOINT_URL_SQS'] = slow.endpoint;
    const settings: SmtpSettings = { host: relay.host, port: relay.port, security: 'starttls', username: 'mailer', password: 'secret' };
    // No `sqs` given: the handler builds its own client (through the proxy), as in Lambda.
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: { kind: 'url', settings },
      tlsCa: relay.ca,
      maxReceives: 1,
      deps: { sqs: undefined },
    });
    await rig.queues.publish([mailJob(1), mailJob(2, { to: ['later2@example.com'] }), mailJob(3), mailJob(4)].map((job) => JSON.stringify(job)));
    const records = await rig.queues.receiveRecords(10);
    const budgetMs = 9_000;
    const end = Date.now() + budgetMs;
    // Act
    const response = await rig.handler(
      sqsEvent(records),
      lambdaContext(() => end - Date.now()),
    );
    // Assess
    expect(Date.now()).toBeLessThan(end);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(1).map((record) => record.messageId));
    const lines = rig.log.records();
    for (const record of records.slice(1)) {
      expect(lines.get(record.messageId)?.attributes).toMatchObject({ placement: 'retry', lastReceive: true });
      expect(String(lines.get(record.messageId)?.attributes['problem'])).toMatch(/dead-letter send failed|ran out of time/);
    }
    expect(slow.calls.filter((call) => call.forwarded)).toEqual([]);
    expect(await rig.queues.receiveAll(rig.queues.dlqUrl)).toEqual([]);
  }, 30_000);
});
