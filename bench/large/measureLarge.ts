/**
 * Runs the `large` bench: for each relay (DATA, CHUNKING), added RTT and batch, each handler (ours,
 * nodemailer) handles the batch in a fresh child process (bench/handlerChild.ts) several times, the
 * two taking turns. Each batch is published once through the producer into fauxqs (S3 + SQS, in this
 * process); every run gets fresh server-side copies of its objects, and what the relay received is checked.
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SQSRecord } from 'aws-lambda';
import { FUNCTION_MEMORY_MB, buildBenchBundle, childProgram, handlerEnv, runChild } from '../handlerChild.js';
import type { ChildReport } from '../handlerChild.js';
import { startLatencyProxy } from '../latencyProxy.js';
import { buildSendMailBundle } from '../lambdaBundle.js';
import { checkDelivery } from './deliveryCheck.js';
import { summariseLarge } from './largeTable.js';
import type { LargeHandler, LargeRow, LargeSample } from './largeTable.js';
import { startPayloadRig, writeAttachmentFile } from './payloadRig.js';
import type { AttachmentFile, BenchJob, PayloadRig } from './payloadRig.js';
import { startBenchRelay } from './relays.js';
import type { BenchRelay, RelayKind } from './relays.js';

/** One batch to measure: its large messages' sizes on the wire (MB = 10⁶ octets) and how many small jobs. */
export interface LargeBatchSpec {
  label: string;
  largeMb: number[];
  small: number;
  runs: number;
}

/** The batches of the section: 3 runs each of the 10 and 25 MB ones, 2 of those with 40 MB. */
export const LARGE_BATCHES: readonly LargeBatchSpec[] = [
  { label: '1 × 10 MB', largeMb: [10], small: 0, runs: 3 },
  { label: '1 × 25 MB', largeMb: [25], small: 0, runs: 3 },
  { label: '1 × 40 MB', largeMb: [40], small: 0, runs: 2 },
  { label: 'mixed 40+10+8×small', largeMb: [40, 10], small: 8, runs: 2 },
];

/** Options of {@link measureLarge}. */
export interface LargeOptions {
  /** @default ['DATA', 'CHUNKING'] */
  relays?: readonly RelayKind[];
  /** @default [0, 40] */
  rttsMs?: readonly number[];
  /** @default {@link LARGE_BATCHES} */
  batches?: readonly LargeBatchSpec[];
  /** @default both */
  handlers?: readonly LargeHandler[];
  /** The function's memory size: the children get Lambda's heap flags for it (see `lambdaNodeFlags`). @default 128 */
  memoryMb?: number;
  log?: (line: string) => void;
}

/**
 * Octets of attachment that make a message of about `wireBytes` on the wire: base64 (4/3) in lines
 * of 76 characters and CRLF (78/76), after ~3 KB of headers, text and MIME boundaries.
 */
export function attachmentBytesFor(wireBytes: number): number {
  return Math.floor(((((wireBytes - 3000) * 3) / 4) * (76 / 78)) / 3) * 3;
}

/** A handler's bundle. */
interface Contender {
  handler: LargeHandler;
  file: string;
}

/** The first error or warning line of a child's log, shortened, for the table. */
function logLine(log: string | undefined): string {
  const line = log?.split('\n').find((l) => /error|warn|fail/i.test(l)) ?? log?.split('\n')[0];
  return line === undefined ? 'nothing logged' : line.replace(/\|/g, '/').slice(0, 240);
}

/** One run: fresh copies of the objects, handle in a child, check what the relay got, remove the objects. */
async function runOnce(
  contender: Contender,
  jobs: readonly BenchJob[],
  records: readonly SQSRecord[],
  setting: { rig: PayloadRig; relay: BenchRelay; env: NodeJS.ProcessEnv; eventFile: string; memoryMb: number },
): Promise<LargeSample> {
  const { rig, relay, eventFile } = setting;
  await relay.clear();
  const event = await rig.eventFor(records, eventFile);
  let report: ChildReport | undefined;
  let problem: string | undefined;
  try {
    report = await runChild(childProgram(contender.file, eventFile, { remainingMs: 300_000 }), setting.env, setting.memoryMb);
  } catch (error) {
    problem = error instanceof Error ? error.message.slice(0, 300) : String(error);
  }
  const everything = report !== undefined && report.failed === 0;
  const received = await relay.received(jobs.length, everything ? 60_000 : 2_000);
  const largeDigests = jobs.flatMap((job) => (job.kind === 'large' ? [job.file.sha256] : []));
  const check = checkDelivery(received, jobs.length, largeDigests);
  await rig.discard(event.records);
  await relay.clear();
  const reportedFailed =
    report !== undefined && report.failed > 0 ? `${report.failed} record(s) reported failed (${logLine(report.log)})` : undefined;
  const problems = [problem, reportedFailed, check.problem];
  const said = problems.filter((text): text is string => text !== undefined);
  return {
    ...(report === undefined ? {} : { ms: report.ms, peakRssKb: report.peakRssKb, importedRss: report.importedRss }),
    failed: report?.failed ?? jobs.length,
    delivered: check.delivered,
    expected: jobs.length,
    intact: check.intact,
    largestBytes: check.largestBytes,
    ...(said.length === 0 ? {} : { problem: said.join('; ') }),
  };
}

/**
 * Measures every relay × RTT × batch for each handler and returns one row per handler and setting.
 *
 * @throws when a bundle does not build, the emulator or a relay does not start (Postfix needs root
 *   and Debian's packages). A handler that fails is not thrown: its row shows it.
 * @example
 * const rows = await measureLarge({ log: console.error });
 * console.log(markdownTable(LARGE_HEADERS, largeTableRows(rows)));
 */
export async function measureLarge(options: LargeOptions = {}): Promise<LargeRow[]> {
  const log = options.log ?? (() => {});
  const handlers = options.handlers ?? ['send-mail (ours)', 'nodemailer'];
  const batches = options.batches ?? LARGE_BATCHES;
  const memoryMb = options.memoryMb ?? FUNCTION_MEMORY_MB;
  const work = await mkdtemp(path.join(os.tmpdir(), 'bench-large-'));
  const dirs: string[] = [work];
  const rig = await startPayloadRig();
  try {
    const contenders: Contender[] = [];
    for (const handler of handlers) {
      const bundle =
        handler === 'send-mail (ours)'
          ? await buildSendMailBundle()
          : await buildBenchBundle(path.join('bench', 'large', 'nodemailerPayloadHandler.ts'));
      dirs.push(bundle.dir);
      contenders.push({ handler, file: bundle.file });
    }
    const files = new Map<number, AttachmentFile>();
    for (const mb of new Set(batches.flatMap((batch) => batch.largeMb)))
      files.set(mb, await writeAttachmentFile(work, `report-${mb}mb.bin`, attachmentBytesFor(mb * 1e6)));
    const jobsOf = (batch: LargeBatchSpec): BenchJob[] => [
      ...batch.largeMb.map((mb): BenchJob => ({ kind: 'large', file: files.get(mb) as AttachmentFile })),
      ...Array.from({ length: batch.small }, (): BenchJob => ({ kind: 'small' })),
    ];
    const rows: LargeRow[] = [];
    for (const kind of options.relays ?? ['DATA', 'CHUNKING']) {
      const relay = await startBenchRelay(kind);
      try {
        const caFile = path.join(work, `${kind}-ca.pem`);
        await writeFile(caFile, relay.ca);
        for (const rttMs of options.rttsMs ?? [0, 40]) {
          const proxy = rttMs > 0 ? await startLatencyProxy({ target: { host: relay.host, port: relay.port }, rttMs }) : undefined;
          const smtpUrl = `smtp://${encodeURIComponent(relay.user)}:${encodeURIComponent(relay.pass)}@127.0.0.1:${proxy?.port ?? relay.port}`;
          const env = handlerEnv(caFile, 10, { ...rig.env, SMTP_URL: smtpUrl });
          try {
            for (const batch of batches) {
              const jobs = jobsOf(batch);
              const records = await rig.publish(jobs);
              const samples = contenders.map(() => [] as LargeSample[]);
              for (let run = 0; run < batch.runs; run += 1) {
                const order = contenders.map((contender, index) => ({ contender, index }));
                for (const { contender, index } of run % 2 === 0 ? order : order.reverse()) {
                  const eventFile = path.join(work, 'event.json');
                  const sample = await runOnce(contender, jobs, records, { rig, relay, env, eventFile, memoryMb });
                  samples[index]?.push(sample);
                  log(
                    `${contender.handler}, ${kind}, rtt ${rttMs} ms, ${batch.label}, run ${run + 1}/${batch.runs}: ` +
                      `${sample.ms === undefined ? '–' : sample.ms.toFixed(0)} ms, peak ${sample.peakRssKb === undefined ? '–' : (sample.peakRssKb / 1024).toFixed(1)} MiB, ` +
                      `${sample.delivered}/${sample.expected} delivered${sample.intact ? ' intact' : ''}${sample.problem === undefined ? '' : ` (${sample.problem})`}`,
                  );
                }
              }
              await rig.discard(records);
              contenders.forEach((contender, index) =>
                rows.push(summariseLarge({ handler: contender.handler, relay: kind, rttMs, batch: batch.label }, samples[index] ?? [])),
              );
            }
          } finally {
            await proxy?.stop();
          }
        }
      } finally {
        await relay.stop();
      }
    }
    return rows;
  } finally {
    await rig.stop();
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  }
}
