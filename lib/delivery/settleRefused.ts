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

  let left: PendingCopies | undefined;
  let why: string;
  if (next.ok && record.requeueCount < maxRequeues) {
    const delay = backoffSeconds(record.requeueCount + 1, delivery.options.backoff);
    let sent = 0;
    try {
      for (const [copy, { body }] of next.copies.entries()) {
        await delivery.actions.requeue(record, body, delay, { ...withSignal, copy });
        sent += 1;
      }
      result.requeued = recipients.length;
      return;
    } catch (error) {
      const requeued = next.copies.slice(0, sent).reduce((sum, copy) => sum + copy.recipients, 0);
      if (requeued > 0) result.requeued = requeued;
      left = { form: next.form, copies: next.copies.slice(sent) };
      why = `recipients refused for now could not be re-enqueued: ${describe(error)}`;
    }
  } else if (next.ok) {
    left = next;
    why = `recipients still refused for now after ${record.requeueCount} re-enqueues`;
  } else {
    left = next.deadLetter;
    why = `recipients refused for now could not be re-enqueued: ${next.problem}`;
  }

  const offset = next.ok ? next.copies.length - (left?.copies.length ?? 0) : 0;
  const copies: Array<JobCopy & { form: DeadLetterPart['form'] }> =
    left === undefined
      ? [{ body: record.body, recipients: recipients.length, form: 'original' }]
      : left.copies.map((copy) => ({ ...copy, form: left.form }));
  if (left === undefined)
    result.problem = `no copy holding only the recipients not yet delivered could be made; the whole job is in the DLQ (${outcome.accepted} recipients have it already)`;
  for (const [index, copy] of copies.entries()) {
    try {
      await delivery.actions.deadLetter(
        record,
        { phase: 'rcpt', message: why },
        {
          ...(jobId === undefined ? {} : { jobId }),
          body: copy.body,
          part: { form: copy.form, pending: copy.recipients, delivered: outcome.accepted, copy: offset + index },
          ...withSignal,
        },
      );
    } catch (error) {
      // Kept nowhere: the record comes back (and with it the message, to everyone who has it).
      result.placement = 'retry';
      result.problem = `dead-letter send failed, the whole job is retried (possible duplicates for the recipients who took it): ${describe(error)}`;
      return;
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
