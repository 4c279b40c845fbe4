/**
 * FIFO queues deduplicate by `MessageDeduplicationId` for 5 minutes: a copy the delivery writes
 * (recipients re-enqueued, a dead-letter copy) must be dropped as a duplicate only when it is the
 * same copy, never when a redelivered record (its invocation killed or its answer lost after the
 * copy was sent) yields a copy for other recipients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** The envelope recipients of each copy waiting on a queue (raw copies) or its `to` (narrowed copies). */
function recipientsOf(body: string): string[] {
  const job = JSON.parse(body) as { raw?: { envelope: { to: string[] } }; to?: string[] };
  return job.raw?.envelope.to ?? job.to ?? [];
}

describe('copies written for a redelivered FIFO record', () => {
  it('a redelivered record whose refused-for-now recipients changed re-enqueues its new copy (not dropped as a duplicate of the first)', async () => {
    // Prepare: one job to three recipients; the first time b is refused for now, the second time c.
    let refusedNow = 'b@example.com';
    server = await startSmtpServer({ onRcptTo: (to) => (to === refusedNow ? { code: 451, message: 'Try again later' } : undefined) });
    const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: server.ca, fifo: true });
    await rig.queues.publish([JSON.stringify(mailJob(1, { to: ['a@example.com', 'b@example.com', 'c@example.com'] }))]);
    const records = await rig.queues.receiveRecords(10);
    expect(records).toHaveLength(1);

    // Act: the record is handled, its answer is lost (the invocation killed after the re-enqueue),
    // SQS hands it out again, and this time another recipient is refused for now.
    const first = await rig.handler(sqsEvent(records), lambdaContext());
    refusedNow = 'c@example.com';
    const second = await rig.handler(sqsEvent(records), lambdaContext());

    // Assess: both copies are on the queue, so c (refused the second time, delivered neither time) is not lost.
    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(server.messages.map((m) => m.to)).toEqual([
      ['a@example.com', 'c@example.com'],
      ['a@example.com', 'b@example.com'],
    ]);
    const queue = await rig.queues.contents(rig.queues.queueName);
    const copies = [...queue.ready, ...queue.delayed].map((m) => recipientsOf(m.body));
    expect(copies).toEqual([['b@example.com'], ['c@example.com']]);
  });

  it('the same for dead-letter copies: a redelivered record past its re-enqueues dead-letters its new pending recipients too', async () => {
    // Prepare: a job re-enqueued 5 times already, so recipients refused for now go to the DLQ.
    let refusedNow = 'b@example.com';
    server = await startSmtpServer({ onRcptTo: (to) => (to === refusedNow ? { code: 451, message: 'Try again later' } : undefined) });
    const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: server.ca, fifo: true });
    await rig.queues.publish([JSON.stringify(mailJob(1, { to: ['a@example.com', 'b@example.com', 'c@example.com'] }))], {
      attributes: { MailRequeueCount: '5' },
    });
    const records = await rig.queues.receiveRecords(10);

    // Act: handled twice, as after a lost answer; another recipient refused the second time.
    await rig.handler(sqsEvent(records), lambdaContext());
    refusedNow = 'c@example.com';
    const second = await rig.handler(sqsEvent(records), lambdaContext());

    // Assess
    expect(second).toEqual({ batchItemFailures: [] });
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => [recipientsOf(m.body), m.messageAttributes['PendingRecipients']?.StringValue])).toEqual([
      [['b@example.com'], '1'],
      [['c@example.com'], '1'],
    ]);
  });
});
