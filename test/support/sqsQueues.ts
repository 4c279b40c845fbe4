/**
 * The SQS emulator (`fauxqs`) for tests: started in-process on 127.0.0.1, port 0; a mail queue
 * with its dead-letter queue (RedrivePolicy) made through the SQS API; helpers to publish, receive
 * a batch as Lambda would, and look at every message without disturbing it. `useSqsEmulator` and
 * `useAwsTestEnvironment` register the usual `beforeAll` / `afterAll` pairs in the calling file.
 * @module
 */
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { buildApp } from 'fauxqs';
import { afterAll, beforeAll } from 'vitest';
import { recordFromMessage } from './sqsEvents.js';

/** A message as the emulator holds it (from its inspection endpoint). */
export interface HeldMessage {
  messageId: string;
  body: string;
  messageAttributes: Record<string, { DataType: string; StringValue?: string }>;
  approximateReceiveCount: number;
  delayUntil?: number;
  messageGroupId?: string;
}

/** Everything a queue holds, by state. */
export interface QueueContents {
  ready: HeldMessage[];
  delayed: HeldMessage[];
  inflight: { message: HeldMessage; visibilityDeadline: number }[];
}

/** A mail queue and its dead-letter queue in the emulator. */
export interface MailQueues {
  queueName: string;
  queueUrl: string;
  queueArn: string;
  dlqName: string;
  dlqUrl: string;
  /**
   * Publishes bodies in order, with optional number attributes. FIFO: each message in its own
   * group unless `groupId` is given, because fauxqs hands out at most one message per group per
   * receive (real SQS gives several), and a test batch must hold them all.
   */
  publish(bodies: string[], options?: { groupId?: string; attributes?: Record<string, string> }): Promise<void>;
  /** Receives up to 10 messages as the event source mapping would, and returns them as Lambda records. */
  receiveRecords(max?: number): Promise<SQSRecord[]>;
  /** Receives every ready message of a queue (hiding them for 5 minutes). */
  receiveAll(url: string): Promise<Message[]>;
  /** Everything the queue holds, without changing anything. */
  contents(name: string): Promise<QueueContents>;
}

/** A running emulator. */
export interface SqsEmulator {
  endpoint: string;
  sqs: SQSClient;
  /** Creates a queue and its DLQ (RedrivePolicy, `maxReceiveCount`), with names unique to this emulator. */
  createMailQueues(options?: { fifo?: boolean; maxReceiveCount?: number; visibilityTimeout?: number }): Promise<MailQueues>;
  stop(): Promise<void>;
}

let counter = 0;

/**
 * Starts fauxqs on 127.0.0.1, port 0.
 * @example
 * const emulator = await startSqsEmulator();
 * const queues = await emulator.createMailQueues();
 * await queues.publish([JSON.stringify(job)]);
 * const records = await queues.receiveRecords();
 */
export async function startSqsEmulator(): Promise<SqsEmulator> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  const sqs = new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

  const contents = async (name: string): Promise<QueueContents> => {
    const reply = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(name)}`);
    if (!reply.ok) throw new Error(`queue ${name}: HTTP ${reply.status}`);
    const state = (await reply.json()) as { messages: QueueContents };
    return state.messages;
  };

  const receiveAll = async (url: string): Promise<Message[]> => {
    const all: Message[] = [];
    for (;;) {
      const reply = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 300,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if (!reply.Messages || reply.Messages.length === 0) return all;
      all.push(...reply.Messages);
    }
  };

  return {
    endpoint,
    sqs,
    async createMailQueues(options = {}) {
      counter += 1;
      const suffix = options.fifo ? '.fifo' : '';
      const fifoAttributes: Record<string, string> = options.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {};
      const dlqName = `mail-dlq-${counter}${suffix}`;
      const queueName = `mail-${counter}${suffix}`;
      const dlq = await sqs.send(new CreateQueueCommand({ QueueName: dlqName, Attributes: fifoAttributes }));
      const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes![
        'QueueArn'
      ]!;
      const queue = await sqs.send(
        new CreateQueueCommand({
          QueueName: queueName,
          Attributes: {
            ...fifoAttributes,
            VisibilityTimeout: String(options.visibilityTimeout ?? 60),
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 5 }),
          },
        }),
      );
      const queueUrl = queue.QueueUrl!;
      const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!['QueueArn']!;
      let sequence = 0;
      return {
        queueName,
        queueUrl,
        queueArn,
        dlqName,
        dlqUrl: dlq.QueueUrl!,
        async publish(bodies, publishOptions = {}) {
          for (const body of bodies) {
            sequence += 1;
            await sqs.send(
              new SendMessageCommand({
                QueueUrl: queueUrl,
                MessageBody: body,
                ...(publishOptions.attributes === undefined
                  ? {}
                  : {
                      MessageAttributes: Object.fromEntries(
                        Object.entries(publishOptions.attributes).map(([name, value]) => [name, { DataType: 'Number', StringValue: value }]),
                      ),
                    }),
                ...(options.fifo
                  ? { MessageGroupId: publishOptions.groupId ?? `group-${sequence}`, MessageDeduplicationId: `dedup-${sequence}` }
                  : {}),
              }),
            );
          }
        },
        async receiveRecords(max = 10) {
          const reply = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: queueUrl,
              MaxNumberOfMessages: max,
              WaitTimeSeconds: 0,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: ['All'],
            }),
          );
          return (reply.Messages ?? []).map((message) => recordFromMessage(message, queueArn));
        },
        receiveAll,
        contents,
      };
    },
    async stop() {
      sqs.destroy();
      await app.close();
    },
  };
}

/**
 * Starts one emulator for the calling file (or `describe` block) in `beforeAll` and stops it in
 * `afterAll`. Call it at the top level of a test file or a `describe` callback, before any hook
 * that uses the emulator, since hooks run in the order they are registered.
 * @returns A getter for the running emulator.
 * @throws Error (from the getter) when called outside the hooks' span: before `beforeAll` ran or after `afterAll`.
 * @example
 * const emulator = useSqsEmulator();
 * it('...', async () => {
 *   const queues = await emulator().createMailQueues();
 * });
 */
export function useSqsEmulator(): () => SqsEmulator {
  let running: SqsEmulator | undefined;
  beforeAll(async () => {
    running = await startSqsEmulator();
  });
  afterAll(async () => {
    await running?.stop();
    running = undefined;
  });
  return () => {
    if (running === undefined) throw new Error('the SQS emulator is not running (useSqsEmulator starts it in beforeAll)');
    return running;
  };
}

/** The AWS variables `useAwsTestEnvironment` saves and restores. */
const AWS_VARIABLES = ['AWS_ENDPOINT_URL_SQS', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

/**
 * For a file whose handler makes its own SQS client from the environment: saves `AWS_REGION`,
 * `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_ENDPOINT_URL_SQS`, sets the first three to
 * the emulator's dummy values in `beforeAll`, and restores all four in `afterAll`. The tests set
 * `AWS_ENDPOINT_URL_SQS` themselves (the emulator, or a proxy in front of it).
 * @example
 * useAwsTestEnvironment();
 * it('...', async () => {
 *   process.env['AWS_ENDPOINT_URL_SQS'] = emulator().endpoint;
 * });
 */
export function useAwsTestEnvironment(): void {
  const saved = new Map<string, string | undefined>();
  beforeAll(() => {
    for (const name of AWS_VARIABLES) saved.set(name, process.env[name]);
    process.env['AWS_REGION'] = 'us-east-1';
    process.env['AWS_ACCESS_KEY_ID'] = 'test';
    process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
  });
  afterAll(() => {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  });
}
