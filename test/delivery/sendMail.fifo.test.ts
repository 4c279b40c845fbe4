/**
 * FIFO queues: messages go one at a time, in order, and the first record of a message group that
 * must come back stops that group only: it and the group's later records are reported failed (so
 * order within the group holds), the other groups go on. (See {@link runGrouped} for how a batch
 * with several messages of a group is made with the emulator.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig, SendMailRigOptions } from '../support/sendMailHarness.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function fifoRig(serverOptions: SmtpServerOptions, rigOptions: Partial<SendMailRigOptions> = {}) {
  server = await startSmtpServer(serverOptions);
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
  const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: server.ca, fifo: true, ...rigOptions });
  return { rig, smtp: server };
}

/**
 * Publishes the jobs and receives them as one batch whose records carry the given message groups,
 * as Lambda gets them from SQS (several messages of a group in one batch, groups interleaved).
 * fauxqs hands out one message per group per receive, so each message is published in its own
 * group there and the record says which group it belongs to; the handler reads the group from the
 * record (and the DLQ and re-enqueued copies go to that group).
 */
async function runGrouped(rig: SendMailRig, jobs: [group: string, job: unknown][]) {
  await rig.queues.publish(jobs.map(([, job]) => (typeof job === 'string' ? job : JSON.stringify(job))));
  const received = await rig.queues.receiveRecords(10);
  expect(received).toHaveLength(jobs.length);
  const records = received.map((record, index) => ({ ...record, attributes: { ...record.attributes, MessageGroupId: jobs[index]![0] } }));
  const started = Date.now();
  const response = await rig.handler(sqsEvent(records), lambdaContext());
  return { records, response, started, finished: Date.now() };
}

const refuse = (code: number) => (to: string) =>
  to.startsWith('refused') ? { code, message: code < 500 ? 'Try again later' : 'No such user' } : undefined;

describe('send-mail handler on a FIFO queue', () => {
  it('a failure stops only its own message group: the other group goes on, the failed group comes back in order', async () => {
    // Prepare: groups A and B interleaved; A's second job (3) is refused for now.
    const { rig, smtp } = await fifoRig({ onRcptTo: refuse(451) });
    const jobs: [string, unknown][] = [
      ['A', mailJob(1)],
      ['B', mailJob(2)],
      ['A', mailJob(3, { to: ['refused3@example.com'] })],
      ['B', mailJob(4)],
      ['A', mailJob(5)],
      ['B', mailJob(6)],
      ['A', mailJob(7)],
    ];
    // Act
    const { records, response, started, finished } = await runGrouped(rig, jobs);
    // Assess: B's jobs after the failure are delivered, in order; A's failed job and A's later
    // jobs come back, in order, and A's later jobs were never sent.
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com'], ['rcpt4@example.com'], ['rcpt6@example.com']]);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[2]!.messageId, records[4]!.messageId, records[6]!.messageId]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'delivered', 'failed', 'delivered', 'failed', 'delivered', 'failed'],
      smtp.messages.map((m) => m.raw),
    );
    const lines = rig.log.records();
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', backoffSeconds: 15 });
    for (const index of [4, 6])
      expect(lines.get(records[index]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped', backoffSeconds: 5 });
    // The failed job waits out its backoff; the ones handed back untried only a few seconds (the
    // group stays blocked behind the failed one anyway, and other work is not held up).
    const queue = await rig.queues.contents(rig.queues.queueName);
    const deadline = (index: number): number | undefined =>
      queue.inflight.find((entry) => entry.message.messageId === records[index]!.messageId)?.visibilityDeadline;
    expect(deadline(2)).toBeGreaterThanOrEqual(started + 15_000);
    expect(deadline(2)).toBeLessThanOrEqual(finished + 15_000);
    for (const index of [4, 6]) {
      expect(deadline(index)).toBeGreaterThanOrEqual(started + 5_000);
      expect(deadline(index)).toBeLessThanOrEqual(finished + 5_000);
    }
  });

  it('a failed DLQ send stops only its own group: the other group is still delivered', async () => {
    // Prepare: the DLQ does not exist, so group A's invalid job (2) cannot be dead-lettered.
    const { rig, smtp } = await fifoRig({}, { dlqUrl: `${emulator().endpoint}/000000000000/missing-dlq.fifo` });
    const jobs: [string, unknown][] = [
      ['A', mailJob(1)],
      ['A', 'not JSON'],
      ['B', mailJob(3)],
      ['A', mailJob(4)],
      ['B', mailJob(5)],
    ];
    // Act
    const { records, response } = await runGrouped(rig, jobs);
    // Assess
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt3@example.com'], ['rcpt5@example.com']]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'failed', 'delivered', 'failed', 'delivered'],
      smtp.messages.map((m) => m.raw),
    );
    expect(String(rig.log.records().get(records[1]!.messageId)?.attributes['problem'])).toContain('dead-letter send failed');
    expect(rig.log.records().get(records[3]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
  });

  it('one group: the first transient failure and every later record come back, in order, none sent out of turn', async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({ onRcptTo: refuse(451) });
    const jobs = [mailJob(1), mailJob(2), mailJob(3, { to: ['refused3@example.com'] }), mailJob(4), mailJob(5)];
    // Act
    const { records, response } = await runGrouped(
      rig,
      jobs.map((job) => ['A', job]),
    );
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(2).map((r) => r.messageId));
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com']]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'delivered', 'failed', 'failed', 'failed'],
      smtp.messages.map((m) => m.raw),
    );
    const lines = rig.log.records();
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', backoffSeconds: 15 });
    for (const record of records.slice(3)) {
      expect(lines.get(record.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped', backoffSeconds: 5 });
    }
  });

  it("a permanent failure is dead-lettered (FIFO DLQ, the record's group) and the batch goes on in order", async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({ onRcptTo: refuse(550) });
    const jobs = [mailJob(1), mailJob(2, { to: ['refused2@example.com'] }), 'not JSON', mailJob(4), mailJob(5)];
    // Act
    const { records, response } = await rig.run(jobs);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt4@example.com'], ['rcpt5@example.com']]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'dead-lettered', 'dead-lettered', 'delivered', 'delivered'],
      smtp.messages.map((m) => m.raw),
    );
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => m.messageGroupId)).toEqual([records[1]!.attributes.MessageGroupId, records[2]!.attributes.MessageGroupId]);
    expect(dead.ready.map((m) => m.messageGroupId)).toEqual([expect.stringMatching(/^group-\d+$/), expect.stringMatching(/^group-\d+$/)]);
    expect(dead.ready.map((m) => m.messageAttributes['SourceMessageId']?.StringValue)).toEqual([records[1]!.messageId, records[2]!.messageId]);
  });

  it('one group: when the DLQ send fails, that record becomes the first failure: nothing after it is sent', async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({}, { dlqUrl: `${emulator().endpoint}/000000000000/missing-dlq.fifo` });
    // Act
    const { records, response } = await runGrouped(
      rig,
      [mailJob(1), 'not JSON', mailJob(3), mailJob(4)].map((job) => ['A', job]),
    );
    // Assess
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com']]);
    await expectPlaces(
      rig,
      records,
      response,
      ['delivered', 'failed', 'failed', 'failed'],
      smtp.messages.map((m) => m.raw),
    );
    expect(String(rig.log.records().get(records[1]!.messageId)?.attributes['problem'])).toContain('dead-letter send failed');
  });

  it('with no session at all (every job invalid) a failed DLQ send still stops the records of its group after it', async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({}, { dlqUrl: `${emulator().endpoint}/000000000000/missing-dlq.fifo` });
    // Act
    const { records, response } = await runGrouped(
      rig,
      ['not JSON', 'still not JSON', '{"v":2}'].map((job) => ['A', job]),
    );
    // Assess: the first cannot be dead-lettered, so it and the two after it come back, in order.
    expect(response).toEqual({ batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) });
    expect(smtp.messages).toEqual([]);
    const lines = rig.log.records();
    expect(lines.get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
  });
});
