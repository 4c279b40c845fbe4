/**
 * The local run's SQS: the `fauxqs` emulator on 127.0.0.1 with the mail queue and its
 * dead-letter queue made as the stack makes them (RedrivePolicy with the stack's
 * `maxReceiveCount`, the stack's visibility timeout, 1 MiB messages, FIFO when the environment is).
 * It answers only requests whose `Host` is a loopback name with its port (no DNS rebinding).
 * The emulator keeps everything in memory: what is left in the queues when the run stops is gone.
 * @module
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { WRONG_HOST, isLoopbackHost } from './loopbackHost.js';
import type { PipelineSettings } from './pipelineSettings.js';
import { LOOPBACK, portError } from './ports.js';

/** Credentials for the emulator, which checks none. Never real ones. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** Name of the local mail queue (`.fifo` added for a FIFO environment). */
export const LOCAL_QUEUE_NAME = 'mail';
/** Name of the local dead-letter queue (`.fifo` added for a FIFO environment). */
export const LOCAL_DLQ_NAME = 'mail-dlq';

/** A message as the emulator's inspection endpoint shows it. */
export interface HeldMessage {
  messageId: string;
  body: string;
  messageAttributes: Record<string, { DataType: string; StringValue?: string }>;
  approximateReceiveCount: number;
  /** When it was sent to this queue (epoch milliseconds). */
  sentTimestamp?: number;
}

/** How many messages a queue holds, by state. */
export interface QueueDepth {
  ready: number;
  inFlight: number;
  delayed: number;
}

/** The running emulator with the two queues. */
export interface LocalSqs {
  endpoint: string;
  port: number;
  region: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
  /** A client of the emulator (local credentials, its endpoint). */
  client: SQSClient;
  /** How many messages a queue holds, without touching them. */
  depth(which: 'queue' | 'dlq'): Promise<QueueDepth>;
  /** Every message of a queue, without touching them (the emulator's inspection endpoint). */
  peek(which: 'queue' | 'dlq'): Promise<HeldMessage[]>;
  stop(): Promise<void>;
}

/**
 * Starts the emulator on `127.0.0.1:port` and makes the queues.
 * @throws {PortInUseError} when the port is taken
 * @example
 * const sqs = await startLocalSqs(9324, settings);
 * sqs.queueUrl; // http://sqs.eu-west-1.localhost:9324/000000000000/mail
 */
export async function startLocalSqs(port: number, settings: PipelineSettings): Promise<LocalSqs> {
  const app = buildApp({ logger: false, defaultRegion: settings.region });
  // The emulator checks no signatures: answer only this machine's own programs, not a web page
  // elsewhere that points a DNS name at 127.0.0.1 (DNS rebinding), as the web page does.
  app.addHook('onRequest', (request, reply, done) => {
    if (isLoopbackHost(request.headers.host, request.raw.socket.localPort)) {
      done();
      return;
    }
    void reply.code(WRONG_HOST.status).type('text/plain; charset=utf-8').send(WRONG_HOST.body);
  });
  let endpoint: string;
  try {
    endpoint = await app.listen({ host: LOOPBACK, port });
  } catch (error) {
    await app.close().catch(() => undefined);
    throw portError(error, 'SQS', port, '--sqs-port');
  }
  const boundPort = Number(new URL(endpoint).port);
  const client = new SQSClient({ endpoint, region: settings.region, credentials: LOCAL_CREDENTIALS });
  try {
    const suffix = settings.fifo ? '.fifo' : '';
    const fifoAttributes: Record<string, string> = settings.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {};
    const dlqName = `${LOCAL_DLQ_NAME}${suffix}`;
    const queueName = `${LOCAL_QUEUE_NAME}${suffix}`;
    const dlq = await client.send(
      new CreateQueueCommand({
        QueueName: dlqName,
        Attributes: { ...fifoAttributes, MessageRetentionPeriod: String(14 * 24 * 3600), MaximumMessageSize: '1048576' },
      }),
    );
    const dlqUrl = required(dlq.QueueUrl, 'the dead-letter queue URL');
    const dlqArn = await arnOf(client, dlqUrl);
    const queue = await client.send(
      new CreateQueueCommand({
        QueueName: queueName,
        Attributes: {
          ...fifoAttributes,
          VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
          MaximumMessageSize: '1048576',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: settings.maxReceiveCount }),
        },
      }),
    );
    const queueUrl = required(queue.QueueUrl, 'the queue URL');
    const queueArn = await arnOf(client, queueUrl);
    const names = { queue: queueName, dlq: dlqName };

    const peek = async (which: 'queue' | 'dlq'): Promise<HeldMessage[]> => {
      const state = await inspect(endpoint, names[which]);
      return [...state.ready, ...state.delayed, ...state.inflight.map((entry) => entry.message)];
    };
    return {
      endpoint,
      port: boundPort,
      region: settings.region,
      queueUrl,
      queueArn,
      dlqUrl,
      client,
      async depth(which) {
        const state = await inspect(endpoint, names[which]);
        return { ready: state.ready.length, inFlight: state.inflight.length, delayed: state.delayed.length };
      },
      peek,
      async stop() {
        client.destroy();
        await app.close();
      },
    };
  } catch (error) {
    client.destroy();
    await app.close();
    throw error;
  }
}

async function arnOf(client: SQSClient, queueUrl: string): Promise<string> {
  const reply = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return required(reply.Attributes?.['QueueArn'], `the ARN of ${queueUrl}`);
}

/** A value the emulator always gives; its absence is a bug of the emulator, said plainly. */
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the SQS emulator did not return ${what}`);
  return value;
}

interface InspectedQueue {
  ready: HeldMessage[];
  delayed: HeldMessage[];
  inflight: { message: HeldMessage }[];
}

async function inspect(endpoint: string, name: string): Promise<InspectedQueue> {
  const reply = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(name)}`);
  if (!reply.ok) throw new Error(`the SQS emulator has no queue ${name} (HTTP ${reply.status})`);
  return ((await reply.json()) as { messages: InspectedQueue }).messages;
}
