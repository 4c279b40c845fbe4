/**
 * FIFO queues: messages go one at a time, in order, and the batch stops at the first record that
 * must come back: it and everything after it are reported failed, so order within a group holds.
 * (The test queues put each message in its own group: fauxqs gives one message per group per
 * receive. The handler keeps the order of the whole batch, which covers any grouping.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { expectPlaces, mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRigOptions } from '../support/sendMailHarness.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { startSqsEmulator } from '../support/sqsQueues.js';
import type { SqsEmulator } from '../support/sqsQueues.js';

let emulator: SqsEmulator;
let server: SmtpServerHandle | undefined;

beforeAll(async () => {
  emulator = await startSqsEmulator();
});
afterAll(async () => {
  await emulator.stop();
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function fifoRig(serverOptions: SmtpServerOptions, rigOptions: Partial<SendMailRigOptions> = {}) {
  server = await startSmtpServer(serverOptions);
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
  const rig = await sendMailRig({ emulator, smtp: { kind: 'url', settings }, tlsCa: server.ca, fifo: true, ...rigOptions });
  return { rig, smtp: server };
}

const refuse = (code: number) => (to: string) => (to.startsWith('refused') ? { code, message: code < 500 ? 'Try again later' : 'No such user' } : undefined);

describe('send-mail handler on a FIFO queue', () => {
  it('stops at the first transient failure: it and every later record come back, in order, none sent out of turn', async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({ onRcptTo: refuse(451) });
    const jobs = [mailJob(1), mailJob(2), mailJob(3, { to: ['refused3@example.com'] }), mailJob(4), mailJob(5)];
    // Act
    const { records, response } = await rig.run(jobs);
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(records.slice(2).map((r) => r.messageId));
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com']]);
    await expectPlaces(rig, records, response, ['delivered', 'delivered', 'failed', 'failed', 'failed'], smtp.messages.map((m) => m.raw));
    const lines = rig.log.records();
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', backoffSeconds: 15 });
    for (const record of records.slice(3)) {
      expect(lines.get(record.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
      expect(lines.get(record.messageId)?.attributes['backoffSeconds']).toBeUndefined();
    }
  });

  it('a permanent failure is dead-lettered (FIFO DLQ, the record\'s group) and the batch goes on in order', async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({ onRcptTo: refuse(550) });
    const jobs = [mailJob(1), mailJob(2, { to: ['refused2@example.com'] }), 'not JSON', mailJob(4), mailJob(5)];
    // Act
    const { records, response } = await rig.run(jobs);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt4@example.com'], ['rcpt5@example.com']]);
    await expectPlaces(rig, records, response, ['delivered', 'dead-lettered', 'dead-lettered', 'delivered', 'delivered'], smtp.messages.map((m) => m.raw));
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => m.messageGroupId)).toEqual([records[1]!.attributes.MessageGroupId, records[2]!.attributes.MessageGroupId]);
    expect(dead.ready.map((m) => m.messageGroupId)).toEqual([expect.stringMatching(/^group-\d+$/), expect.stringMatching(/^group-\d+$/)]);
    expect(dead.ready.map((m) => m.messageAttributes['SourceMessageId']?.StringValue)).toEqual([records[1]!.messageId, records[2]!.messageId]);
  });

  it('when the DLQ send fails, that record becomes the first failure: nothing after it is sent', async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({}, { dlqUrl: `${emulator.endpoint}/000000000000/missing-dlq.fifo` });
    // Act
    const { records, response } = await rig.run([mailJob(1), 'not JSON', mailJob(3), mailJob(4)]);
    // Assess
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com']]);
    await expectPlaces(rig, records, response, ['delivered', 'failed', 'failed', 'failed'], smtp.messages.map((m) => m.raw));
    expect(String(rig.log.records().get(records[1]!.messageId)?.attributes['problem'])).toContain('dead-letter send failed');
  });

  it('with no session at all (every job invalid) a failed DLQ send still stops the records after it', async () => {
    // Prepare
    const { rig, smtp } = await fifoRig({}, { dlqUrl: `${emulator.endpoint}/000000000000/missing-dlq.fifo` });
    // Act
    const { records, response } = await rig.run(['not JSON', 'still not JSON', '{"v":2}']);
    // Assess: the first cannot be dead-lettered, so it and the two after it come back, in order.
    expect(response).toEqual({ batchItemFailures: records.map((record) => ({ itemIdentifier: record.messageId })) });
    expect(smtp.messages).toEqual([]);
    const lines = rig.log.records();
    expect(lines.get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
    expect(lines.get(records[2]!.messageId)?.attributes).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
  });
});

