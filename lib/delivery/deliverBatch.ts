/**
 * A batch of SQS records in, every record's outcome and the `{ batchItemFailures }` answer out:
 * parse every record, open one connection, send up to the per-connection count pipelined, classify,
 * and settle each outcome (DESIGN.md, "Outcomes"), all within the invocation's remaining time.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { contentJobId } from '../message/index.js';
import { MAX_BATCHING_WINDOW_SECONDS, visibilityCapSeconds } from './backoff.js';
import { buildBatchResponse } from './batchResponse.js';
import { BatchLedger } from './ledger/BatchLedger.js';
import { readRecord } from './mailRecord.js';
import { preparePayloads } from './payload/preparePayloads.js';
import { splitRecipients, withRecipientsOnly } from './suppressedRecipients.js';
import { hasJob, ownOutcome, runSession } from './runSession.js';
import type { SessionReport } from './runSession.js';
import { Deadline } from './Deadline.js';
import { SettleStage } from './SettleStage.js';
import { SqsCallTimes } from './SqsCallTimes.js';
import type { BatchReport, BatchSlot, Delivery } from './types.js';

export { STREAM_WINDOW_BYTES, streamWindow } from './runSession.js';

/**
 * Delivers one batch. Never throws for a record's sake: every record gets exactly one
 * {@link RecordResult}, and the response names only records of this batch, each at most once.
 *
 * The invocation's remaining time bounds everything: no message starts with less than
 * `startMarginMs` left, the SMTP session is cut `reserveMs` before the end (more when SQS has
 * lately been slow: the calls after the session need that time), every SQS call
 * (DLQ sends, re-enqueues, visibility changes) `answerMarginMs` before it, and the answer comes
 * at the latest half of that margin before the end, whatever is still under way: a record not
 * settled by then (its DLQ send unfinished, say) is in `batchItemFailures`. A record's backoff
 * (its visibility change) is cut to what SQS takes: 12 hours in flight since the receive, less the
 * batching window, a margin and the invocation's time so far (`visibilityCapSeconds`).
 *
 * Outcomes go to one {@link SettleStage} as they are known, so DLQ sends and re-enqueues run
 * alongside the session. On a FIFO queue they are fed in order, a message waits for the earlier
 * records of its message group to be settled, and a record that must come back stops its own
 * group only (the other groups go on).
 *
 * With a delivery ledger ({@link BatchLedger}), every job is claimed as the batch starts (alongside
 * the connection's setup), a job whose every recipient has it already is not sent
 * (`duplicateSuppressed`), one held by another invocation comes back later, the others go to the
 * recipients not yet delivered, and each outcome is recorded before the record is settled.
 *
 * @param records the event's records
 * @param remainingTimeMs the invocation's remaining time (`context.getRemainingTimeInMillis`)
 * @throws whatever the clock throws when first read (nothing has been done then)
 * @example
 * const report = await deliverBatch(event.Records, () => context.getRemainingTimeInMillis(), delivery);
 * return report.response;
 */
export async function deliverBatch(records: readonly SQSRecord[], remainingTimeMs: () => number, delivery: Delivery): Promise<BatchReport> {
  const started = performance.now();
  const { options } = delivery;
  // Claim checks: a pointer's job is read from S3 (attachments into spool files) before anything
  // else, within the time a message may start in; a missing object makes its record permanent, and
  // jobs past the batch's spool budget (MAIL_SPOOL_BYTES) are not attempted: they come back.
  const loadLimit = AbortSignal.timeout(Math.max(1, Math.floor(remainingTimeMs() - (options.startMarginMs ?? 5000))));
  const prepared = await preparePayloads(records.map(readRecord), delivery.payloads, loadLimit, {
    fifo: options.fifo,
    ...(options.maxReceives === undefined ? {} : { maxReceives: options.maxReceives }),
  });
  const slots: BatchSlot[] = prepared.map((entry) => ({ prepared: entry }));
  // A job without an id gets the one derived from its content: its Message-ID, its key in the
  // ledger and the id of any copy re-enqueued for some of its recipients.
  for (const slot of slots) if ('job' in slot.prepared) slot.prepared.job.id ??= contentJobId(slot.prepared.job);
  // Recipients outside MAIL_ALLOWED_RECIPIENTS are never sent to; a job with none left is done unsent.
  const allow = options.allowedRecipients;
  const ledgerJobs = slots.map((slot) => {
    if (!('job' in slot.prepared)) return undefined;
    // A claim check's copy for some recipients (its pointer names them; the job in S3 names them all)
    // is, for the ledger and the allow list, the job for only those: as a copy in a queue body is.
    const { pointer } = slot.prepared;
    const job = pointer?.recipients === undefined ? slot.prepared.job : withRecipientsOnly(slot.prepared.job, pointer.recipients);
    if (allow === undefined) return { key: job.id ?? '', job };
    const { allowed, suppressed } = splitRecipients(job, allow);
    if (suppressed.length === 0) return { key: job.id ?? '', job };
    slot.suppressed = suppressed;
    if (allowed.length === 0) {
      slot.allSuppressed = true;
      return undefined;
    }
    return { key: job.id ?? '', job: withRecipientsOnly(job, allowed) };
  });
  const budgetMs = remainingTimeMs();
  const leftMs = (): number => budgetMs - (performance.now() - started);
  const answerMarginMs = options.answerMarginMs ?? 500;
  const startMarginMs = options.startMarginMs ?? 5000;
  const canStart = (): boolean => remainingTimeMs() > startMarginMs;
  // The session ends early enough for the SQS calls after it (in parallel: one call's time) and
  // the answer: `reserveMs`, or more when SQS has lately been slower, yet never so much that a
  // message started at the start margin has less than a second.
  const times = delivery.sqsCallTimes ?? new SqsCallTimes();
  const reserveMs = (): number => Math.max(options.reserveMs ?? 1500, Math.min(answerMarginMs + 1.25 * times.expectedMs(), startMarginMs - 1000));
  const sessionEnd = new Deadline(budgetMs - reserveMs());
  // A visibility change must not keep a record in flight past SQS's 12 hours since its receive,
  // which came before this invocation (by up to the batching window) and before `started`.
  const batchingWindowSeconds = options.batchingWindowSeconds ?? (options.fifo ? 0 : MAX_BATCHING_WINDOW_SECONDS);
  const visibilityCap = (): number => visibilityCapSeconds(performance.now() - started, { batchingWindowSeconds });
  // Claims last until the invocation ends: shorter than the queue's visibility timeout.
  const ledger =
    delivery.ledger !== undefined && slots.some(hasJob) && budgetMs > startMarginMs
      ? new BatchLedger(delivery.ledger, ledgerJobs, { owner: randomUUID(), claimUntilMs: Date.now() + budgetMs, signal: sessionEnd.signal })
      : undefined;
  const stage = new SettleStage(
    slots,
    delivery,
    timeLimit(budgetMs - answerMarginMs),
    (ms) => {
      times.add(ms);
      sessionEnd.bringForward(leftMs() - reserveMs());
    },
    visibilityCap,
    ledger,
  );

  if (!options.fifo) {
    // An invalid job goes to the DLQ at once, whatever becomes of the session (FIFO: in its turn).
    // So is a job every recipient of which is suppressed (done).
    slots.forEach((slot, index) => {
      if ('invalid' in slot.prepared || slot.allSuppressed === true)
        void stage.settle(index, ownOutcome(slot, { kind: 'notAttempted', cause: 'connectionLost' }));
    });
  }

  let session: SessionReport | undefined;
  const work = async (): Promise<void> => {
    if (!slots.some(hasJob)) {
      session = { outcomes: slots.map((slot) => ownOutcome(slot, { kind: 'notAttempted', cause: 'connectionLost' })) };
    } else if (!canStart()) {
      session = { outcomes: slots.map((slot) => ownOutcome(slot, { kind: 'notAttempted', cause: 'outOfTime' })) };
    } else {
      session = await runSession(slots, delivery, sessionEnd.signal, canStart, stage, ledger);
    }
    await stage.finish(session.outcomes);
    await session.closing;
  };
  try {
    await within(work(), leftMs() - answerMarginMs / 2);
  } finally {
    sessionEnd.dispose();
    // Spool files go once every message is sent (a message still being sent when the answer had to go is cut with them).
    await delivery.payloads?.endBatch();
  }

  const results = stage.snapshot(session?.outcomes);
  return {
    response: buildBatchResponse(records, results),
    results,
    ...(session?.systemic === undefined ? {} : { systemic: session.systemic }),
    ...(session?.roundTrips === undefined ? {} : { roundTrips: session.roundTrips }),
    ...(ledger === undefined
      ? {}
      : { ledger: { unavailable: ledger.unavailable, ...(ledger.problem === undefined ? {} : { problem: ledger.problem }) } }),
    durationMs: Math.round(performance.now() - started),
  };
}

/** A signal that aborts in `ms` milliseconds (at least 1; the timer takes whole numbers only). */
function timeLimit(ms: number): AbortSignal {
  return AbortSignal.timeout(Math.max(1, Math.floor(Number.isFinite(ms) ? ms : 1)));
}

/**
 * Waits for `work`, but not longer than `ms`: the answer must go out before the invocation ends,
 * whatever is still under way (which goes on, unobserved). Rethrows the work's error when it
 * failed in time.
 */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<{ ended: false }>((resolve) => {
    timer = setTimeout(() => resolve({ ended: false }), Math.max(0, ms));
  });
  const ended = work.then(
    () => ({ ended: true as const }),
    (error: unknown) => ({ ended: true as const, error }),
  );
  try {
    const first = await Promise.race([ended, timeUp]);
    if ('error' in first) throw first.error;
  } finally {
    clearTimeout(timer);
  }
}
