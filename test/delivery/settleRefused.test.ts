/**
 * `settleRefused` on its own, against the SQS emulator behind a slow proxy: the copies for the
 * recipients refused for now go out together, so that many blind copies (one copy each) fit in
 * the time left rather than one SQS round trip after another; and they are built wave by wave,
 * each copy holding one blind recipient and naming no other.
 */
import { createHash } from 'node:crypto';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMailJob } from '../../lib/message/index.js';
import { queueJson } from '../../lib/message/queueBody.js';
import { QueueActions } from '../../lib/delivery/QueueActions.js';
import { settleRefused } from '../../lib/delivery/settleRefused.js';
import type { BatchSlot, RecordResult } from '../../lib/delivery/types.js';
import { startSlowSqs } from '../support/slowSqs.js';
import type { SlowSqs } from '../support/slowSqs.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
let slow: SlowSqs | undefined;
let client: SQSClient | undefined;

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
    const queues = await emulator().createMailQueues();
    slow = await startSlowSqs(emulator().endpoint, 400);
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

  describe('99 blind copies of a job of ~200 KB (text outside Latin-1, U+FFFE), all refused for now', () => {
    const blind = Array.from({ length: 99 }, (_, i) => `Blind ${i} <blind${i}@example.com>`);
    const addresses = blind.map((_, i) => `blind${i}@example.com`);
    const input = {
      v: 1,
      id: 'big-bcc',
      from: 'shop@example.com',
      to: 'seen@example.com',
      bcc: blind,
      subject: 'Hi',
      text: `€ \ufffe ${'é'.repeat(100_000)}`,
    };
    const { bcc: _bcc, ...rest } = input;
    const body = queueJson(input);
    /** Copy n as the producer would write it: the job with blind recipient n as its only `to`. */
    const copyOf = (n: number): string => queueJson({ ...rest, to: [blind[n]] });

    async function settle(queues: { queueUrl: string; dlqUrl: string }): Promise<RecordResult> {
      slow = await startSlowSqs(emulator().endpoint, 0);
      client = new SQSClient({ endpoint: slow.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const actions = new QueueActions(client, queues);
      const record = { messageId: 'm-big', receiptHandle: 'h-big', body, receiveCount: 1, requeueCount: 0, messageGroupId: 'g-1' };
      const slot: BatchSlot = { prepared: { record, job: parseMailJob(JSON.parse(body)), jobId: 'big-bcc' } };
      const refusedForNow = addresses.map((recipient) => ({ recipient, code: 450, message: 'Mailbox busy', transient: true }));
      const outcome = { kind: 'partlyRefused' as const, accepted: 1, refusedPermanently: [], refusedForNow };
      const result: RecordResult = { messageId: 'm-big', receiveCount: 1, outcome, placement: 'retry' };
      await settleRefused(result, slot, outcome, { actions, options: { mailPerConnection: 10, fifo: queues.queueUrl.endsWith('.fifo') } });
      return result;
    }

    /** The SendMessage requests the proxy saw, in order. */
    function sendMessages(): { QueueUrl: string; MessageBody: string; MessageDeduplicationId?: string; MessageGroupId?: string }[] {
      return (slow?.calls ?? []).filter((call) => call.action === 'SendMessage').map((call) => JSON.parse(call.body) as never);
    }

    it('FIFO: 99 SendMessage calls, copy n holds blind recipient n alone, with the deduplication id of its number and body', async () => {
      // Prepare
      const queues = await emulator().createMailQueues({ fifo: true });
      // Act
      const result = await settle(queues);
      // Assess: one call per copy (a wave's calls may arrive in any order), each naming one blind
      // recipient and no other, its body what the producer would write for that recipient alone.
      expect(result).toMatchObject({ placement: 'done', requeued: 99 });
      const sent = sendMessages();
      expect(sent).toHaveLength(99);
      const numbers = sent.map((request) => {
        const named = addresses.flatMap((address, n) => (request.MessageBody.includes(`<${address}>`) ? [n] : []));
        expect(named).toHaveLength(1);
        const n = named[0] ?? -1;
        const purpose = n === 0 ? 'requeue-1' : `requeue-1-${n}`;
        const digest = createHash('sha256').update(`m-big\n${purpose}\n`).update(copyOf(n)).digest('hex');
        expect(request).toMatchObject({
          QueueUrl: queues.queueUrl,
          MessageBody: copyOf(n),
          MessageGroupId: 'g-1',
          MessageDeduplicationId: `${purpose}-${digest}`,
        });
        return n;
      });
      expect(numbers.sort((a, b) => a - b)).toEqual(addresses.map((_, n) => n));
      const held = await queues.contents(queues.queueName);
      const tos = [...held.ready, ...held.delayed].map((m) => (JSON.parse(m.body) as { to: string[] }).to);
      expect(tos.flat().sort()).toEqual([...blind].sort());
    });

    it('the mail queue is gone: each copy goes to the DLQ holding only its own recipient, and the record is done', async () => {
      // Prepare
      const queues = await emulator().createMailQueues();
      await emulator().sqs.send(new DeleteQueueCommand({ QueueUrl: queues.queueUrl }));
      // Act
      const result = await settle(queues);
      // Assess: 99 failed re-enqueues, then 99 DLQ copies built again from their numbers: the same bodies.
      expect(result.placement).toBe('done');
      expect(result.requeued).toBeUndefined();
      const sent = sendMessages();
      expect(sent.map((request) => request.QueueUrl)).toEqual([...Array<string>(99).fill(queues.queueUrl), ...Array<string>(99).fill(queues.dlqUrl)]);
      expect(
        sent
          .slice(99)
          .map((request) => request.MessageBody)
          .sort(),
      ).toEqual(blind.map((_, n) => copyOf(n)).sort());
      const dead = await queues.contents(queues.dlqName);
      expect(dead.ready).toHaveLength(99);
      for (const message of dead.ready) {
        expect(message.messageAttributes['JobForm']?.StringValue).toBe('narrowed');
        expect(message.messageAttributes['PendingRecipients']?.StringValue).toBe('1');
        expect(message.messageAttributes['DeliveredRecipients']?.StringValue).toBe('1');
      }
    });
  });
});
