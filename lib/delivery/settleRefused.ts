/**
 * Acting on a job that some recipients took while others were refused for now: the copies for the
 * recipients not yet delivered go back on the queue, or, when they cannot (too many re-enqueues,
 * too large for the queue, a failed send), to the dead-letter queue. The record itself is done
 * either way: retrying it would send the message again to everyone who has it. Only when no copy
 * can be kept anywhere does the record come back.
 * @module
 */
import { backoffSeconds } from './backoff.js';
import type { Outcome } from './outcome.js';
import type { DeadLetterPart } from './QueueActions.js';
import { requeueBody, requeueBodyBudget } from './requeueJob.js';
import type { JobCopy, PendingCopies } from './requeueJob.js';
import type { BatchSlot, Delivery, RecordResult } from './types.js';

type PartlyRefused = Extract<Outcome, { kind: 'partlyRefused' }>;

/**
 * Settles a `partlyRefused` record: `done` once every copy for the recipients refused for now is
 * re-enqueued (`requeued` counts them) or dead-lettered (DLQ attributes `JobForm`,
 * `PendingRecipients`, `DeliveredRecipients`); `retry` only when a copy could be sent nowhere.
 *
 * A DLQ copy holds only recipients not yet delivered; should no such copy be possible (the
 * recipients cannot be found in the job, or every copy exceeds 1 MiB), the record's own body goes
 * with `JobForm: original` and the number of recipients who have it already.
 *
 * @param signal the invocation's deadline: an SQS call it cuts counts as failed
 */
export async function settleRefused(
  result: RecordResult,
  slot: BatchSlot,
  outcome: PartlyRefused,
  delivery: Pick<Delivery, 'actions' | 'options'>,
  signal?: AbortSignal,
): Promise<void> {
  result.placement = 'done';
  const prepared = slot.prepared;
  const recipients = outcome.refusedForNow.map((r) => r.recipient);
  if (recipients.length === 0 || !('job' in prepared)) return;
  const { record, jobId } = prepared;
  const next = requeueBody(record.body, prepared.job, slot.mail, recipients, requeueBodyBudget(record.requeueCount + 1));
  const maxRequeues = delivery.options.maxRequeues ?? 5;
  const withSignal = signal === undefined ? {} : { signal };

  // Each copy keeps its number among the record's copies (FIFO deduplication ids, DLQ attributes).
  type Numbered = JobCopy & { number: number };
  const numbered = (copies: readonly JobCopy[]): Numbered[] => copies.map((copy, number) => ({ ...copy, number }));
  let left: { form: PendingCopies['form']; copies: Numbered[] } | undefined;
  let why: string;
  if (next.ok && record.requeueCount < maxRequeues) {
    // The copies go out together (many blind copies are one copy each): one SQS round trip, not one per copy.
    const delay = backoffSeconds(record.requeueCount + 1, delivery.options.backoff);
    const copies = numbered(next.copies);
    const sent = await inWaves(copies, (copy) => delivery.actions.requeue(record, copy.body, delay, { ...withSignal, copy: copy.number }));
    const failed = copies.filter((_, index) => sent[index]?.status === 'rejected');
    const requeued = copies.filter((_, index) => sent[index]?.status === 'fulfilled').reduce((sum, copy) => sum + copy.recipients, 0);
    if (failed.length === 0) {
      result.requeued = recipients.length;
      return;
    }
    if (requeued > 0) result.requeued = requeued;
    left = { form: next.form, copies: failed };
    const firstError = sent.find((settled): settled is PromiseRejectedResult => settled.status === 'rejected');
    why = `recipients refused for now could not be re-enqueued: ${describe(firstError?.reason)}`;
  } else if (next.ok) {
    left = { form: next.form, copies: numbered(next.copies) };
    why = `recipients still refused for now after ${record.requeueCount} re-enqueues`;
  } else {
    left = next.deadLetter === undefined ? undefined : { form: next.deadLetter.form, copies: numbered(next.deadLetter.copies) };
    why = `recipients refused for now could not be re-enqueued: ${next.problem}`;
  }

  const copies: Array<Numbered & { form: DeadLetterPart['form'] }> =
    left === undefined
      ? [{ body: record.body, recipients: recipients.length, number: 0, form: 'original' }]
      : left.copies.map((copy) => ({ ...copy, form: left.form }));
  if (left === undefined)
    result.problem = `no copy holding only the recipients not yet delivered could be made; the whole job is in the DLQ (${outcome.accepted} recipients have it already)`;
  const dead = await inWaves(copies, (copy) =>
    delivery.actions.deadLetter(
      record,
      { phase: 'rcpt', message: why },
      {
        ...(jobId === undefined ? {} : { jobId }),
        body: copy.body,
        part: { form: copy.form, pending: copy.recipients, delivered: outcome.accepted, copy: copy.number },
        ...withSignal,
      },
    ),
  );
  const refused = dead.find((settled): settled is PromiseRejectedResult => settled.status === 'rejected');
  if (refused !== undefined) {
    // Kept nowhere: the record comes back (and with it the message, to everyone who has it).
    result.placement = 'retry';
    result.problem = `dead-letter send failed, the whole job is retried (possible duplicates for the recipients who took it): ${describe(refused.reason)}`;
  }
}

/** Octets of copies sent at once: many small copies go in one round, large ones a few at a time (each request holds its body again). */
const COPY_WAVE_BYTES = 4 * 1024 * 1024;

/** Sends the copies, as many at once as fit in {@link COPY_WAVE_BYTES} (at least one), and says how each went, in order. */
async function inWaves<T extends JobCopy>(copies: readonly T[], send: (copy: T) => Promise<void>): Promise<PromiseSettledResult<void>[]> {
  const settled: PromiseSettledResult<void>[] = [];
  for (let start = 0; start < copies.length;) {
    let end = start + 1;
    let bytes = Buffer.byteLength(copies[start]?.body ?? '');
    while (end < copies.length) {
      bytes += Buffer.byteLength(copies[end]?.body ?? '');
      if (bytes > COPY_WAVE_BYTES) break;
      end += 1;
    }
    settled.push(...(await Promise.allSettled(copies.slice(start, end).map(send))));
    start = end;
  }
  return settled;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
