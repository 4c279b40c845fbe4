/**
 * Issue 12: the local run keeps its queues across restarts. With a data folder, the emulator's
 * queues and their messages (ready, in the DLQ with their attributes, in flight with their receive
 * counts) are there again after a stop and a start; an emptied folder starts empty.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalSqs } from '../../lib/local/LocalSqs.js';
import { DEV_PIPELINE_SETTINGS } from '../support/localSettings.js';

const SETTINGS = DEV_PIPELINE_SETTINGS;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'local-sqs-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the local SQS emulator with a data folder', () => {
  it('keeps the queues and their messages across a stop and a start', async () => {
    // Prepare: a job waiting, a job received once (in flight), a dead letter with its attributes.
    const dataDir = path.join(dir, 'kept');
    const opened: string[] = [];
    const first = await startLocalSqs(0, SETTINGS, { dataDir, beforeOpening: () => void opened.push('claimed') });
    expect(opened).toEqual(['claimed']);
    await first.client.send(new SendMessageCommand({ QueueUrl: first.queueUrl, MessageBody: 'in flight' }));
    const taken = await first.client.send(new ReceiveMessageCommand({ QueueUrl: first.queueUrl, VisibilityTimeout: 1 }));
    expect(taken.Messages?.map((m) => m.Body)).toEqual(['in flight']);
    await first.client.send(new SendMessageCommand({ QueueUrl: first.queueUrl, MessageBody: 'waiting' }));
    await first.client.send(
      new SendMessageCommand({
        QueueUrl: first.dlqUrl,
        MessageBody: 'dead',
        MessageAttributes: { FailureKind: { DataType: 'String', StringValue: 'last-receive' } },
      }),
    );
    const before = { queue: await first.peek('queue'), dlq: await first.peek('dlq') };
    await first.stop();

    // Act: a new emulator on the same folder, with a changed visibility timeout (a cdk.json edit).
    const second = await startLocalSqs(0, { ...SETTINGS, visibilityTimeoutSeconds: 400 }, { dataDir });
    try {
      // Assess: this run's settings on the kept queue.
      const attributes = await second.client.send(
        new GetQueueAttributesCommand({ QueueUrl: second.queueUrl, AttributeNames: ['VisibilityTimeout'] }),
      );
      expect(attributes.Attributes?.['VisibilityTimeout']).toBe('400');
      // Assess: the same messages, ids and attributes; the one in flight keeps its receive count and comes back.
      expect(await second.depth('queue')).toMatchObject({ ready: 1, inFlight: 1 });
      expect((await second.peek('queue')).map((m) => [m.messageId, m.body, m.approximateReceiveCount])).toEqual(
        before.queue.map((m) => [m.messageId, m.body, m.approximateReceiveCount]),
      );
      const dead = await second.peek('dlq');
      expect(dead.map((m) => [m.messageId, m.body, m.messageAttributes['FailureKind']?.StringValue])).toEqual([
        [before.dlq[0]!.messageId, 'dead', 'last-receive'],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const again = await second.client.send(
        new ReceiveMessageCommand({ QueueUrl: second.queueUrl, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
      );
      expect(again.Messages?.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount]).sort()).toEqual([
        ['in flight', '2'],
        ['waiting', '1'],
      ]);
    } finally {
      await second.stop();
    }
  });

  it('starts empty on an empty folder, and keeps nothing without one', async () => {
    const memory = await startLocalSqs(0, SETTINGS);
    await memory.client.send(new SendMessageCommand({ QueueUrl: memory.queueUrl, MessageBody: 'gone' }));
    await memory.stop();
    const fresh = await startLocalSqs(0, SETTINGS, { dataDir: path.join(dir, 'fresh') });
    try {
      expect(await fresh.peek('queue')).toEqual([]);
      expect(await fresh.peek('dlq')).toEqual([]);
    } finally {
      await fresh.stop();
    }
  });

  it('says how to start empty when the kept database cannot be read, and frees the port', async () => {
    // Prepare: a folder whose database file is not one.
    const dataDir = path.join(dir, 'broken');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'fauxqs.db'), 'not a database, '.repeat(100));
    const probe = await startLocalSqs(0, SETTINGS);
    const port = probe.port;
    await probe.stop();
    // Act
    const failure = await startLocalSqs(port, SETTINGS, { dataDir }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    // Assess
    const after = await startLocalSqs(port, SETTINGS); // the port was given back
    await after.stop();
    expect(failure?.message).toMatch(
      new RegExp(
        `^cannot open the queues kept in ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(.+\\): move the folder away, or start empty with npm start -- --clean$`,
      ),
    );
  });
});
