/**
 * The handler answers before the invocation's deadline whatever the relay and SQS do: a relay that
 * stalls after the end of data and a slow (or silent) SQS behind the calls the delivery makes after
 * the session (DLQ sends, visibility changes). The handler's own SQS client is used (built from the
 * environment, as in Lambda), pointed at a real HTTP proxy that delays every request to the
 * emulator; a record whose SQS call did not finish in time is in `batchItemFailures`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import type { SmtpSettings } from '../../lib/config.js';
import { DEFAULT_EXTENSIONS, startScriptedServer } from '../support/scriptedServer.js';
import type { ScriptedMessage, ScriptedServerHandle } from '../support/scriptedServer.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { startSlowSqs } from '../support/slowSqs.js';
import type { SlowSqs } from '../support/slowSqs.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();
let server: ScriptedServerHandle | undefined;
let slow: SlowSqs | undefined;

afterEach(async () => {
  await server?.stop();
  await slow?.stop();
  server = undefined;
  slow = undefined;
});

const BUDGET_MS = 9_000;
const isJob = (message: ScriptedMessage, n: number): boolean => message.content.toString('latin1').includes(`Subject: Test job ${n}\r\n`);

/**
 * A scripted relay (550 for `gone…`, 451 for `later…`, silence after the end of data of job 4) and
 * the handler with its own SQS client, talking to the emulator through a proxy `sqsLatencyMs` slow.
 */
async function stalledRig(sqsLatencyMs: number, options: { fifo?: boolean } = {}): Promise<{ rig: SendMailRig; confirmed: Buffer[] }> {
  const confirmed: Buffer[] = [];
  server = await startScriptedServer({
    extensions: DEFAULT_EXTENSIONS.filter((extension) => extension !== 'CHUNKING'),
    onCommand: (command) => {
      if (command.verb === 'RCPT' && command.args.includes('gone')) return ['550 5.1.1 No such user'];
      if (command.verb === 'RCPT' && command.args.includes('later')) return ['451 4.7.1 Try again later'];
      return undefined;
    },
    onData: (message) => {
      if (isJob(message, 4)) return 'silent';
      confirmed.push(message.content);
      return undefined;
    },
  });
  slow = await startSlowSqs(emulator().endpoint, sqsLatencyMs);
  process.env['AWS_ENDPOINT_URL_SQS'] = slow.endpoint;
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: 'mailer', password: 'secret' };
  // No `sqs` given: the handler builds its own client, as in Lambda.
  const rig = await sendMailRig({
    emulator: emulator(),
    smtp: { kind: 'url', settings },
    tlsCa: server.ca,
    fifo: options.fifo ?? false,
    deps: { sqs: undefined },
  });
  return { rig, confirmed };
}

/** Publishes the five jobs, receives them, and runs the handler with {@link BUDGET_MS} left. */
async function runWithBudget(rig: SendMailRig): Promise<{ records: SQSRecord[]; response: SQSBatchResponse; elapsedMs: number }> {
  const jobs = [mailJob(1), mailJob(2, { to: ['gone2@example.com'] }), mailJob(3, { to: ['later3@example.com'] }), mailJob(4), mailJob(5)];
  await rig.queues.publish(jobs.map((job) => JSON.stringify(job)));
  const records = await rig.queues.receiveRecords(10);
  expect(records).toHaveLength(jobs.length);
  const end = Date.now() + BUDGET_MS;
  const response = await rig.handler(
    sqsEvent(records),
    lambdaContext(() => end - Date.now()),
  );
  return { records, response, elapsedMs: BUDGET_MS - (end - Date.now()) };
}

describe('send-mail handler: the deadline holds with a stalling relay and a slow SQS', () => {
  it('SQS 3 s per call: the session ends earlier to leave SQS its time; the DLQ send and the visibility changes all made it before the deadline', async () => {
    // Prepare
    const { rig, confirmed } = await stalledRig(3_000);
    // Act
    const { records, response, elapsedMs } = await runWithBudget(rig);
    // Assess
    expect(elapsedMs).toBeLessThan(BUDGET_MS);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(2).map((record) => record.messageId));
    await expectPlaces(rig, records, response, ['delivered', 'dead-lettered', 'failed', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', backoffSeconds: 15 });
    expect(lines.get(records[3]!.messageId)?.attributes).toMatchObject({ outcome: 'ambiguous', possibleDuplicate: true, backoffSeconds: 15 });
    for (const record of records.slice(2)) expect(lines.get(record.messageId)?.attributes['problem']).toBeUndefined();
    // The session was cut 4 s before the end (0.5 s + 1.25 × the 3 s the DLQ send took, at most the
    // start margin less 1 s), and the visibility changes took 3 s after that.
    const queue = await rig.queues.contents(rig.queues.queueName);
    const held = queue.inflight.find((entry) => entry.message.messageId === records[2]!.messageId);
    expect(held?.visibilityDeadline).toBeGreaterThan(Date.now() + 14_000);
  }, 30_000);

  it('SQS never answers: answers before the deadline, and the record whose DLQ send did not finish comes back', async () => {
    // Prepare
    const { rig, confirmed } = await stalledRig(Number.POSITIVE_INFINITY);
    // Act
    const { records, response, elapsedMs } = await runWithBudget(rig);
    // Assess
    expect(elapsedMs).toBeLessThan(BUDGET_MS);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(1).map((record) => record.messageId));
    await expectPlaces(rig, records, response, ['delivered', 'failed', 'failed', 'failed', 'failed'], confirmed);
    expect(String(rig.log.records().get(records[1]!.messageId)?.attributes['problem'])).toContain('dead-letter send failed');
    expect(slow!.calls.filter((call) => call.forwarded)).toEqual([]);
  }, 30_000);

  it('visibility changes go out in parallel: 20 records that failed for now get their backoff in about one SQS round trip', async () => {
    // Prepare: every recipient refused for now; SQS 3 s per call; two batches of ten changes.
    server = await startScriptedServer({
      extensions: DEFAULT_EXTENSIONS.filter((extension) => extension !== 'CHUNKING'),
      onCommand: (command) => (command.verb === 'RCPT' ? ['451 4.7.1 Try again later'] : undefined),
    });
    slow = await startSlowSqs(emulator().endpoint, 3_000);
    process.env['AWS_ENDPOINT_URL_SQS'] = slow.endpoint;
    const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: 'mailer', password: 'secret' };
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: { kind: 'url', settings },
      tlsCa: server.ca,
      mailPerConnection: 20,
      deps: { sqs: undefined },
    });
    await rig.queues.publish(Array.from({ length: 20 }, (_, n) => JSON.stringify(mailJob(n + 1))));
    const records = [...(await rig.queues.receiveRecords(10)), ...(await rig.queues.receiveRecords(10))];
    expect(records).toHaveLength(20);
    // Act
    const started = Date.now();
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    const elapsedMs = Date.now() - started;
    // Assess: one round of 3 s, not two in a row.
    expect(elapsedMs).toBeLessThan(5_500);
    expect(slow.calls.map((call) => call.action)).toEqual(['ChangeMessageVisibilityBatch', 'ChangeMessageVisibilityBatch']);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.map((record) => record.messageId));
    const queue = await rig.queues.contents(rig.queues.queueName);
    for (const record of records) {
      expect(rig.log.records().get(record.messageId)?.attributes).toMatchObject({ outcome: 'transient', backoffSeconds: 15 });
      const held = queue.inflight.find((entry) => entry.message.messageId === record.messageId);
      expect(held?.visibilityDeadline).toBeGreaterThanOrEqual(started + 15_000);
      expect(held?.visibilityDeadline).toBeLessThanOrEqual(Date.now() + 15_000);
    }
  }, 30_000);

  it('FIFO, SQS never answers: a DLQ send that cannot finish holds up its own group only, and the handler answers before the deadline', async () => {
    // Prepare: group A starts with an invalid job (its DLQ send never gets an answer).
    const { rig, confirmed } = await stalledRig(Number.POSITIVE_INFINITY, { fifo: true });
    const jobs: [string, unknown][] = [
      ['A', 'not JSON'],
      ['B', mailJob(2)],
      ['B', mailJob(3)],
      ['A', mailJob(4)],
      ['B', mailJob(5)],
    ];
    await rig.queues.publish(jobs.map(([, job]) => (typeof job === 'string' ? job : JSON.stringify(job))));
    const received = await rig.queues.receiveRecords(10);
    const records = received.map((record, index) => ({ ...record, attributes: { ...record.attributes, MessageGroupId: jobs[index]![0] } }));
    const end = Date.now() + BUDGET_MS;
    // Act
    const response = await rig.handler(
      sqsEvent(records),
      lambdaContext(() => end - Date.now()),
    );
    // Assess: B's first two went at once; A's job 4 waited for job 1's DLQ send until the deadline
    // cut it (so A stopped), and job 5, behind it in the batch, found no time left.
    expect(Date.now()).toBeLessThan(end);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[0]!.messageId, records[3]!.messageId, records[4]!.messageId]);
    await expectPlaces(rig, records, response, ['failed', 'delivered', 'delivered', 'failed', 'failed'], confirmed);
    const lines = rig.log.records();
    expect(String(lines.get(records[0]!.messageId)?.attributes['problem'])).toContain('dead-letter send failed');
    expect(lines.get(records[3]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
  }, 30_000);

  it('the last resort: whatever hangs past every signal (here the secret read), the handler answers in time with every unsettled record', async () => {
    // Prepare: a Secrets Manager that never answers and ignores the abort signal; 3 s left.
    slow = await startSlowSqs(emulator().endpoint, 0);
    process.env['AWS_ENDPOINT_URL_SQS'] = slow.endpoint;
    const hanging = { send: () => new Promise<never>(() => undefined) };
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: { kind: 'secret', secretId: 'relay' },
      deps: { sqs: undefined, secrets: () => hanging, tuning: { startMarginMs: 500 } },
    });
    await rig.queues.publish([JSON.stringify(mailJob(1)), 'not JSON', JSON.stringify(mailJob(3))]);
    const records = await rig.queues.receiveRecords(10);
    const end = Date.now() + 3_000;
    // Act
    const response = await rig.handler(
      sqsEvent(records),
      lambdaContext(() => end - Date.now()),
    );
    // Assess: answered before the end; the invalid job was dead-lettered meanwhile, the others come back.
    expect(Date.now()).toBeLessThan(end);
    await expectPlaces(rig, records, response, ['failed', 'dead-lettered', 'failed'], []);
    expect(String(rig.log.records().get(records[0]!.messageId)?.attributes['problem'])).toContain('ran out of time');
  }, 30_000);
});
