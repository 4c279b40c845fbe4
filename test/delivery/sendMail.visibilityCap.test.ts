/**
 * The visibility the handler asks for never passes SQS's 12 hours in flight. The emulator does not
 * enforce that rule, so the handler's own SQS client talks to it through a real HTTP proxy that
 * records every request and refuses, as SQS does (a per-entry failure), a visibility change that
 * would keep the message in flight more than 43,200 s since its receive.
 */
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { startSlowSqs } from '../support/slowSqs.js';
import type { EntryRefusal, SlowSqs } from '../support/slowSqs.js';
import { startSmtpServer } from '../support/smtpServer.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();
let slow: SlowSqs | undefined;

afterEach(async () => {
  await slow?.stop();
  slow = undefined;
});

/**
 * SQS's rule: a visibility change may not keep the message in flight more than 43,200 s since
 * the receive (`receivedAt`, taken just before it, so the check is if anything stricter).
 */
function twelveHourRule(receivedAt: () => number): (action: string, entry: Record<string, unknown>) => EntryRefusal | undefined {
  return (action, entry) => {
    if (action !== 'ChangeMessageVisibilityBatch') return undefined;
    const asked = Number(entry['VisibilityTimeout']);
    if (asked + (Date.now() - receivedAt()) / 1000 <= 43_200) return undefined;
    return {
      code: 'InvalidParameterValue',
      message: `Value ${asked} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [43200 seconds]`,
    };
  };
}

/**
 * A relay that cannot be reached (systemic: the long backoff), the handler with its own SQS client
 * behind the proxy, and one job received for the fifth time (four receives handed back at once).
 */
async function fifthReceive(receivedAt: { at: number }): Promise<{ rig: SendMailRig; record: SQSRecord }> {
  const gone = await startSmtpServer();
  await gone.stop();
  slow = await startSlowSqs(emulator().endpoint, 0, { refuseEntry: twelveHourRule(() => receivedAt.at) });
  process.env['AWS_ENDPOINT_URL_SQS'] = slow.endpoint;
  const rig = await sendMailRig({
    emulator: emulator(),
    smtp: { kind: 'url', settings: { host: gone.host, port: gone.port, security: 'starttls', username: 'u', password: 'p' } },
    tlsCa: gone.ca,
    // The systemic backoff at its upper bound: 43,200 s from the fifth receive on.
    deps: { sqs: undefined, tuning: { backoff: { random: () => 0.999_999 } } },
  });
  await rig.queues.publish([JSON.stringify(mailJob(1))]);
  for (let receive = 1; receive < 5; receive += 1) {
    const [handedOut] = await rig.queues.receiveRecords(1);
    await emulator().sqs.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: rig.queues.queueUrl, ReceiptHandle: handedOut!.receiptHandle, VisibilityTimeout: 0 }),
    );
  }
  receivedAt.at = Date.now();
  const [record] = await rig.queues.receiveRecords(1);
  expect(record?.attributes.ApproximateReceiveCount).toBe('5');
  return { rig, record: record! };
}

/** The VisibilityTimeout of every visibility change the handler sent. */
function visibilitiesSent(proxy: SlowSqs): number[] {
  return proxy.calls
    .filter((call) => call.action === 'ChangeMessageVisibilityBatch')
    .flatMap((call) => (JSON.parse(call.body) as { Entries: { VisibilityTimeout: number }[] }).Entries.map((entry) => entry.VisibilityTimeout));
}

describe("send-mail handler: visibility changes within SQS's 12 hours in flight", () => {
  it('fifth receive of a job during a relay outage: asks for 43,200 s less the time in flight (42,839 s in the first second), and SQS takes it', async () => {
    // Prepare
    const receivedAt = { at: 0 };
    const { rig, record } = await fifthReceive(receivedAt);
    // Act
    const started = performance.now();
    const response = await rig.handler(sqsEvent([record]), lambdaContext());
    const elapsedMs = performance.now() - started;
    // Assess: the cap is 43,200 - 300 (the longest batching window) - 60 (margin) - the started seconds of the invocation.
    const sent = visibilitiesSent(slow!);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeLessThanOrEqual(42_839);
    expect(sent[0]).toBeGreaterThanOrEqual(42_840 - Math.ceil(elapsedMs / 1000));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    const line = rig.log.records().get(record.messageId)?.attributes;
    expect(line).toMatchObject({ outcome: 'systemic', placement: 'retry', receiveCount: 5, backoffSeconds: sent[0] });
    expect(line?.['problem']).toBeUndefined();
    const queue = await rig.queues.contents(rig.queues.queueName);
    const held = queue.inflight.find((entry) => entry.message.messageId === record.messageId);
    expect(held?.visibilityDeadline).toBeGreaterThan(Date.now() + 42_000_000);
  }, 30_000);

  it("a visibility change SQS refuses (the message was in flight longer than the handler can know): logged with SQS's reason, and the record comes back after the queue's timeout", async () => {
    // Prepare: as if the record had waited 12 h less 1,000 s before the invocation.
    const receivedAt = { at: 0 };
    const { rig, record } = await fifthReceive(receivedAt);
    receivedAt.at -= (43_200 - 1_000) * 1000;
    // Act
    const response = await rig.handler(sqsEvent([record]), lambdaContext());
    // Assess
    expect(visibilitiesSent(slow!)).toHaveLength(1);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    const line = rig.log.lines.find((entry) => entry.attributes['sqsMessageId'] === record.messageId);
    expect(line?.level).toBe('error');
    expect(line?.attributes).toMatchObject({ outcome: 'systemic', placement: 'retry' });
    expect(line?.attributes['backoffSeconds']).toBeUndefined();
    expect(line?.attributes['problem']).toMatch(
      /^visibility change failed \(InvalidParameterValue: Value 428\d\d for parameter VisibilityTimeout is invalid\. Reason: Total VisibilityTimeout for the message is beyond the limit \[43200 seconds\]\): the record comes back after the queue's visibility timeout$/,
    );
    // The queue's own 60 s still holds.
    const queue = await rig.queues.contents(rig.queues.queueName);
    const held = queue.inflight.find((entry) => entry.message.messageId === record.messageId);
    expect(held?.visibilityDeadline).toBeLessThanOrEqual(Date.now() + 60_000);
  }, 30_000);
});
