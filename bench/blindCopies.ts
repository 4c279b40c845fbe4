/**
 * Heap and time that settling one record costs when its recipients refused for now are 99 blind
 * copies of a job of ~900 KB whose message as sent is too large to go back as one raw copy: each
 * blind recipient gets a narrowed copy of its own (lib/delivery/requeueJob.ts), sent in waves of at
 * most 4 MiB of bodies (lib/delivery/settleRefused.ts). Several records settle at once on a standard
 * queue, so what one holds counts several times in a 128 MB function.
 *
 * `settleRefused` runs in this process with the real `QueueActions` over an SQS client stand-in
 * that holds each request (and so its body) for 20 ms, as a request in flight does, and answers
 * success. Two passes: one timed; one that runs a full GC at each send and takes the heap still in
 * use then, less the heap in use before the call: what the record holds alive (the bodies built
 * and not yet sent, those in flight), garbage left out, since a function short of memory collects
 * it.
 *
 * Part of `npm run bench` (section `blind-copies`); alone: `npx tsx bench/blindCopies.ts`.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { QueueActions } from '../lib/delivery/QueueActions.js';
import { settleRefused } from '../lib/delivery/settleRefused.js';
import type { BatchSlot, RecordResult } from '../lib/delivery/types.js';
import { composeMail, parseMailJob } from '../lib/message/index.js';
import { queueJson } from '../lib/message/queueBody.js';
import { fixed, markdownTable, median } from './report.js';
import type { BenchSection } from './report.js';

/** One row of the table. */
export interface BlindCopiesRow {
  name: string;
  jobBytes: number;
  /** SendMessage calls (one per copy when all went). */
  calls: number;
  /** Most requests in flight at once (one wave). */
  inFlight: number;
  wallMs: number;
  /** Most heap held alive at a send (after a full GC) beyond what was in use before, in MiB. */
  heapMiB: number;
}

const MiB = 1024 * 1024;
const BLIND = 99;
const SQS_LATENCY_MS = 20;

/** A full collection, from a function V8 hands out once asked (no `--expose-gc` needed on the command line). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** A job of about `bytes` octets of text (`unit` repeated) to one `to` and {@link BLIND} blind copies. */
function blindJob(unit: string, bytes: number): Record<string, unknown> {
  const bcc = Array.from({ length: BLIND }, (_, i) => `blind${i}@example.com`);
  const text = unit.repeat(Math.floor(bytes / Buffer.byteLength(unit)));
  return { v: 1, id: 'bench-bcc', from: 'shop@example.com', to: 'seen@example.com', bcc, subject: 'Your order', text };
}

/** One settle: its wall time, the most heap held alive at a send (with `gc`, else 0), the calls, the most in flight. */
async function measureOnce(
  input: Record<string, unknown>,
  gc: (() => void) | undefined,
): Promise<{ wallMs: number; heapBytes: number; calls: number; inFlight: number }> {
  const body = queueJson(input);
  const job = parseMailJob(JSON.parse(body));
  const mail = await composeMail(job);
  const recipients = mail.envelope.to.slice(1);
  let before = 0;
  let peak = 0;
  let calls = 0;
  let inFlight = 0;
  let mostInFlight = 0;
  const sqs = {
    send: async (): Promise<object> => {
      calls += 1;
      inFlight += 1;
      mostInFlight = Math.max(mostInFlight, inFlight);
      if (gc !== undefined) {
        gc();
        peak = Math.max(peak, v8.getHeapStatistics().used_heap_size - before);
      }
      await new Promise((resolve) => setTimeout(resolve, SQS_LATENCY_MS));
      inFlight -= 1;
      return {};
    },
  };
  const actions = new QueueActions(sqs as never, { queueUrl: 'https://sqs.example/q', dlqUrl: 'https://sqs.example/dlq' });
  const slot: BatchSlot = { prepared: { record: { messageId: 'm', receiptHandle: 'h', body, receiveCount: 1, requeueCount: 0 }, job }, mail };
  const refusedForNow = recipients.map((recipient) => ({ recipient, code: 450, message: 'Mailbox busy', transient: true }));
  const outcome = { kind: 'partlyRefused' as const, accepted: 1, refusedPermanently: [], refusedForNow };
  const result: RecordResult = { messageId: 'm', receiveCount: 1, outcome, placement: 'retry' };
  gc?.();
  before = v8.getHeapStatistics().used_heap_size;
  const started = performance.now();
  await settleRefused(result, slot, outcome, { actions, options: { mailPerConnection: 10, fifo: false } });
  const wallMs = performance.now() - started;
  if (result.requeued !== recipients.length) throw new Error(`expected ${recipients.length} re-enqueued, got ${String(result.requeued)}`);
  return { wallMs, heapBytes: peak, calls, inFlight: mostInFlight };
}

/**
 * Measures one record of 99 blind copies, for ASCII text and text outside Latin-1 (two octets a
 * character in V8's strings), `runs` times each.
 * @example
 * const rows = await measureBlindCopies({ runs: 3 });
 */
export async function measureBlindCopies(options: { runs?: number; log?: (line: string) => void } = {}): Promise<BlindCopiesRow[]> {
  const runs = options.runs ?? 5;
  const gc = collector();
  const cases = [
    { name: `${BLIND} blind copies, ASCII text`, input: blindJob('Thanks for your order. ', 900_000) },
    { name: `${BLIND} blind copies, text outside Latin-1`, input: blindJob('Спасибо за заказ. ', 900_000) },
  ];
  const rows: BlindCopiesRow[] = [];
  for (const { name, input } of cases) {
    const samples = [];
    for (let run = 0; run < runs; run += 1) samples.push(await measureOnce(input, undefined));
    const held = await measureOnce(input, gc);
    const row: BlindCopiesRow = {
      name,
      jobBytes: Buffer.byteLength(queueJson(input)),
      calls: samples[0]?.calls ?? 0,
      inFlight: samples[0]?.inFlight ?? 0,
      wallMs: median(samples.map((s) => s.wallMs)),
      heapMiB: held.heapBytes / MiB,
    };
    options.log?.(`${name}: ${fixed(row.wallMs, 0)} ms, ${fixed(row.heapMiB, 1)} MiB`);
    rows.push(row);
  }
  return rows;
}

/** The markdown table of {@link measureBlindCopies}. */
export function blindCopiesTable(rows: BlindCopiesRow[]): string {
  return markdownTable(
    ['record', 'job', 'SendMessage calls', 'most in flight', 'wall time (median)', 'heap held at a send (most)'],
    rows.map((row) => [
      row.name,
      `${fixed(row.jobBytes / 1000, 0)} KB`,
      String(row.calls),
      String(row.inFlight),
      `${fixed(row.wallMs, 0)} ms`,
      `${fixed(row.heapMiB, 1)} MiB`,
    ]),
  );
}

/** The `blind-copies` section of `npm run bench`. */
export const blindCopiesSection: BenchSection = {
  name: 'blind-copies',
  title: 'blind copies refused for now: heap and time to settle one record',
  async run(log) {
    const rows = await measureBlindCopies({ log });
    const note = `One record whose ${BLIND} blind copies were refused for now (the message as sent is too large to go back as one raw copy), through \`settleRefused\` with an SQS stand-in holding each request ${SQS_LATENCY_MS} ms (25 waves of 4 copies: ~0.5 s of the wall time); 5 timed runs, then one with a full GC at each send, whose heap in use then (less that before the call) is the heap column: the bodies built and not yet sent, and those in flight.`;
    return `${note}\n\n${blindCopiesTable(rows)}`;
  },
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${blindCopiesTable(await measureBlindCopies({ log: (line) => void process.stderr.write(`${line}\n`) }))}\n`);
}
