/**
 * One measured run of the local pipeline: the SQS emulator, the local event source with one
 * poller (so one SMTP connection at a time), a handler bundle (ours, as `cdk synth` builds it, or
 * the minimal nodemailer one), Postfix behind the latency proxy, and optionally the delivery ledger
 * in dynalite. Every AWS call goes through a recorder, so the run knows the SQS and DynamoDB calls
 * per job and per batch.
 * @module
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SQSClient, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { EventSourceMapping } from '../../lib/local/EventSourceMapping.js';
import type { InvocationReport, InvocationStart } from '../../lib/local/EventSourceMapping.js';
import type { HandlerBundle } from '../../lib/local/buildHandlerBundle.js';
import { LOCAL_LEDGER_TABLE, startLocalDynamo } from '../../lib/local/LocalDynamo.js';
import { LOCAL_CREDENTIALS, startLocalSqs } from '../../lib/local/LocalSqs.js';
import { startAwsCallRecorder } from '../../test/support/awsCallRecorder.js';
import type { RecordedCall } from '../../test/support/awsCallRecorder.js';
import type { PostfixServer } from '../../test/support/postfix.js';
import { startLatencyProxy } from '../latencyProxy.js';

const REGION = 'us-east-1';

/** One run's settings. */
export interface PipelineRunOptions {
  bundle: HandlerBundle;
  postfix: PostfixServer;
  /** A folder for the CA file. */
  workDir: string;
  rttMs: number;
  jobs: number;
  batchSize: number;
  memoryMiB: number;
  /** Use the delivery ledger (dynalite); ignored by a handler that has none. */
  ledger: boolean;
  /** Latency added to each DynamoDB call (a region's round trip to DynamoDB), milliseconds. */
  dynamoDelayMs?: number;
}

/** What one run measured. */
export interface PipelineRunResult {
  jobs: number;
  delivered: number;
  invocations: number;
  /** From the first invocation's start to the last one's end, milliseconds. */
  wallMs: number;
  /** Sum of the invocations' durations (what Lambda bills), milliseconds. */
  busyMs: number;
  /** Median invocation duration, milliseconds. */
  medianBatchMs: number;
  /** SQS calls by action: the producer's, the event source's (receive, delete) and the function's own. */
  sqsCalls: Record<string, number>;
  /** DynamoDB calls by action. */
  dynamoCalls: Record<string, number>;
  /** Largest ledger item written, bytes (for the write units). */
  ledgerItemBytes: number;
  /** DynamoDB waves per batch: groups of overlapping calls, one after the other (see {@link wavesOf}). */
  dynamoWavesPerBatch: number;
}

function countByAction(calls: readonly RecordedCall[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) counts[call.action] = (counts[call.action] ?? 0) + 1;
  return counts;
}

/** Groups calls into waves: a call that starts after every earlier call of its wave has ended starts a new wave. */
export function wavesOf(calls: readonly { start: number; end: number }[]): number {
  const sorted = [...calls].sort((a, b) => a.start - b.start);
  let waves = 0;
  let waveEnd = -Infinity;
  for (const call of sorted) {
    if (call.start >= waveEnd) {
      waves += 1;
      waveEnd = call.end;
    } else waveEnd = Math.max(waveEnd, call.end);
  }
  return waves;
}

/**
 * Runs `jobs` one-recipient jobs (about 1 KB of text each) through the pipeline and measures it.
 * @throws when Postfix does not get every message, or a job is left in the queue
 */
export async function runPipeline(options: PipelineRunOptions): Promise<PipelineRunResult> {
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const sqs = await startLocalSqs(0, {
      environment: 'bench',
      region: REGION,
      batchSize: options.batchSize,
      maxConcurrency: 1,
      memorySize: options.memoryMiB,
      timeoutSeconds: 60,
      batchingWindowSeconds: 0,
      visibilityTimeoutSeconds: 360,
      maxReceiveCount: 5,
      fifo: false,
    });
    stops.push(() => sqs.stop());
    const sqsCalls = await startAwsCallRecorder(sqs.endpoint);
    stops.push(() => sqsCalls.stop());
    const client = new SQSClient({ endpoint: sqsCalls.endpoint, region: REGION, credentials: LOCAL_CREDENTIALS });
    stops.push(() => {
      client.destroy();
      return Promise.resolve();
    });
    const proxy = await startLatencyProxy({ target: { host: options.postfix.host, port: options.postfix.port }, rttMs: options.rttMs });
    stops.push(() => proxy.stop());
    const caFile = path.join(options.workDir, 'postfix-ca.pem');
    await writeFile(caFile, options.postfix.ca);

    const environment: Record<string, string> = {
      SMTP_URL: `smtp://${encodeURIComponent(options.postfix.user)}:${encodeURIComponent(options.postfix.pass)}@127.0.0.1:${proxy.port}?security=starttls&from=${encodeURIComponent('bench@example.test')}`,
      SMTP_CA_FILE: caFile,
      MAIL_PER_CONNECTION: String(options.batchSize),
      QUEUE_URL: sqs.queueUrl,
      DLQ_URL: sqs.dlqUrl,
      AWS_ENDPOINT_URL_SQS: sqsCalls.endpoint,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_LAMBDA_FUNCTION_NAME: 'send-mail-bench',
      POWERTOOLS_METRICS_NAMESPACE: 'OutboundMailBench',
      POWERTOOLS_METRICS_DISABLED: 'true',
      TZ: 'UTC',
    };
    let dynamoCalls: RecordedCall[] = [];
    let ledgerItemBytes = 0;
    let readLedger: (() => Promise<void>) | undefined;
    if (options.ledger) {
      const dynamo = await startLocalDynamo(0, { region: REGION });
      stops.push(() => dynamo.stop());
      await dynamo.createLedgerTable(LOCAL_LEDGER_TABLE);
      const recorder = await startAwsCallRecorder(dynamo.endpoint);
      recorder.delayMs = options.dynamoDelayMs ?? 0;
      stops.push(() => recorder.stop());
      dynamoCalls = recorder.calls;
      environment['MAIL_LEDGER_TABLE'] = LOCAL_LEDGER_TABLE;
      environment['AWS_ENDPOINT_URL_DYNAMODB'] = recorder.endpoint;
      readLedger = async () => {
        const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
        const scanned = await dynamo.client.send(new ScanCommand({ TableName: LOCAL_LEDGER_TABLE }));
        for (const item of scanned.Items ?? []) ledgerItemBytes = Math.max(ledgerItemBytes, itemBytes(item));
      };
    }

    // Publish first (ten per request, as a producer would), then let the event source drain the queue.
    for (let first = 0; first < options.jobs; first += 10) {
      const entries = Array.from({ length: Math.min(10, options.jobs - first) }, (_, i) => {
        const n = first + i + 1;
        return {
          Id: String(i),
          MessageBody: JSON.stringify({
            v: 1,
            id: `bench-${n}`,
            from: 'Bench <bench@example.test>',
            to: [`rcpt${n}@example.test`],
            subject: `Pipeline bench ${n}`,
            text: `Your receipt number ${n}.\n${'Thank you for your order. '.repeat(40)}\n`,
          }),
        };
      });
      await client.send(new SendMessageBatchCommand({ QueueUrl: sqs.queueUrl, Entries: entries }));
    }

    const durations: number[] = [];
    const windows: { start: number; end: number }[] = [];
    const started = new Map<number, number>();
    let delivered = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const mapping = await EventSourceMapping.start({
      sqs: client,
      queueUrl: sqs.queueUrl,
      queueArn: sqs.queueArn,
      region: REGION,
      batchSize: options.batchSize,
      maxConcurrency: 1,
      batchingWindowSeconds: 0,
      waitTimeSeconds: 1,
      function: {
        bundle: options.bundle,
        environment,
        functionName: 'send-mail-bench',
        region: REGION,
        memoryLimitInMB: options.memoryMiB,
        timeoutSeconds: 60,
      },
      onInvocationStart: (start: InvocationStart) => void started.set(start.poller, Date.now()),
      onInvocation: (report: InvocationReport) => {
        const end = Date.now();
        const start = started.get(report.poller) ?? end;
        durations.push(end - start);
        windows.push({ start, end });
        delivered += report.deleted.length;
        if (delivered >= options.jobs) done();
      },
    });
    stops.push(() => mapping.stop(1000));
    const timeout = setTimeout(done, 300_000);
    await finished;
    clearTimeout(timeout);
    await mapping.stop(5000);
    stops.pop();
    const landed = await options.postfix.waitForMessages(options.jobs, 60_000);
    await options.postfix.clearMailbox();
    if (landed.length !== options.jobs) throw new Error(`Postfix got ${landed.length} messages, expected ${options.jobs}`);
    await readLedger?.();

    const wavesPerBatch = windows.map((w) => wavesOf(dynamoCalls.filter((call) => call.start >= w.start && call.end <= w.end + 5)));
    const sorted = [...durations].sort((a, b) => a - b);
    return {
      jobs: options.jobs,
      delivered,
      invocations: durations.length,
      wallMs: Math.max(...windows.map((w) => w.end)) - Math.min(...windows.map((w) => w.start)),
      busyMs: durations.reduce((sum, d) => sum + d, 0),
      medianBatchMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
      // With no batching window, each batch comes from one receive; the empty long polls in between are the
      // pollers' fixed cost, not a cost per job.
      sqsCalls: { ...countByAction(sqsCalls.calls.filter((call) => call.action !== 'ReceiveMessage')), ReceiveMessage: durations.length },
      dynamoCalls: countByAction(dynamoCalls),
      ledgerItemBytes,
      dynamoWavesPerBatch: wavesPerBatch.length === 0 ? 0 : wavesPerBatch.reduce((sum, w) => sum + w, 0) / wavesPerBatch.length,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

/** An item's size as DynamoDB bills it: attribute names plus values (approximately, for strings, numbers and maps of them). */
function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  const walk = (value: unknown): void => {
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (!['S', 'N', 'M', 'L', 'BOOL', 'NULL'].includes(key)) bytes += Buffer.byteLength(key);
        walk(inner);
      }
    }
  };
  walk(item);
  return bytes;
}
