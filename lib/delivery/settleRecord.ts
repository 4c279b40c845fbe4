/**
 * Acting on each record's outcome: dead-letter the permanent ones at once, re-enqueue recipients
 * refused for now, stretch the visibility of those that failed for now. A failed action turns
 * the record into a retry, so nothing is lost.
 * @module
 */
import { backoffSeconds } from './backoff.js';
import type { MailRecord } from './mailRecord.js';
import type { FailureReason, Outcome } from './outcome.js';
import { requeueBody } from './requeueJob.js';
import type { BatchSlot, Delivery, RecordResult } from './types.js';

/**
 * Acts on one outcome and says where the record ended up: delivered → `done`; permanent → DLQ
 * (`deadLettered`, or `retry` if the DLQ send failed); partly refused → `done` after the
 * recipients refused for now are re-enqueued (or `retry` if that failed); anything else → `retry`.
 *
 * @param signal the invocation's deadline: an SQS call it cuts counts as failed (the record is retried)
 */
export async function settleRecord(slot: BatchSlot, outcome: Outcome, delivery: Pick<Delivery, 'actions' | 'options'>, signal?: AbortSignal): Promise<RecordResult> {
  const { record, jobId } = slot.prepared;
  const result: RecordResult = { messageId: record.messageId, receiveCount: record.receiveCount, outcome, placement: 'retry' };
  if (jobId !== undefined) result.jobId = jobId;
  switch (outcome.kind) {
    case 'delivered':
      result.placement = 'done';
      break;
    case 'permanent':
      await deadLetter(result, record, outcome.reason, delivery, { jobId, signal });
      break;
    case 'partlyRefused':
      await requeueRefused(result, slot, outcome.refusedForNow.map((r) => r.recipient), delivery, signal);
      break;
    default:
      break; // transient, ambiguous, notAttempted, systemic: retried
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
    await delivery.actions.deadLetter(record, reason, { ...(jobId === undefined ? {} : { jobId }), ...(body === undefined ? {} : { body }), ...(signal === undefined ? {} : { signal }) });
    result.placement = 'deadLettered';
    return true;
  } catch (error) {
    result.placement = 'retry';
    result.problem = `dead-letter send failed: ${describe(error)}`;
    return false;
  }
}

async function requeueRefused(result: RecordResult, slot: BatchSlot, recipients: string[], delivery: Pick<Delivery, 'actions' | 'options'>, signal?: AbortSignal): Promise<void> {
  result.placement = 'done';
  const prepared = slot.prepared;
  if (recipients.length === 0 || !('job' in prepared)) return;
  const record = prepared.record;
  const next = requeueBody(record.body, prepared.job, slot.mail, recipients);
  const maxRequeues = delivery.options.maxRequeues ?? 5;
  if (!next.ok || record.requeueCount >= maxRequeues) {
    // Cannot or must not go round again: keep the recipients' job in the DLQ rather than lose it.
    const message = next.ok
      ? `recipients still refused for now after ${record.requeueCount} re-enqueues`
      : `recipients refused for now could not be re-enqueued: ${next.problem}`;
    const kept = await deadLetter(result, record, { phase: 'rcpt', message }, delivery, { jobId: prepared.jobId, body: next.ok ? next.body : undefined, signal });
    // The record itself was delivered to the others; only its refused part sits in the DLQ.
    if (kept) result.placement = 'done';
    return;
  }
  try {
    await delivery.actions.requeue(record, next.body, backoffSeconds(record.requeueCount + 1, delivery.options.backoff), signal === undefined ? {} : { signal });
    result.requeued = recipients.length;
  } catch (error) {
    result.placement = 'retry';
    result.problem = `re-enqueue failed, the whole job is retried (possible duplicates for the recipients that took it): ${describe(error)}`;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
