/**
 * The local event source mapping against the real SQS emulator, with small handler bundles written
 * for the test (so each behaviour of Lambda's mapping can be provoked): the event's shape and the
 * context, batch size, deletes, partial failures coming back, whole-batch failures, timeouts,
 * and the maximum concurrency.
 */
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EventSourceMapping } from '../../lib/local/EventSourceMapping.js';
import type { EventSourceMappingOptions, InvocationReport, InvocationStart } from '../../lib/local/EventSourceMapping.js';
import { FunctionInitError } from '../../lib/local/FunctionInstance.js';
import { startLocalSqs } from '../../lib/local/LocalSqs.js';
import type { LocalSqs } from '../../lib/local/LocalSqs.js';
import type { PipelineSettings } from '../../lib/local/pipelineSettings.js';

/**
 * A handler driven by the bodies: `{"fail":true}` is listed in batchItemFailures, `{"throw":true}`
 * makes it throw, `{"bogus":true}` lists an id that is not in the batch, `{"sleep":ms}` waits.
 * It logs the event and the remaining time, and appends start/end lines to TRACE_FILE.
 */
const HANDLER = `
import { appendFileSync } from 'node:fs';
export const handler = async (event, context) => {
  const trace = process.env.TRACE_FILE;
  appendFileSync(trace, 'start\\n');
  console.log(JSON.stringify({ event, remaining: context.getRemainingTimeInMillis(), env: process.env.GREETING }));
  const bodies = event.Records.map((r) => JSON.parse(r.body));
  const sleep = Math.max(0, ...bodies.map((b) => b.sleep ?? 0));
  if (sleep > 0) await new Promise((resolve) => setTimeout(resolve, sleep));
  appendFileSync(trace, 'end\\n');
  if (bodies.some((b) => b.throw)) throw new Error('handler failed on purpose');
  if (bodies.some((b) => b.bogus)) return { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] };
  return { batchItemFailures: event.Records.filter((r) => JSON.parse(r.body).fail).map((r) => ({ itemIdentifier: r.messageId })) };
};
`;

const settings: PipelineSettings = {
  environment: 'test',
  region: 'eu-west-1',
  batchSize: 3,
  maxConcurrency: 2,
  memorySize: 128,
  timeoutSeconds: 5,
  batchingWindowSeconds: 0,
  visibilityTimeoutSeconds: 1,
  maxReceiveCount: 10,
  fifo: false,
};

let dir: string;
let bundleFile: string;
let sqs: LocalSqs;
let mapping: EventSourceMapping | undefined;
let reports: InvocationReport[];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'event-source-'));
  bundleFile = path.join(dir, 'index.mjs');
  await writeFile(bundleFile, HANDLER);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await mapping?.stop();
  mapping = undefined;
  await (sqs as LocalSqs | undefined)?.stop(); // unset when beforeEach failed
});

async function start(overrides: {
  batchSize?: number;
  maxConcurrency?: number;
  timeoutSeconds?: number;
  trace: string;
  onInvocationStart?: EventSourceMappingOptions['onInvocationStart'];
}): Promise<void> {
  sqs = await startLocalSqs(0, settings);
  reports = [];
  mapping = await EventSourceMapping.start({
    sqs: sqs.client,
    queueUrl: sqs.queueUrl,
    queueArn: sqs.queueArn,
    region: settings.region,
    batchSize: overrides.batchSize ?? settings.batchSize,
    maxConcurrency: overrides.maxConcurrency ?? settings.maxConcurrency,
    batchingWindowSeconds: 0,
    waitTimeSeconds: 1,
    function: {
      bundle: { file: bundleFile, handler: 'handler' },
      environment: { TRACE_FILE: overrides.trace, GREETING: 'from the function environment' },
      functionName: 'test-function',
      region: settings.region,
      memoryLimitInMB: 128,
      timeoutSeconds: overrides.timeoutSeconds ?? settings.timeoutSeconds,
    },
    onInvocation: (report) => reports.push(report),
    ...(overrides.onInvocationStart === undefined ? {} : { onInvocationStart: overrides.onInvocationStart }),
  });
}

async function publish(bodies: object[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const reply = await sqs.client.send(
      new SendMessageBatchCommand({
        QueueUrl: sqs.queueUrl,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({
          Id: String(j),
          MessageBody: JSON.stringify(body),
          MessageAttributes: { Tag: { DataType: 'String', StringValue: `t${i + j}` } },
        })),
      }),
    );
    const byEntry = new Map((reply.Successful ?? []).map((ok) => [Number(ok.Id), ok.MessageId!]));
    bodies.slice(i, i + 10).forEach((_, j) => ids.push(byEntry.get(j)!));
  }
  return ids;
}

async function until(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what}: not reached`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function logged(report: InvocationReport): { event: { Records: SQSRecord[] }; remaining: number; env: string } {
  return JSON.parse(report.result.logs.find((line) => line.startsWith('{"event"'))!) as never;
}

describe('the local event source mapping', () => {
  it('hands the function Lambda-shaped records in batches of at most the batch size, deletes the successes and lets the failures come back', async () => {
    const trace = path.join(dir, 'trace-1');
    await start({ batchSize: 3, maxConcurrency: 2, trace });
    const ids = await publish([{ n: 1 }, { n: 2, fail: true }, { n: 3 }, { n: 4 }, { n: 5 }]);

    // The failed one is back after the queue's 1 s visibility timeout, with a higher receive count.
    await until(() => reports.flatMap((r) => r.records).filter((r) => r.messageId === ids[1]).length >= 2, 'the failed record received twice');
    await mapping!.stop();
    mapping = undefined;

    for (const report of reports) expect(report.records.length).toBeLessThanOrEqual(3);
    const firstReceives = new Map<string, SQSRecord>();
    for (const record of reports.flatMap((r) => r.records)) if (!firstReceives.has(record.messageId)) firstReceives.set(record.messageId, record);
    expect([...firstReceives.keys()].sort()).toEqual([...ids].sort());
    const record = firstReceives.get(ids[0]!)!;
    expect(Object.keys(record).sort()).toEqual([
      'attributes',
      'awsRegion',
      'body',
      'eventSource',
      'eventSourceARN',
      'md5OfBody',
      'md5OfMessageAttributes',
      'messageAttributes',
      'messageId',
      'receiptHandle',
    ]);
    expect(record).toMatchObject({ body: '{"n":1}', eventSource: 'aws:sqs', eventSourceARN: sqs.queueArn, awsRegion: 'eu-west-1' });
    expect(record.attributes.ApproximateReceiveCount).toBe('1');
    expect(Number(record.attributes.SentTimestamp)).toBeGreaterThan(0);
    expect(record.messageAttributes).toEqual({ Tag: { stringValue: 't0', stringListValues: [], binaryListValues: [], dataType: 'String' } });
    expect(record.md5OfBody).toMatch(/^[0-9a-f]{32}$/);

    const again = reports.flatMap((r) => r.records).filter((r) => r.messageId === ids[1]);
    expect(again.map((r) => r.attributes.ApproximateReceiveCount).slice(0, 2)).toEqual(['1', '2']);
    const firstReport = reports.find((r) => r.records.some((x) => x.messageId === ids[1]))!;
    expect(firstReport.failed).toEqual([ids[1]]);
    expect(firstReport.deleted.sort()).toEqual(
      firstReport.records
        .map((r) => r.messageId)
        .filter((id) => id !== ids[1])
        .sort(),
    );
    const depth = await sqs.depth('queue');
    expect(depth.ready + depth.delayed).toBe(0);

    const seen = logged(reports[0]!);
    expect(seen.env).toBe('from the function environment');
    expect(seen.remaining).toBeGreaterThan(0);
    expect(seen.remaining).toBeLessThanOrEqual(5000);
    expect(seen.event.Records).toEqual(reports[0]!.records);
  });

  it('retries the whole batch when the handler throws or names a record that is not in the batch', async () => {
    const trace = path.join(dir, 'trace-2');
    await start({ batchSize: 10, maxConcurrency: 2, trace });
    const thrown = await publish([{ throw: true }, { n: 1 }]);
    await until(() => reports.length >= 1, 'first invocation');
    const bogus = await publish([{ bogus: true }, { n: 2 }]);
    await until(() => reports.some((r) => r.records.some((x) => x.messageId === bogus[0])), 'second invocation');

    const throwing = reports.find((r) => r.records.some((x) => x.messageId === thrown[0]))!;
    expect(throwing.result.kind).toBe('error');
    expect(throwing.batchFailure).toBe('Error: handler failed on purpose');
    expect(throwing.failed.sort()).toEqual(throwing.records.map((r) => r.messageId).sort());
    expect(throwing.deleted).toEqual([]);
    const naming = reports.find((r) => r.records.some((x) => x.messageId === bogus[0]))!;
    expect(naming.batchFailure).toBe('batchItemFailures names "not-in-this-batch", which is not in the batch: the whole batch is retried');
    expect(naming.deleted).toEqual([]);
  });

  it('ends an invocation at the function timeout and starts a new execution environment for the next one', async () => {
    const trace = path.join(dir, 'trace-3');
    await start({ batchSize: 1, maxConcurrency: 1, timeoutSeconds: 1, trace });
    const [slow] = await publish([{ sleep: 3000 }]);
    await until(() => reports.length >= 1, 'the slow invocation');
    expect(reports[0]).toMatchObject({ failed: [slow], deleted: [], batchFailure: 'the invocation timed out after 1 s', coldStart: false });
    expect(reports[0]!.result.kind).toBe('timeout');
    // The job comes back after the visibility timeout; its next invocation needs a new environment.
    await until(() => reports.length >= 2, 'the next invocation');
    expect(reports[1]).toMatchObject({ failed: [slow], coldStart: true });
    expect(reports[1]!.records[0]!.attributes.ApproximateReceiveCount).toBe('2');
  });

  it('kills an invocation mid-batch on request: the environment ends, nothing is deleted, the records come back to a new environment', async () => {
    const trace = path.join(dir, 'trace-kill');
    await writeFile(trace, '');
    const starts: InvocationStart[] = [];
    await start({
      batchSize: 2,
      maxConcurrency: 1,
      trace,
      onInvocationStart: (invocation) => {
        starts.push(invocation);
        if (starts.length === 1) setTimeout(() => invocation.kill(), 300);
      },
    });
    const ids = await publish([{ sleep: 2000 }, { n: 2 }]);
    await until(() => reports.length >= 1, 'the killed invocation');
    expect(reports[0]).toMatchObject({ deleted: [], batchFailure: 'the execution environment ended' });
    expect(reports[0]!.failed.sort()).toEqual([...ids].sort());
    expect(await readFile(trace, 'utf8')).toBe('start\n'); // it never reached its end
    expect(starts[0]!.records.map((r) => r.messageId).sort()).toEqual([...ids].sort());
    // Back after the 1 s visibility timeout, in a new execution environment.
    await until(() => reports.length >= 2, 'the next invocation');
    expect(reports[1]).toMatchObject({ coldStart: true });
    expect(reports[1]!.records.map((r) => r.attributes.ApproximateReceiveCount)).toContain('2');
    // A kill after the invocation ended does nothing: the environment stays.
    await until(() => reports.flatMap((r) => r.deleted).length >= 2, 'both records done');
    starts.at(-1)!.kill();
    await publish([{ n: 3 }]);
    await until(() => reports.some((r) => r.records.some((x) => x.body === '{"n":3}')), 'the third record');
    expect(reports.at(-1)).toMatchObject({ coldStart: false, failed: [] });
  });

  it('runs at most maxConcurrency invocations at once', async () => {
    const trace = path.join(dir, 'trace-4');
    await writeFile(trace, '');
    await start({ batchSize: 1, maxConcurrency: 2, trace });
    await publish(Array.from({ length: 6 }, () => ({ sleep: 300 })));
    await until(() => reports.length >= 6, 'six invocations');
    let running = 0;
    let most = 0;
    for (const line of (await readFile(trace, 'utf8')).trim().split('\n')) {
      running += line === 'start' ? 1 : -1;
      most = Math.max(most, running);
    }
    expect(most).toBe(2);
    expect(new Set(reports.map((r) => r.poller))).toEqual(new Set([1, 2]));
  });

  it('fails at start when the function cannot start', async () => {
    const broken = path.join(dir, 'broken.mjs');
    await writeFile(broken, "throw new Error('ConfigError: SMTP_URL: missing');\n");
    sqs = await startLocalSqs(0, settings);
    await expect(
      EventSourceMapping.start({
        sqs: sqs.client,
        queueUrl: sqs.queueUrl,
        queueArn: sqs.queueArn,
        region: settings.region,
        batchSize: 1,
        maxConcurrency: 2,
        batchingWindowSeconds: 0,
        function: {
          bundle: { file: broken, handler: 'handler' },
          environment: {},
          functionName: 'f',
          region: 'eu-west-1',
          memoryLimitInMB: 128,
          timeoutSeconds: 1,
        },
        onInvocation: () => undefined,
      }),
    ).rejects.toThrow(new FunctionInitError('Error: ConfigError: SMTP_URL: missing', []));
  });
});
