/**
 * The send-mail handler's peak memory and time per batch, for demanding batches of 10 jobs with
 * large attachments, beside a minimal handler built on nodemailer (`bench/nodemailerHandler.ts`)
 * sending the same messages. Two sizes: the largest batch of 10 Lambda can deliver (the
 * invocation payload is capped at 6 MB, so ~590 KB per job), and a stress batch of 10 jobs near
 * the 1 MiB SQS message limit (~900 KB each, ~9 MB of event: more than one Lambda event can hold,
 * measured to show the headroom). Both are bundled with the Lambda's esbuild settings and each run is a fresh Node
 * process (a cold start) that imports the bundle, parses the event as the Lambda runtime does and
 * calls the handler once; its own peak resident memory (`VmHWM`: bench/handlerChild.ts) is what a
 * 128 MB function must hold. The SMTP server (smtp-server, STARTTLS + AUTH) and an optional
 * latency proxy run in this process, so the child's figures are the handler's alone.
 * @module
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startScriptedServer } from '../test/support/scriptedServer.js';
import { startSmtpServer } from '../test/support/smtpServer.js';
import { FUNCTION_MEMORY_MB, buildNodemailerBundle, childProgram, handlerEnv, lambdaNodeFlags, runChild } from './handlerChild.js';
import type { ChildReport } from './handlerChild.js';
import { startLatencyProxy } from './latencyProxy.js';
import { buildSendMailBundle } from './lambdaBundle.js';
import { fixed, markdownTable, median } from './report.js';
import type { BenchSection } from './report.js';

/** One row of the result table. */
export interface HandlerMemoryRow {
  handler: 'send-mail (ours)' | 'nodemailer, minimal' | 'send-mail (ours), CHUNKING relay';
  /** Size of the event JSON, in bytes. */
  eventBytes: number;
  /** Largest job (SQS message body), in bytes. */
  jobBytes: number;
  rttMs: number;
  runs: number;
  /** Median time of the handler call (the batch), in milliseconds. */
  batchMs: number;
  /** Median peak resident memory of the whole process, in MiB. */
  peakRssMiB: number;
  /** Highest peak seen over the runs, in MiB. */
  worstRssMiB: number;
  /** Median resident memory after importing the bundle, before the event was read, in MiB. */
  importedRssMiB: number;
  /** Messages the server received per batch (10 when everything went). */
  delivered: number;
  /** Records the handler reported failed, per batch (0 when everything went). */
  failed: number;
}

/** Options of {@link measureHandlerMemory}. */
export interface HandlerMemoryOptions {
  /** Fresh processes per handler and latency. @default 3 */
  runs?: number;
  /** Round-trip times to add with the latency proxy. @default [0, 10] */
  rttsMs?: number[];
  /** Jobs in the batch. @default 10 */
  jobs?: number;
  /**
   * Attachment sizes per job to measure, in bytes, one batch each.
   * @default [440_000, 655_360]: ~590 KB jobs (a 5.9 MB event, under Lambda's 6 MB payload cap) and ~900 KB jobs (near the 1 MiB SQS limit)
   */
  attachmentBytes?: number[];
  /** The function's memory size: the child gets Lambda's heap flags for it (see `lambdaNodeFlags`). @default 128 */
  memoryMb?: number;
  log?: (line: string) => void;
}

/** Builds an SQS event of `count` jobs, each with an attachment of `attachmentBytes` random bytes. */
function buildEvent(count: number, attachmentBytes: number): { Records: unknown[] } {
  return {
    Records: Array.from({ length: count }, (_, index) => {
      const body = JSON.stringify({
        v: 1,
        id: `bench-${index + 1}`,
        from: 'Bench <bench@example.com>',
        to: [`rcpt${index + 1}@example.com`],
        subject: `Memory bench ${index + 1}`,
        text: 'A large report is attached.\n'.repeat(200),
        attachments: [{ filename: 'report.bin', contentType: 'application/octet-stream', content: randomBytes(attachmentBytes).toString('base64') }],
      });
      if (Buffer.byteLength(body) > 1_048_576) throw new Error(`job ${index + 1} is ${Buffer.byteLength(body)} bytes, over the SQS limit`);
      return {
        messageId: randomUUID(),
        receiptHandle: `bench-${index}`,
        body,
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 'bench', ApproximateFirstReceiveTimestamp: '0' },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:eu-west-1:000000000000:mail',
        awsRegion: 'eu-west-1',
      };
    }),
  };
}

/**
 * Measures both handlers. Runs alternate between them so that load on the machine hits both alike.
 *
 * @throws when a bundle does not build or a handler process fails
 * @example
 * const rows = await measureHandlerMemory({ runs: 3 });
 * console.log(markdownTable(HANDLER_MEMORY_HEADERS, rows.map(handlerMemoryCells)));
 */
export async function measureHandlerMemory(options: HandlerMemoryOptions = {}): Promise<HandlerMemoryRow[]> {
  const runs = options.runs ?? 3;
  const rtts = options.rttsMs ?? [0, 10];
  const sizes = options.attachmentBytes ?? [440_000, 655_360];
  const log = options.log ?? (() => {});
  const memoryMb = options.memoryMb ?? FUNCTION_MEMORY_MB;
  const jobs = options.jobs ?? 10;
  const server = await startSmtpServer();
  const work = await mkdtemp(path.join(os.tmpdir(), 'handler-memory-'));
  const ours = await buildSendMailBundle();
  const theirs = await buildNodemailerBundle();
  try {
    const caFile = path.join(work, 'ca.pem');
    await writeFile(caFile, server.ca);
    const handlers = [
      { name: 'send-mail (ours)' as const, file: ours.file },
      { name: 'nodemailer, minimal' as const, file: theirs.file },
    ];
    const rows: HandlerMemoryRow[] = [];
    for (const attachmentBytes of sizes) {
      const event = buildEvent(jobs, attachmentBytes);
      const eventJson = JSON.stringify(event);
      const eventFile = path.join(work, `event-${attachmentBytes}.json`);
      await writeFile(eventFile, eventJson);
      const eventBytes = Buffer.byteLength(eventJson);
      const jobBytes = Math.max(...event.Records.map((record) => Buffer.byteLength((record as { body: string }).body)));
      for (const rttMs of rtts) {
        const proxy = rttMs > 0 ? await startLatencyProxy({ target: { host: server.host, port: server.port }, rttMs }) : undefined;
        const port = proxy?.port ?? server.port;
        const env: NodeJS.ProcessEnv = {
          ...handlerEnv(caFile, jobs),
          SMTP_URL: `smtp://${encodeURIComponent(server.user)}:${encodeURIComponent(server.pass)}@127.0.0.1:${port}`,
        };
        const samples = handlers.map((h) => ({ h, reports: [] as (ChildReport & { delivered: number })[] }));
        try {
          for (let run = 0; run < runs; run += 1) {
            for (const { h, reports } of run % 2 === 0 ? samples : [...samples].reverse()) {
              server.messages.splice(0);
              const report = await runChild(childProgram(h.file, eventFile), env, memoryMb);
              reports.push({ ...report, delivered: server.messages.length });
              log(
                `${h.name}, ${(eventBytes / 1e6).toFixed(1)} MB event, rtt ${rttMs} ms, run ${run + 1}/${runs}: ${report.ms.toFixed(0)} ms, peak ${(report.peakRssKb / 1024).toFixed(1)} MiB`,
              );
            }
          }
        } finally {
          await proxy?.stop();
        }
        for (const { h, reports } of samples) {
          rows.push(summarise(h.name, { eventBytes, jobBytes, rttMs }, reports));
        }
      }
    }
    // With a relay that offers CHUNKING the handler builds every message of the batch before
    // streaming them all in one write: its peak, on our scripted relay (STARTTLS, AUTH, BDAT).
    const relay = await startScriptedServer();
    try {
      await writeFile(caFile, relay.ca);
      for (const attachmentBytes of sizes) {
        const eventFile = path.join(work, `event-${attachmentBytes}.json`);
        const event = JSON.parse(await readFile(eventFile, 'utf8')) as { Records: { body: string }[] };
        const env: NodeJS.ProcessEnv = { ...handlerEnv(caFile, jobs), SMTP_URL: `smtp://mailer:secret@127.0.0.1:${relay.port}` };
        const taken: (ChildReport & { delivered: number })[] = [];
        for (let run = 0; run < runs; run += 1) {
          const before = relay.connections.reduce((sum, c) => sum + c.messages.length, 0);
          const report = await runChild(childProgram(ours.file, eventFile), env, memoryMb);
          taken.push({ ...report, delivered: relay.connections.reduce((sum, c) => sum + c.messages.length, 0) - before });
          log(
            `send-mail (ours), CHUNKING relay, run ${run + 1}/${runs}: ${report.ms.toFixed(0)} ms, peak ${(report.peakRssKb / 1024).toFixed(1)} MiB`,
          );
        }
        const shape = {
          eventBytes: Buffer.byteLength(JSON.stringify(event)),
          jobBytes: Math.max(...event.Records.map((record) => Buffer.byteLength(record.body))),
          rttMs: 0,
        };
        rows.push(summarise('send-mail (ours), CHUNKING relay', shape, taken));
      }
    } finally {
      await relay.stop();
    }
    return rows;
  } finally {
    await server.stop();
    await Promise.all([work, ours.dir, theirs.dir].map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** One table row: the medians (and the worst peak) of a handler's runs on one batch. */
function summarise(
  handler: HandlerMemoryRow['handler'],
  batch: Pick<HandlerMemoryRow, 'eventBytes' | 'jobBytes' | 'rttMs'>,
  taken: (ChildReport & { delivered: number })[],
): HandlerMemoryRow {
  return {
    handler,
    ...batch,
    runs: taken.length,
    batchMs: median(taken.map((s) => s.ms)),
    peakRssMiB: median(taken.map((s) => s.peakRssKb / 1024)),
    worstRssMiB: Math.max(...taken.map((s) => s.peakRssKb / 1024)),
    importedRssMiB: median(taken.map((s) => s.importedRss / 1024 / 1024)),
    delivered: median(taken.map((s) => s.delivered)),
    failed: median(taken.map((s) => s.failed)),
  };
}

/** Lambda's invocation payload cap: an SQS event source mapping never hands a function more. */
export const LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** Column headers of the table {@link handlerMemoryCells} fills. */
export const HANDLER_MEMORY_HEADERS = [
  'handler',
  'event (largest job)',
  'added RTT',
  'batch time (median)',
  'peak RSS (median / worst)',
  'RSS after import',
  'delivered / failed',
  'fits 128 MB',
];

/** One table row's cells. */
export function handlerMemoryCells(row: HandlerMemoryRow): string[] {
  return [
    row.handler,
    `${fixed(row.eventBytes / 1e6, 1)} MB (${fixed(row.jobBytes / 1e3, 0)} KB)${row.eventBytes > LAMBDA_PAYLOAD_BYTES ? ', over the 6 MB cap' : ''}`,
    `${row.rttMs} ms`,
    `${fixed(row.batchMs, 0)} ms`,
    `${fixed(row.peakRssMiB, 1)} / ${fixed(row.worstRssMiB, 1)} MiB`,
    `${fixed(row.importedRssMiB, 1)} MiB`,
    `${row.delivered} / ${row.failed}`,
    row.worstRssMiB < 128 ? 'yes' : 'no',
  ];
}

/** The bench section for `npm run bench -- memory`. */
export const handlerMemorySection: BenchSection = {
  name: 'memory',
  title: 'send-mail handler: peak memory and time for a batch of 10 large jobs',
  async run(log) {
    const rows = await measureHandlerMemory({ log });
    return [
      'Batches of 10 jobs, each with one large attachment: ~590 KB per job (5.9 MB of event, the most Lambda passes in one invocation) and ' +
        '~900 KB per job (near the 1 MiB SQS message limit; 9 MB of event, more than Lambda can pass: a stress figure). Each run is a fresh Node ' +
        `${process.versions.node} process started with the flags Lambda's Node.js runtime gives a ${FUNCTION_MEMORY_MB} MB function (\`${lambdaNodeFlags(FUNCTION_MEMORY_MB).join(' ')}\`, from the runtime's bootstrap) that imports the esbuild bundle, parses the event and calls the handler once, ` +
        "against smtp-server (STARTTLS + AUTH, no CHUNKING) on loopback, optionally through the latency proxy, and against our scripted relay with CHUNKING (where the whole batch is built first and streamed as BDAT). Peak RSS is the whole process's own peak, `VmHWM` of /proc/self/status (not `process.resourceUsage().maxRSS`, which on Linux keeps the bench process's RSS at the fork).",
      '',
      markdownTable(HANDLER_MEMORY_HEADERS, rows.map(handlerMemoryCells)),
    ].join('\n');
  },
};
