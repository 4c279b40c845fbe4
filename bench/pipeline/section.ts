/**
 * `npm run bench -- pipeline`: jobs per second per connection through the local pipeline (the SQS
 * emulator, the local event source with one poller, the real send-mail bundle, Postfix behind the
 * latency proxy at RTT 0 and 40 ms), with and without the delivery ledger (dynalite), beside a
 * minimal nodemailer handler; the SQS and DynamoDB calls each job costs; and what a million mails
 * cost at public prices, next to SES.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SEND_MAIL_HANDLER } from '../../infra/sendMailBundle.js';
import { startPostfix } from '../../test/support/postfix.js';
import { buildNodemailerBundle } from '../handlerChild.js';
import { buildSendMailBundle } from '../lambdaBundle.js';
import { fixed, markdownTable, median } from '../report.js';
import type { BenchSection } from '../report.js';
import { PRICES, SES_PER_MILLION, costPerMillion, writeUnits } from './cost.js';
import type { UsagePerJob } from './cost.js';
import { runPipeline } from './runPipeline.js';
import type { PipelineRunResult } from './runPipeline.js';

/** One measured configuration. */
interface Variant {
  handler: 'send-mail (ours)' | 'nodemailer, minimal';
  ledger: boolean;
  rttMs: number;
  dynamoDelayMs?: number;
}

const BATCH = 10;
const MEMORY_MIB = 256;

function variants(rtts: readonly number[]): Variant[] {
  return rtts.flatMap((rttMs) => [
    { handler: 'send-mail (ours)' as const, ledger: false, rttMs },
    { handler: 'send-mail (ours)' as const, ledger: true, rttMs },
    ...(rttMs > 0 ? [{ handler: 'send-mail (ours)' as const, ledger: true, rttMs, dynamoDelayMs: 50 }] : []),
    { handler: 'nodemailer, minimal' as const, ledger: false, rttMs },
  ]);
}

function usageOf(result: PipelineRunResult): UsagePerJob {
  const sqsRequests = Object.values(result.sqsCalls).reduce((sum, n) => sum + n, 0);
  const dynamoCalls = Object.values(result.dynamoCalls).reduce((sum, n) => sum + n, 0);
  return {
    invocations: result.invocations / result.jobs,
    durationMs: result.busyMs / result.jobs,
    memoryMiB: MEMORY_MIB,
    sqsRequests: sqsRequests / result.jobs,
    dynamoWriteUnits: (dynamoCalls * (dynamoCalls === 0 ? 0 : writeUnits(result.ledgerItemBytes))) / result.jobs,
    dynamoReadUnits: 0,
    fifo: false,
  };
}

const label = (v: Variant): string =>
  `${v.handler}${v.handler === 'send-mail (ours)' ? (v.ledger ? ', ledger' : ', no ledger') : ''}${v.dynamoDelayMs === undefined ? '' : `, DynamoDB +${v.dynamoDelayMs} ms`}`;

const calls = (counts: Record<string, number>, per: number): string =>
  Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([action, n]) => `${action} ${fixed(n / per, 2)}`)
    .join(', ') || '–';

/** The runs of one variant as one: call counts summed, medians of the rounds' jobs per second and batch times. */
function combine(results: readonly PipelineRunResult[]): PipelineRunResult & { jobsPerSecond: number } {
  const sum = (pick: (r: PipelineRunResult) => number): number => results.reduce((total, r) => total + pick(r), 0);
  const counts = (pick: (r: PipelineRunResult) => Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of results) for (const [action, n] of Object.entries(pick(r))) out[action] = (out[action] ?? 0) + n;
    return out;
  };
  return {
    jobs: sum((r) => r.jobs),
    delivered: sum((r) => r.delivered),
    invocations: sum((r) => r.invocations),
    wallMs: sum((r) => r.wallMs),
    busyMs: sum((r) => r.busyMs),
    medianBatchMs: median(results.map((r) => r.medianBatchMs)),
    sqsCalls: counts((r) => r.sqsCalls),
    dynamoCalls: counts((r) => r.dynamoCalls),
    ledgerItemBytes: Math.max(0, ...results.map((r) => r.ledgerItemBytes)),
    dynamoWavesPerBatch: sum((r) => r.dynamoWavesPerBatch) / Math.max(1, results.length),
    jobsPerSecond: median(results.map((r) => r.jobs / (r.wallMs / 1000))),
  };
}

/** The ledger's round trips on a batch's critical path: what 50 ms more per DynamoDB call adds to the median batch, in units of 50 ms. */
function ledgerRoundTrips(batchMs: (match: (v: Variant) => boolean) => number | undefined, rounds: number, jobs: number): string {
  const at40 = (ledger: boolean, delayed: boolean) => (v: Variant) =>
    v.rttMs === 40 && v.handler === 'send-mail (ours)' && v.ledger === ledger && (v.dynamoDelayMs !== undefined) === delayed;
  const plain = batchMs(at40(true, false));
  const delayed = batchMs(at40(true, true));
  const none = batchMs(at40(false, false));
  if (plain === undefined || delayed === undefined || none === undefined) return '';
  return (
    `The ledger on a batch's critical path (RTT 40 ms, medians of ${rounds} x ${jobs / BATCH} batches): with the ledger the median ` +
    `batch takes ${fixed(plain - none, 0)} ms more than without; with 50 ms added to every DynamoDB call, ${fixed(delayed - plain, 0)} ms ` +
    `more again, i.e. ${fixed((delayed - plain) / 50, 1)} DynamoDB round trips per batch that the batch waits for (the claims ` +
    `go out alongside the SMTP connection's setup, and each record is written as its reply arrives, while the next messages are on the wire).`
  );
}

/** The bench section. */
export const pipelineSection: BenchSection = {
  name: 'pipeline',
  title: 'Pipeline: jobs per second per connection, ledger on and off, and the cost per million mails',
  async run(log) {
    const jobs = Number(process.env['BENCH_PIPELINE_JOBS'] ?? 100);
    const rounds = Number(process.env['BENCH_PIPELINE_ROUNDS'] ?? 3);
    const rtts = [0, 40];
    const all = variants(rtts);
    const work = await mkdtemp(path.join(os.tmpdir(), 'bench-pipeline-'));
    const ours = await buildSendMailBundle();
    const theirs = await buildNodemailerBundle();
    const postfix = await startPostfix({ chunking: true });
    const runs: PipelineRunResult[][] = all.map(() => []);
    try {
      // Rounds, each running every variant once, so that the machine's load hits them alike.
      for (let round = 1; round <= rounds; round += 1) {
        for (const [index, variant] of all.entries()) {
          log(`pipeline: round ${round}/${rounds}, ${label(variant)}, RTT ${variant.rttMs} ms, ${jobs} jobs`);
          const file = variant.handler === 'send-mail (ours)' ? ours.file : theirs.file;
          const result = await runPipeline({
            bundle: { file, handler: SEND_MAIL_HANDLER },
            postfix,
            workDir: work,
            rttMs: variant.rttMs,
            jobs,
            batchSize: BATCH,
            memoryMiB: MEMORY_MIB,
            ledger: variant.ledger,
            ...(variant.dynamoDelayMs === undefined ? {} : { dynamoDelayMs: variant.dynamoDelayMs }),
          });
          runs[index]?.push(result);
        }
      }
    } finally {
      await postfix.stop();
      await Promise.all([ours.dir, theirs.dir, work].map((dir) => rm(dir, { recursive: true, force: true })));
    }

    const measured = all.map((variant, index) => ({ variant, result: combine(runs[index] ?? []) }));
    const batchMs = (match: (v: Variant) => boolean): number | undefined => measured.find((m) => match(m.variant))?.result.medianBatchMs;
    const throughput = measured.map(({ variant, result }) => [
      label(variant),
      `${variant.rttMs} ms`,
      fixed(result.jobsPerSecond, 1),
      fixed(result.medianBatchMs, 0),
      calls(result.sqsCalls, result.jobs),
      calls(result.dynamoCalls, result.invocations),
      variant.ledger ? fixed(result.dynamoWavesPerBatch, 1) : '–',
    ]);
    const cost = measured.map(({ variant, result }) => {
      const usage = usageOf(result);
      const price = costPerMillion(usage);
      return [
        label(variant),
        `${variant.rttMs} ms`,
        fixed(usage.durationMs, 1),
        fixed(price.lambdaCompute, 2),
        fixed(price.lambdaRequests, 2),
        fixed(price.sqs, 2),
        fixed(price.dynamo, 2),
        `**${fixed(price.total, 2)}**`,
        `${fixed((100 * price.total) / SES_PER_MILLION, 1)} %`,
      ];
    });
    return [
      `${rounds} rounds of ${jobs} one-recipient jobs (~1.2 KB of text) per variant (each round runs every variant once; medians over the rounds), published ten per request, drained by the local event source with one ` +
        `poller (one SMTP connection at a time), batches of ${BATCH}, no batching window; Postfix (PIPELINING, CHUNKING, STARTTLS, ` +
        `AUTH) behind the latency proxy; the ledger in dynalite (in-process), every AWS call counted by a recording proxy. ` +
        `Jobs per second: jobs / (last batch's end - first batch's start). DynamoDB waves: groups of overlapping calls in a batch, ` +
        `one after the other; "DynamoDB +50 ms" adds 50 ms to every DynamoDB call, to see what the ledger costs the batch in time.`,
      '',
      markdownTable(
        ['handler', 'RTT', 'jobs/s per connection', 'median batch (ms)', 'SQS calls per job', 'DynamoDB calls per batch', 'DynamoDB waves per batch'],
        throughput,
      ),
      '',
      ledgerRoundTrips(batchMs, rounds, jobs),
      '',
      `Cost per million mails, USD, at public us-east-1 list prices (${PRICES.asOf}): Lambda arm64 $${PRICES.lambdaArmGbSecond} per ` +
        `GB-second at ${MEMORY_MIB} MB and the measured batch time, $0.20 per million requests; SQS standard $0.40 per million ` +
        `requests (the producer's batched send, the event source's receive and delete, the function's own calls; empty long ` +
        `polls left out, a fixed cost of the pollers); DynamoDB on-demand $0.625 per million write units ` +
        `(${measured.some((m) => m.result.ledgerItemBytes > 0) ? `ledger items of ${Math.max(...measured.map((m) => m.result.ledgerItemBytes))} bytes: one unit per write` : 'one unit per write'}), ` +
        `$0.125 per million read units (the ledger reads nothing apart: its claim returns the item). Free tiers, CloudWatch ` +
        `Logs, X-Ray, KMS and data transfer left out. The batch time is this machine's, not a 256 MB Lambda's (which has a ` +
        `fraction of a vCPU): read the compute column as a lower bound. SES: $0.10 per 1,000 mails = $${fixed(SES_PER_MILLION, 2)} per million.`,
      '',
      markdownTable(
        ['handler', 'RTT', 'Lambda ms per job', 'Lambda compute', 'Lambda requests', 'SQS', 'DynamoDB', 'total per million', 'of SES'],
        cost,
      ),
    ].join('\n');
  },
};
