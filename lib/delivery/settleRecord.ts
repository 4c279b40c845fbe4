/**
 * Acting on each record's outcome: dead-letter the permanent ones at once, re-enqueue recipients
 * refused for now, stretch the visibility of those that failed for now. A failed action turns
 * the record into a retry, so nothing is lost.
 * @module
 */
import type { MailRecord } from './mailRecord.js';
import type { FailureReason, Outcome } from './outcome.js';
import { settleRefused } from './settleRefused.js';
import type { BatchSlot, Delivery, RecordResult } from './types.js';

/**
 * Acts on one outcome and says where the record ended up: delivered, duplicate suppressed → `done`; permanent → DLQ
 * (`deadLettered`, or `retry` if the DLQ send failed); partly refused → `done` after the
 * recipients refused for now are re-enqueued or dead-lettered on their own (see
 * {@link settleRefused}; `retry` only if neither worked); anything else → `retry`.
 *
 * @param signal the invocation's deadline: an SQS call it cuts counts as failed (the record is retried)
 */
export async function settleRecord(
  slot: BatchSlot,
  outcome: Outcome,
  delivery: Pick<Delivery, 'actions' | 'options'>,
  signal?: AbortSignal,
): Promise<RecordResult> {
  const { record, jobId } = slot.prepared;
  const result: RecordResult = { messageId: record.messageId, receiveCount: record.receiveCount, outcome, placement: 'retry' };
  if (jobId !== undefined) result.jobId = jobId;
  switch (outcome.kind) {
    case 'delivered':
    case 'duplicateSuppressed':
      result.placement = 'done';
      break;
    case 'permanent':
      await deadLetter(result, record, outcome.reason, delivery, { jobId, signal });
      break;
    case 'partlyRefused':
      await settleRefused(result, slot, outcome, delivery, signal);
      break;
    case 'transient':
    case 'ambiguous':
    case 'notAttempted':
    case 'systemic':
      break; // retried
  }
  delete slot.mail;
  return result;
}

/** Sends to the DLQ; on failure the record is retried instead. Returns whether it went. */
async function deadLetter(
  result: RecordResult,
  record: MailRecord,
  reason: FailureReason,
  delivery: Pick<Delivery, 'actions'>,
  { jobId, body, signal }: { jobId?: string | undefined; body?: string | undefined; signal?: AbortSignal | undefined },
): Promise<boolean> {
  try {
    await delivery.actions.deadLetter(record, reason, {
      ...(jobId === undefined ? {} : { jobId }),
      ...(body === undefined ? {} : { body }),
      ...(signal === undefined ? {} : { signal }),
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
