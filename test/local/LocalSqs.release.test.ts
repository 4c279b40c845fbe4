/**
 * A message received and given back at once (ChangeMessageVisibility 0, as `mail-queue dlq list`
 * and the page's Redrive do for the letters they leave) stays in the queue of a local run that
 * keeps its queues in a folder. fauxqs 2.4.1's SQLite write-through wrote NULL into a NOT NULL
 * column there, threw, and the message left the emulator's memory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs } from '../../lib/local/LocalSqs.js';
import { DEV_PIPELINE_SETTINGS } from '../support/localSettings.js';

const SETTINGS = DEV_PIPELINE_SETTINGS;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-sqs-release-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a message given back at once, in a local run that keeps its queues', () => {
  it('is ready again, with its receive count, in this run and after a restart', async () => {
    const dataDir = path.join(dir, 'sqs');
    const first = await startLocalSqs(0, SETTINGS, { dataDir });
    try {
      await first.client.send(new SendMessageCommand({ QueueUrl: first.dlqUrl, MessageBody: 'one' }));
      await first.client.send(new SendMessageCommand({ QueueUrl: first.dlqUrl, MessageBody: 'two' }));
      const taken = await first.client.send(new ReceiveMessageCommand({ QueueUrl: first.dlqUrl, VisibilityTimeout: 30, MaxNumberOfMessages: 10 }));
      const [one, two] = taken.Messages ?? [];
      const batch = await first.client.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: first.dlqUrl,
          Entries: [{ Id: '0', ReceiptHandle: one!.ReceiptHandle!, VisibilityTimeout: 0 }],
        }),
      );
      expect(batch.Failed ?? []).toEqual([]);
      await first.client.send(
        new ChangeMessageVisibilityCommand({ QueueUrl: first.dlqUrl, ReceiptHandle: two!.ReceiptHandle!, VisibilityTimeout: 0 }),
      );
      const held = await first.peek('dlq');
      expect(held.map((m) => [m.body, m.approximateReceiveCount]).sort()).toEqual([
        ['one', 1],
        ['two', 1],
      ]);
      expect(await first.depth('dlq')).toEqual({ ready: 2, inFlight: 0, delayed: 0 });
    } finally {
      await first.stop();
    }
    const second = await startLocalSqs(0, SETTINGS, { dataDir });
    try {
      expect(await second.depth('dlq')).toEqual({ ready: 2, inFlight: 0, delayed: 0 });
      expect((await second.peek('dlq')).map((m) => [m.body, m.approximateReceiveCount]).sort()).toEqual([
        ['one', 1],
        ['two', 1],
      ]);
    } finally {
      await second.stop();
    }
  });
});
