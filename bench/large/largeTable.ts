/**
 * The `large` bench's table: each handler's runs on one relay, RTT and batch summed up as a row
 * (medians, the worst peak, whether every run delivered intact), the ratios of ours to nodemailer's,
 * and the line saying whether every run of ours stayed within 128 MB. Pure: no I/O.
 * @module
 */
import { fixed, median } from '../report.js';

/** The two handlers measured. */
export type LargeHandler = 'send-mail (ours)' | 'nodemailer';

/** One run of a handler on a batch: what the child reported and what the relay received. */
export interface LargeSample {
  /** Time of the handler call; absent when the child failed without a report. */
  ms?: number;
  /** Peak RSS of the child in KiB; absent when it failed without a report. */
  peakRssKb?: number;
  /** RSS after importing the bundle, before the event was read, in bytes; absent when it failed without a report. */
  importedRss?: number;
  /** Records the handler reported failed. */
  failed: number;
  /** Messages the relay received. */
  delivered: number;
  /** Messages the batch should have delivered. */
  expected: number;
  /** Every message arrived and every large attachment byte for byte. */
  intact: boolean;
  /** The largest message as received, in octets. */
  largestBytes: number;
  /** What went wrong (the child's error, a missing message, an altered attachment). */
  problem?: string;
}

/** What a row is about. */
export interface LargeRowKey {
  handler: LargeHandler;
  relay: 'DATA' | 'CHUNKING';
  rttMs: number;
  /** e.g. `1 × 25 MB`, `mixed 40+10+8×small`. */
  batch: string;
}

/** One row of the table. */
export interface LargeRow extends LargeRowKey {
  runs: number;
  /** Median batch time over the runs that reported, in ms. */
  batchMs?: number;
  /** Median peak RSS over the runs that reported, in MiB. */
  peakRssMiB?: number;
  /** Highest peak RSS of any run, in MiB. */
  worstRssMiB?: number;
  /** Median RSS after importing the bundle, in MiB. */
  importedRssMiB?: number;
  /** Runs whose child ended without a report (a crash, an out-of-memory abort): no time, no RSS. */
  unreported: number;
  /** Runs that delivered every message intact. */
  intactRuns: number;
  /** The largest message received in any run, in octets. */
  largestBytes: number;
  /** Each failed run's problem, `run n: …`. */
  problems: string[];
}

/** A Lambda function's memory: 128 MB as Lambda counts it (MiB). */
export const FUNCTION_MEMORY_MIB = 128;

/** Sums up one handler's runs on one batch. */
export function summariseLarge(key: LargeRowKey, samples: readonly LargeSample[]): LargeRow {
  const reported = samples.filter((sample) => sample.ms !== undefined && sample.peakRssKb !== undefined);
  const rss = reported.map((sample) => (sample.peakRssKb ?? 0) / 1024);
  return {
    ...key,
    runs: samples.length,
    ...(reported.length === 0
      ? {}
      : {
          batchMs: median(reported.map((sample) => sample.ms ?? 0)),
          peakRssMiB: median(rss),
          worstRssMiB: Math.max(...rss),
          importedRssMiB: median(reported.map((sample) => (sample.importedRss ?? 0) / 2 ** 20)),
        }),
    unreported: samples.length - reported.length,
    intactRuns: samples.filter((sample) => sample.intact && sample.failed === 0 && sample.problem === undefined).length,
    largestBytes: Math.max(0, ...samples.map((sample) => sample.largestBytes)),
    problems: samples.flatMap((sample, index) =>
      sample.problem === undefined && sample.failed === 0 && sample.intact
        ? []
        : [`run ${index + 1}: ${sample.problem ?? `${sample.failed} record(s) reported failed`}`],
    ),
  };
}

/** Column headers of the table {@link largeCells} fills. */
export const LARGE_HEADERS = [
  'handler',
  'relay',
  'RTT',
  'batch',
  'batch time (median)',
  'time ours / nodemailer',
  'peak RSS (median / worst)',
  'RSS ours / nodemailer',
  'RSS after import',
  'delivered intact',
];

/** `a / b` as `0.85×`, or `–` when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? '–' : `${fixed(a / b, 2)}×`;
}

/** Text fit for a table cell: one line, no `|`. */
function tableText(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/\|/g, '/');
}

/** One row's cells; `reference` is nodemailer's row for the same relay, RTT and batch (the ratios are on ours' rows only). */
export function largeCells(row: LargeRow, reference?: LargeRow): string[] {
  const ours = row.handler === 'send-mail (ours)';
  const intact =
    row.intactRuns === row.runs
      ? `yes (${row.runs}/${row.runs} runs)`
      : `**NO** (${row.intactRuns}/${row.runs} runs; ${tableText(row.problems.join('; '))})`;
  return [
    row.handler,
    row.relay,
    `${row.rttMs} ms`,
    row.batch,
    row.batchMs === undefined ? '–' : `${fixed(row.batchMs, 0)} ms`,
    ours ? ratio(row.batchMs, reference?.batchMs) : '',
    row.peakRssMiB === undefined ? '–' : `${fixed(row.peakRssMiB, 1)} / ${fixed(row.worstRssMiB, 1)} MiB`,
    ours ? ratio(row.peakRssMiB, reference?.peakRssMiB) : '',
    row.importedRssMiB === undefined ? '–' : `${fixed(row.importedRssMiB, 1)} MiB`,
    intact,
  ];
}

/** The table's rows, each of ours with the nodemailer row of the same relay, RTT and batch as its reference. */
export function largeTableRows(rows: readonly LargeRow[]): string[][] {
  const same = (a: LargeRowKey, b: LargeRowKey): boolean => a.relay === b.relay && a.rttMs === b.rttMs && a.batch === b.batch;
  return rows.map((row) =>
    largeCells(
      row,
      rows.find((other) => other.handler === 'nodemailer' && same(other, row)),
    ),
  );
}

/**
 * The line under the table: did every run of ours stay within 128 MB (a run without a report
 * counts as not)? Printed, never asserted.
 */
export function withinLimitLine(rows: readonly LargeRow[]): string {
  const ours = rows.filter((row) => row.handler === 'send-mail (ours)');
  const runs = ours.reduce((sum, row) => sum + row.runs, 0);
  const worst = ours.reduce<LargeRow | undefined>((top, row) => ((row.worstRssMiB ?? 0) > (top?.worstRssMiB ?? -1) ? row : top), undefined);
  const unreported = ours.filter((row) => row.unreported > 0);
  const over = ours.filter((row) => (row.worstRssMiB ?? 0) > FUNCTION_MEMORY_MIB);
  const where = (row: LargeRow): string => `${row.batch}, ${row.relay}, ${row.rttMs} ms`;
  const highest = worst?.worstRssMiB === undefined ? '' : `highest peak ${fixed(worst.worstRssMiB, 1)} MiB (${where(worst)})`;
  if (over.length === 0 && unreported.length === 0) return `**Every run of ours stayed within ${FUNCTION_MEMORY_MIB} MB**: ${runs} runs, ${highest}.`;
  return (
    `**Not every run of ours stayed within ${FUNCTION_MEMORY_MIB} MB**: ${runs} runs; ` +
    [
      ...over.map((row) => `over in ${where(row)} (worst ${fixed(row.worstRssMiB, 1)} MiB)`),
      ...unreported.map((row) => `${row.unreported} run(s) without a report in ${where(row)}`),
      ...(highest === '' ? [] : [highest]),
    ].join('; ') +
    '.'
  );
}
