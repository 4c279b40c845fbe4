/**
 * Acting on each record's outcome: dead-letter the permanent ones at once, re-enqueue recipients
 * refused for now, stretch the visibility of those that failed for now. A failed action turns
 * the record into a retry, so nothing is lost.
 * @module
 */
import { SYSTEMIC_BACKOFF, backoffSeconds } from './backoff.js';
import type { BackoffPolicy } from './backoff.js';
import type { MailRecord } from './mailRecord.js';
import type { FailureReason, Outcome } from './outcome.js';
import type { VisibilityChange } from './QueueActions.js';
import { requeueBody } from './requeueJob.js';
import type { BatchSlot, Delivery, RecordResult } from './types.js';

/**
 * Acts on one outcome and says where the record ended up: delivered → `done`; permanent → DLQ
 * (`deadLettered`, or `retry` if the DLQ send failed); partly refused → `done` after the
 * recipients refused for now are re-enqueued (or `retry` if that failed); anything else → `retry`.
 */
export async function settleRecord(slot: BatchSlot, outcome: Outcome, delivery: Pick<Delivery, 'actions' | 'options'>): Promise<RecordResult> {
  const { record, jobId } = slot.prepared;
  const result: RecordResult = { messageId: record.messageId, receiveCount: record.receiveCount, outcome, placement: 'retry' };
  if (jobId !== undefined) result.jobId = jobId;
  switch (outcome.kind) {
    case 'delivered':
      result.placement = 'done';
      break;
    case 'permanent':
      await deadLetter(result, record, outcome.reason, delivery, jobId);
      break;
    case 'partlyRefused':
      await requeueRefused(result, slot, outcome.refusedForNow.map((r) => r.recipient), delivery);
      break;
    default:
      break; // transient, ambiguous, notAttempted, systemic: retried
  }
  delete slot.mail;
  return result;
}

/**
 * Stretches the visibility of records that failed for now (transient, ambiguous, systemic) by
 * their backoff, and notes it on their results. Not-attempted records keep the queue's timeout.
 */
export async function applyBackoff(results: readonly RecordResult[], slots: readonly BatchSlot[], delivery: Pick<Delivery, 'actions'>, policy?: BackoffPolicy): Promise<void> {
  const changes: VisibilityChange[] = [];
  const byId = new Map<string, RecordResult>();
  results.forEach((result, index) => {
    const kind = result.outcome.kind;
    if (result.placement !== 'retry' || !(kind === 'transient' || kind === 'ambiguous' || kind === 'systemic')) return;
    const systemic = { ...SYSTEMIC_BACKOFF, ...(policy?.random ? { random: policy.random } : {}), ...(policy?.scale === undefined ? {} : { scale: policy.scale }) };
    const seconds = backoffSeconds(result.receiveCount, kind === 'systemic' ? systemic : policy);
    changes.push({ record: slots[index]!.prepared.record, seconds });
    byId.set(result.messageId, result);
    result.backoffSeconds = seconds;
  });
  if (changes.length === 0) return;
  for (const messageId of await delivery.actions.delay(changes)) {
    const result = byId.get(messageId);
    if (result !== undefined) {
      delete result.backoffSeconds;
      result.problem = 'visibility change failed: retried after the queue default';
    }
  }
}

/** Sends to the DLQ; on failure the record is retried instead. Returns whether it went. */
async function deadLetter(
  result: RecordResult,
  record: MailRecord,
  reason: FailureReason,
  delivery: Pick<Delivery, 'actions'>,
  jobId?: string,
  body?: string,
): Promise<boolean> {
  try {
    await delivery.actions.deadLetter(record, reason, { ...(jobId === undefined ? {} : { jobId }), ...(body === undefined ? {} : { body }) });
    result.placement = 'deadLettered';
    return true;
  } catch (error) {
    result.placement = 'retry';
    result.problem = `dead-letter send failed: ${describe(error)}`;
    return false;
  }
}

async function requeueRefused(result: RecordResult, slot: BatchSlot, recipients: string[], delivery: Pick<Delivery, 'actions' | 'options'>): Promise<void> {
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
    const kept = await deadLetter(result, record, { phase: 'rcpt', message }, delivery, prepared.jobId, next.ok ? next.body : undefined);
    // The record itself was delivered to the others; only its refused part sits in the DLQ.
    if (kept) result.placement = 'done';
    return;
  }
  try {
    await delivery.actions.requeue(record, next.body, backoffSeconds(record.requeueCount + 1, delivery.options.backoff));
    result.requeued = recipients.length;
  } catch (error) {
    result.placement = 'retry';
    result.problem = `re-enqueue failed, the whole job is retried (possible duplicates for the recipients that took it): ${describe(error)}`;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
