/**
 * Time and heap that one queue record costs the send-mail Lambda before any SMTP, for the worst
 * bodies of at most 1 MiB we could construct (`test/message/hostileBodies.ts`), beside a normal job:
 * the body read as JSON, checked as a mail job, and the record's log line written, as
 * `prepareRecord` and `recordLogAttributes` do in the handler. The bar (issue 13, item 1): every
 * body parses or is refused in under 50 ms and under 20 MB of extra heap.
 *
 * Heap: a full GC, then `v8.GCProfiler` around the call; the extra heap is the highest heap in use
 * seen (at the start of each GC during the call, and at its end) less the heap in use before it, so
 * it counts garbage too. Time: wall and CPU time of the call; the median of the runs, and the worst
 * wall time (usually the first, before the code is optimised: what a cold Lambda pays). The bar is
 * checked on CPU time: the call is synchronous, so on an idle machine the two are the same, while on
 * a shared one the wall time also counts other processes.
 *
 * Part of `npm run bench` (section `hostile-jobs`); alone, without touching `bench/results.md`:
 * `npx tsx bench/hostileJobs.ts`.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { prepareRecord } from '../lib/delivery/mailRecord.js';
import { recordLogAttributes } from '../lib/delivery/report.js';
import { hostileBodies, NORMAL_BODY, type HostileBody } from '../test/message/hostileBodies.js';
import { fixed, markdownTable, median } from './report.js';
import type { BenchSection } from './report.js';

/** The bar of issue 13, item 1. */
export const HOSTILE_JOB_LIMITS = { ms: 50, heapMiB: 20 } as const;

/** One row of the table. */
export interface HostileJobRow {
  name: string;
  bytes: number;
  /** `job` when the body is a valid job, else the number of problems listed (and in all). */
  result: string;
  wallMs: number;
  worstWallMs: number;
  cpuMs: number;
  /** Highest extra heap over the runs, in MiB. */
  heapMiB: number;
  /** Size of the record's log line, in bytes (0 for a valid job: it is logged after sending). */
  logBytes: number;
}

const MiB = 1024 * 1024;

/** A full collection, from a function V8 hands out once asked (no `--expose-gc` needed on the command line). */
function collector(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Heap in use in a GC profile entry: Node names it `usedHeapSize` there, though its types say `used_heap_size`. */
function usedHeap(statistics: object): number {
  const named = statistics as { usedHeapSize?: number; used_heap_size?: number };
  return named.usedHeapSize ?? named.used_heap_size ?? 0;
}

function measureOnce(body: string, gc: () => void) {
  gc();
  const before = v8.getHeapStatistics().used_heap_size;
  const profiler = new v8.GCProfiler();
  profiler.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const prepared = prepareRecord({ messageId: 'bench', receiptHandle: 'bench', body, receiveCount: 1, requeueCount: 0 });
  const line =
    'invalid' in prepared
      ? JSON.stringify(
          recordLogAttributes({
            messageId: 'bench',
            receiveCount: 1,
            placement: 'deadLettered',
            outcome: { kind: 'permanent', reason: prepared.invalid },
          }),
        )
      : '';
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const end = v8.getHeapStatistics().used_heap_size;
  const gcs = profiler.stop().statistics;
  const peak = Math.max(end, ...gcs.map((entry) => usedHeap(entry.beforeGC.heapStatistics)));
  const paths = 'job' in prepared ? 0 : (prepared.invalid.paths?.length ?? 0);
  const result = 'job' in prepared ? 'job' : `${paths} path${paths === 1 ? '' : 's'} logged`;
  return { wallMs, cpuMs: (used.user + used.system) / 1000, heapBytes: peak - before, logBytes: line.length, result };
}

/**
 * Measures every hostile body and the normal job, `runs` times each.
 * @example
 * const rows = measureHostileJobs({ runs: 5 });
 */
export function measureHostileJobs(options: { runs?: number; log?: (line: string) => void } = {}): HostileJobRow[] {
  const runs = options.runs ?? 7;
  const gc = collector();
  const bodies: HostileBody[] = [NORMAL_BODY, ...hostileBodies()];
  return bodies.map(({ name, body }) => {
    const first = measureOnce(body, gc);
    const samples = [first, ...Array.from({ length: runs - 1 }, () => measureOnce(body, gc))];
    const row: HostileJobRow = {
      name,
      bytes: Buffer.byteLength(body),
      result: first.result,
      wallMs: median(samples.map((s) => s.wallMs)),
      worstWallMs: Math.max(...samples.map((s) => s.wallMs)),
      cpuMs: median(samples.map((s) => s.cpuMs)),
      heapMiB: Math.max(...samples.map((s) => s.heapBytes)) / MiB,
      logBytes: first.logBytes,
    };
    options.log?.(`${name}: ${fixed(row.wallMs, 1)} ms, ${fixed(row.heapMiB, 1)} MiB`);
    return row;
  });
}

/** The markdown table of {@link measureHostileJobs}. */
export function hostileJobsTable(rows: HostileJobRow[]): string {
  // CPU time, not wall time: the call is synchronous, so on an idle machine they are the same, and
  // on a shared one the wall time counts the time other processes held the CPU.
  const within = (row: HostileJobRow): string => (row.cpuMs < HOSTILE_JOB_LIMITS.ms && row.heapMiB < HOSTILE_JOB_LIMITS.heapMiB ? 'yes' : '**no**');
  return markdownTable(
    [
      'body',
      'bytes',
      'outcome',
      'wall time (median / worst)',
      'CPU time (median)',
      'extra heap (worst)',
      'log line',
      `CPU under ${HOSTILE_JOB_LIMITS.ms} ms, heap under ${HOSTILE_JOB_LIMITS.heapMiB} MB`,
    ],
    rows.map((row) => [
      row.name.replaceAll('|', '\\|'),
      String(row.bytes),
      row.result === 'job' ? 'valid job' : `refused (${row.result})`,
      `${fixed(row.wallMs, 1)} / ${fixed(row.worstWallMs, 1)} ms`,
      `${fixed(row.cpuMs, 1)} ms`,
      `${fixed(row.heapMiB, 2)} MiB`,
      row.logBytes === 0 ? '–' : `${row.logBytes} B`,
      within(row),
    ]),
  );
}

/** The `hostile-jobs` section of `npm run bench`. */
export const hostileJobsSection: BenchSection = {
  name: 'hostile-jobs',
  title: 'hostile queue messages: time and heap to read and refuse one record',
  run(log) {
    const rows = measureHostileJobs({ log });
    const note =
      'One record through `prepareRecord` (JSON pre-scan, `JSON.parse`, `parseMailJob`) and its log line, in this process; 7 runs each, a full GC before each. Extra heap counts garbage as well (the highest heap in use at any GC during the call, or at its end, less the heap before it).';
    return Promise.resolve(`${note}\n\n${hostileJobsTable(rows)}`);
  },
};

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(`${hostileJobsTable(measureHostileJobs({ log: (line) => void process.stderr.write(`${line}\n`) }))}\n`);
}
