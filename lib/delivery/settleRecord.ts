/**
 * Acting on each record's outcome: dead-letter the permanent ones at once, re-enqueue recipients
 * refused for now, stretch the visibility of those that failed for now. A failed action turns
 * the record into a retry, so nothing is lost.
 * @module
 */
import type { MailRecord } from './mailRecord.js';
import { lastReceiveReason } from './outcome.js';
import type { ComesBackOutcome, FailureReason, Outcome } from './outcome.js';
import type { FailureKind } from './QueueActions.js';
import { deadLetterUndelivered, settleRefused } from './settleRefused.js';
import type { BatchSlot, Delivery, RecordResult } from './types.js';

/**
 * Acts on one outcome and says where the record ended up: delivered, duplicate suppressed → `done`; permanent → DLQ
 * (`deadLettered`, or `retry` if the DLQ send failed; naming only the recipients not yet delivered
 * when the ledger had some as delivered, see {@link deadLetterUndelivered}); partly refused → `done` after the
 * recipients refused for now are re-enqueued or dead-lettered on their own (see
 * {@link settleRefused}; `retry` only if neither worked); anything else → `retry`, except on the
 * record's last receive (see {@link dealtWithOnLastReceive}), where it goes to the DLQ with the
 * reason of this receive (`FailureKind: last-receive`, `Attempts`; `retry` if the send failed,
 * leaving the record to SQS's redrive).
 *
 * @param signal the invocation's deadline: an SQS call it cuts counts as failed (the record is retried)
 */
export async function settleRecord(
  slot: BatchSlot,
  outcome: Outcome,
  delivery: Pick<Delivery, 'actions' | 'options' | 'payloads'>,
  signal?: AbortSignal,
): Promise<RecordResult> {
  const { record, jobId } = slot.prepared;
  const result: RecordResult = { messageId: record.messageId, receiveCount: record.receiveCount, outcome, placement: 'retry' };
  if (jobId !== undefined) result.jobId = jobId;
  if (slot.suppressed !== undefined && slot.suppressed.length > 0) result.suppressed = slot.suppressed;
  if ('job' in slot.prepared && slot.prepared.job.tags !== undefined) result.tags = slot.prepared.job.tags;
  switch (outcome.kind) {
    case 'delivered':
    case 'duplicateSuppressed':
    case 'suppressed':
      result.placement = 'done';
      break;
    case 'permanent':
      if (slot.undelivered !== undefined)
        await deadLetterUndelivered(result, { ...slot, undelivered: slot.undelivered }, outcome.reason, delivery, { signal });
      else await deadLetter(result, record, outcome.reason, delivery, { jobId, signal, tags: result.tags });
      break;
    case 'partlyRefused':
      await settleRefused(result, slot, outcome, delivery, signal);
      break;
    case 'transient':
    case 'ambiguous':
    case 'notAttempted':
    case 'systemic':
      if (dealtWithOnLastReceive(record, outcome, delivery.options)) {
        result.lastReceive = true;
        const last = { signal, kind: 'last-receive' as const, attempts: record.receiveCount };
        if (slot.undelivered !== undefined)
          await deadLetterUndelivered(result, { ...slot, undelivered: slot.undelivered }, lastReceiveReason(outcome), delivery, last);
        else await deadLetter(result, record, lastReceiveReason(outcome), delivery, { ...last, jobId, tags: result.tags });
      }
      break; // else retried
  }
  delete slot.mail;
  await releasePayload(result, slot, delivery, signal);
  return result;
}

/**
 * Deletes a claim check's object once its job is done for every recipient: delivered, suppressed,
 * or partly refused with nobody left to try again (recipients refused for now were put in a copy
 * that still points at it). Kept when the record comes back or went to the DLQ (a redrive finds
 * it), and when the delete fails (the bucket's lifecycle rule removes it): logged as the record's `problem`.
 */
async function releasePayload(
  result: RecordResult,
  slot: BatchSlot,
  delivery: Pick<Delivery, 'payloads'>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { pointer } = slot.prepared;
  if (pointer === undefined || delivery.payloads === undefined || result.placement !== 'done') return;
  const { outcome } = result;
  if (outcome.kind === 'partlyRefused' && outcome.refusedForNow.length > 0) return;
  const problem = await delivery.payloads.release(pointer, signal);
  if (problem !== undefined) result.problem = `the job's object was not deleted (${problem}); the bucket's lifecycle rule removes it`;
}

/**
 * True when a record whose outcome would bring it back is on its last receive and goes to the DLQ
 * instead (`MAIL_MAX_RECEIVES`): received at least `maxReceives` times, with an outcome that
 * comes back (failed for now, possibly delivered, not attempted, relay unreachable). SQS would
 * move it at its next receive anyway, with no reason attached; the handler's dead letter says why.
 *
 * Never on a FIFO queue for a record held back behind an earlier record of its message group
 * (`fifoStopped`): that record comes back, so this one must stay behind it.
 *
 * @example
 * dealtWithOnLastReceive(record, { kind: 'transient', reason }, { maxReceives: 5, fifo: false }); // true when record.receiveCount >= 5
 */
export function dealtWithOnLastReceive(
  record: Pick<MailRecord, 'receiveCount'>,
  outcome: Outcome,
  options: Pick<Delivery['options'], 'maxReceives'>,
): outcome is ComesBackOutcome {
  if (options.maxReceives === undefined || record.receiveCount < options.maxReceives) return false;
  if (outcome.kind === 'notAttempted') return outcome.cause !== 'fifoStopped';
  return outcome.kind === 'transient' || outcome.kind === 'ambiguous' || outcome.kind === 'systemic';
}

/** Sends to the DLQ; on failure the record is retried instead. Returns whether it went. */
async function deadLetter(
  result: RecordResult,
  record: MailRecord,
  reason: FailureReason,
  delivery: Pick<Delivery, 'actions'>,
  options: {
    jobId?: string | undefined;
    body?: string | undefined;
    signal?: AbortSignal | undefined;
    kind?: FailureKind;
    attempts?: number;
    tags?: Readonly<Record<string, string>> | undefined;
  },
): Promise<boolean> {
  const { jobId, body, signal, kind, attempts, tags } = options;
  try {
    await delivery.actions.deadLetter(record, reason, {
      ...(jobId === undefined ? {} : { jobId }),
      ...(body === undefined ? {} : { body }),
      ...(signal === undefined ? {} : { signal }),
      ...(kind === undefined ? {} : { kind }),
      ...(attempts === undefined ? {} : { attempts }),
      ...(tags === undefined ? {} : { tags }),
    });
    result.placement = 'deadLettered';
    return true;
  } catch (error) {
    result.placement = 'retry';
    result.problem = `dead-letter send failed: ${describe(error)}`;
    return false;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
