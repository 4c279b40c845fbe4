/**
 * The local run's SQS: the `fauxqs` emulator on 127.0.0.1 with the mail queue and its
 * dead-letter queue made as the stack makes them (RedrivePolicy with the stack's
 * `maxReceiveCount`, the stack's visibility timeout, 1 MiB messages, FIFO when the environment is).
 * It answers only requests whose `Host` is a loopback name with its port (no DNS rebinding).
 * With a data folder, the queues and their messages are kept there (fauxqs's SQLite persistence,
 * written through at every change) and are there again at the next start; without one they live
 * in memory and are gone when the run stops.
 * @module
 */
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, SetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { emptyEmulatorStores, keepStoresIn } from './emulatorPersistence.js';
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

/** Where the emulator keeps its queues across runs. */
export interface KeptQueues {
  /** The folder of the emulator's database (made when missing; an empty one starts empty). */
  dataDir: string;
  /** Runs once the port is taken and before the folder is opened (the local run claims its state folder there). */
  beforeOpening?: () => unknown;
}

/**
 * Starts the emulator on `127.0.0.1:port` and makes the queues (or, with `keep`, takes them again
 * from its folder, with their messages, and sets the attributes the settings give).
 * @throws {PortInUseError} when the port is taken (before anything else is done)
 * @example
 * const sqs = await startLocalSqs(9324, settings, { dataDir: '.local/sqs' });
 * sqs.queueUrl; // http://sqs.eu-west-1.localhost:9324/000000000000/mail
 */
export async function startLocalSqs(port: number, settings: PipelineSettings, keep?: KeptQueues): Promise<LocalSqs> {
  const stores = keep === undefined ? undefined : await emptyEmulatorStores();
  // fauxqs's stores are classes of its own that its types do not export: handed over as they came.
  const app = buildApp({ logger: false, defaultRegion: settings.region, ...(stores === undefined ? {} : { stores: stores as never }) });
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
  /** Closes the kept queues' database, once the app has closed (nothing writes to it after that). */
  let closeDatabase = (): void => undefined;
  try {
    if (keep !== undefined && stores !== undefined) {
      await keep.beforeOpening?.();
      try {
        closeDatabase = await keepStoresIn(stores, keep.dataDir);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(`cannot open the queues kept in ${keep.dataDir} (${why}): move the folder away, or start empty with npm start -- --clean`, {
          cause: error,
        });
      }
    }
    const suffix = settings.fifo ? '.fifo' : '';
    const fifoAttributes: Record<string, string> = settings.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {};
    const dlqName = `${LOCAL_DLQ_NAME}${suffix}`;
    const queueName = `${LOCAL_QUEUE_NAME}${suffix}`;
    const dlqUrl = await ensureQueue(client, dlqName, fifoAttributes, {
      MessageRetentionPeriod: String(14 * 24 * 3600),
      MaximumMessageSize: '1048576',
    });
    const dlqArn = await arnOf(client, dlqUrl);
    const queueUrl = await ensureQueue(client, queueName, fifoAttributes, {
      VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
      MaximumMessageSize: '1048576',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: settings.maxReceiveCount }),
    });
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
        closeDatabase();
      },
    };
  } catch (error) {
    client.destroy();
    await app.close();
    closeDatabase();
    throw error;
  }
}

/**
 * Creates the queue, or, when it was kept from an earlier run, takes it as it is and sets the
 * attributes of this run (the settings may have changed in `cdk.json` since): its messages stay.
 */
async function ensureQueue(client: SQSClient, name: string, fixed: Record<string, string>, attributes: Record<string, string>): Promise<string> {
  try {
    const created = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { ...fixed, ...attributes } }));
    return required(created.QueueUrl, `the URL of ${name}`);
  } catch (error) {
    // SQS refuses to create a queue that exists with other attributes: it is the kept one.
    if (!(error instanceof Error) || !/QueueAlreadyExists|QueueNameExists/.test(error.name)) throw error;
    const url = required((await client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl, `the URL of ${name}`);
    await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
    return url;
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
