/**
 * `settleRefused` on its own, against the SQS emulator behind a slow proxy: the copies for the
 * recipients refused for now go out together, so that many blind copies (one copy each) fit in
 * the time left rather than one SQS round trip after another.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseMailJob } from '../../lib/message/index.js';
import { QueueActions } from '../../lib/delivery/QueueActions.js';
import { settleRefused } from '../../lib/delivery/settleRefused.js';
import type { BatchSlot, RecordResult } from '../../lib/delivery/types.js';
import { startSlowSqs } from '../support/slowSqs.js';
import type { SlowSqs } from '../support/slowSqs.js';
import { startSqsEmulator } from '../support/sqsQueues.js';
import type { SqsEmulator } from '../support/sqsQueues.js';

let emulator: SqsEmulator;
let slow: SlowSqs | undefined;
let client: SQSClient | undefined;

beforeAll(async () => {
  emulator = await startSqsEmulator();
});
afterAll(async () => {
  await emulator.stop();
});
afterEach(async () => {
  client?.destroy();
  await slow?.stop();
  slow = undefined;
  client = undefined;
});

describe('settleRefused', () => {
  it('twelve blind copies with SQS 400 ms per call are all re-enqueued within 2 s (one round, not twelve)', async () => {
    // Prepare: a job to one `to` and twelve blind copies; the twelve were refused for now, and the
    // message is not at hand, so each goes back as a copy of its own.
    const queues = await emulator.createMailQueues();
    slow = await startSlowSqs(emulator.endpoint, 400);
    client = new SQSClient({ endpoint: slow.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const actions = new QueueActions(client, { queueUrl: queues.queueUrl, dlqUrl: queues.dlqUrl });
    const blind = Array.from({ length: 12 }, (_, i) => `blind${i}@example.com`);
    const input = { v: 1, id: 'many-bcc', from: 'shop@example.com', to: 'seen@example.com', bcc: blind, subject: 'Hi', text: 'Hello' };
    const body = JSON.stringify(input);
    const slot: BatchSlot = {
      prepared: {
        record: { messageId: 'm-1', receiptHandle: 'h-1', body, receiveCount: 1, requeueCount: 0 },
        job: parseMailJob(input),
        jobId: 'many-bcc',
      },
    };
    const refusedForNow = blind.map((recipient) => ({ recipient, code: 450, message: 'Mailbox busy', transient: true }));
    const outcome = { kind: 'partlyRefused' as const, accepted: 1, refusedPermanently: [], refusedForNow };
    const result: RecordResult = { messageId: 'm-1', receiveCount: 1, outcome, placement: 'retry' };
    // Act
    await settleRefused(result, slot, outcome, { actions, options: { mailPerConnection: 10, fifo: false } }, AbortSignal.timeout(2_000));
    // Assess
    expect(result).toMatchObject({ placement: 'done', requeued: 12 });
    expect(result.problem).toBeUndefined();
    const queue = await queues.contents(queues.queueName);
    const copies = [...queue.ready, ...queue.delayed].map((m) => (JSON.parse(m.body) as { to: string[]; bcc?: unknown }).to);
    expect(copies.flat().sort()).toEqual([...blind].sort());
    expect(copies.every((to) => to.length === 1)).toBe(true);
  });
});
