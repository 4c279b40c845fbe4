import { InvalidJobError, formatIssue } from '../message/InvalidJobError.js';
import type { MailJobInput } from '../message/types.js';
import type { MailQueue } from './types.js';

/** One line of an NDJSON input that was not published, and why. */
export interface Refusal {
  /** 1-based line number in the input. */
  line: number;
  jobId?: string;
  reason: string;
}

/** What a bulk run did. */
export interface BulkSummary {
  /** Non-empty lines read. */
  total: number;
  sent: number;
  /** Lines that were not jobs, or not valid ones: never sent. */
  refused: Refusal[];
  /** Valid jobs that SQS did not take. */
  failed: Refusal[];
}

/** Jobs per `sendBatch` call, so that progress moves and memory stays flat. */
const CHUNK = 100;

/**
 * Publishes NDJSON (one job per line): each line is decoded as strict UTF-8, parsed and checked
 * on its own; the valid ones go out in batches, the others are refused with their line number.
 * Blank lines are skipped.
 * @example
 * const summary = await publishNdjson(queue, await readFile('jobs.ndjson'), (done, total) => bar.update(done));
 */
export async function publishNdjson(
  queue: MailQueue,
  input: Uint8Array,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<BulkSummary> {
  const lines = splitLines(input);
  const summary: BulkSummary = { total: lines.length, sent: 0, refused: [], failed: [] };
  const ready: { line: number; job: MailJobInput }[] = [];
  for (const { line, bytes } of lines) {
    const job = readJob(bytes);
    if ('reason' in job) summary.refused.push({ line, reason: job.reason });
    else {
      try {
        queue.check(job.job);
        ready.push({ line, job: job.job });
      } catch (error) {
        if (!(error instanceof InvalidJobError)) throw error;
        summary.refused.push({ line, ...idOf(job.job), reason: error.issues.map(formatIssue).join('; ') });
      }
    }
  }
  let done = summary.refused.length;
  onProgress(done, summary.total);
  for (let start = 0; start < ready.length; start += CHUNK) {
    const chunk = ready.slice(start, start + CHUNK);
    const results = await queue.sendBatch(chunk.map((entry) => entry.job));
    chunk.forEach(({ line, job }, index) => {
      const result = results[index];
      if (result?.ok) summary.sent += 1;
      else
        summary.failed.push({
          line,
          ...idOf(job),
          reason: result ? `${result.error.code}: ${result.error.message}` : 'MissingResult: no result for this job',
        });
    });
    done += chunk.length;
    onProgress(done, summary.total);
  }
  summary.refused.sort((a, b) => a.line - b.line);
  return summary;
}

/** The job's `id` when it has a string one; `job` is any JSON value read from a line. */
function idOf(job: unknown): { jobId?: string } {
  const id: unknown = typeof job === 'object' && job !== null ? (job as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? { jobId: id } : {};
}

function splitLines(input: Uint8Array): { line: number; bytes: Uint8Array }[] {
  const out: { line: number; bytes: Uint8Array }[] = [];
  let start = 0;
  let line = 1;
  for (let i = 0; i <= input.length; i += 1) {
    if (i < input.length && input[i] !== 0x0a) continue;
    let end = i;
    if (end > start && input[end - 1] === 0x0d) end -= 1;
    const bytes = input.subarray(start, end);
    if (!/^\s*$/.test(Buffer.from(bytes).toString('latin1'))) out.push({ line, bytes });
    start = i + 1;
    line += 1;
  }
  return out;
}

function readJob(bytes: Uint8Array): { job: MailJobInput } | { reason: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { reason: 'is not valid UTF-8' };
  }
  try {
    const value: unknown = JSON.parse(text);
    return { job: value as MailJobInput };
  } catch (error) {
    return { reason: `is not valid JSON (${(error as Error).message})` };
  }
}
