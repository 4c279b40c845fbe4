/**
 * A batch of SQS records in, every record's outcome and the `{ batchItemFailures }` answer out:
 * parse every record, open one connection, send up to the per-connection count pipelined, classify,
 * and settle each outcome (DESIGN.md, "Outcomes"), all within the invocation's remaining time.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { composeMail, contentJobId } from '../message/index.js';
import type { SmtpSettings } from '../config.js';
import { MAX_BATCHING_WINDOW_SECONDS, visibilityCapSeconds } from './backoff.js';
import { buildBatchResponse } from './batchResponse.js';
import { BatchLedger } from './ledger/BatchLedger.js';
import { headerMessageId } from './ledger/recipients.js';
import { prepareRecord, readRecord } from './mailRecord.js';
import type { FailureReason, Outcome } from './outcome.js';
import { openSession } from './openSession.js';
import { sendJobs } from './sendJobs.js';
import type { SessionJob } from './sendJobs.js';
import { Deadline } from './Deadline.js';
import { SettleStage } from './SettleStage.js';
import { SqsCallTimes } from './SqsCallTimes.js';
import type { BatchReport, BatchSlot, Delivery, MailSession } from './types.js';

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
  const slots: BatchSlot[] = records.map((record) => ({ prepared: prepareRecord(readRecord(record)) }));
  // A job without an id gets the one derived from its content: its Message-ID, its key in the
  // ledger and the id of any copy re-enqueued for some of its recipients.
  for (const slot of slots) if ('job' in slot.prepared) slot.prepared.job.id ??= contentJobId(slot.prepared.job);
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
      ? new BatchLedger(
          delivery.ledger,
          slots.map((slot) => ('job' in slot.prepared ? { key: slot.prepared.job.id ?? '', job: slot.prepared.job } : undefined)),
          { owner: randomUUID(), claimUntilMs: Date.now() + budgetMs, signal: sessionEnd.signal },
        )
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
    slots.forEach((slot, index) => {
      if ('invalid' in slot.prepared) void stage.settle(index, { kind: 'permanent', reason: slot.prepared.invalid });
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

interface SessionReport {
  outcomes: Outcome[];
  /** The polite end of the session, still under way. */
  closing?: Promise<void>;
  systemic?: FailureReason;
  roundTrips?: number;
}

/**
 * Reads the settings, builds the first messages while the connection is set up, sends, hands each
 * outcome to the settle stage as it is known, and says QUIT.
 */
async function runSession(
  slots: BatchSlot[],
  delivery: Delivery,
  deadline: AbortSignal,
  canStart: () => boolean,
  stage: SettleStage,
  ledger: BatchLedger | undefined,
): Promise<SessionReport> {
  const { options } = delivery;
  const systemic = (reason: FailureReason): SessionReport => {
    for (const slot of slots) delete slot.composing;
    return { outcomes: slots.map((slot) => ownOutcome(slot, { kind: 'systemic', reason })), systemic: reason };
  };
  let current;
  try {
    current = await delivery.settings.get(deadline);
  } catch (error) {
    return systemic({
      phase: 'secret',
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof Error ? { error: error.name } : {}),
    });
  }
  const ahead = options.fifo ? 1 : (options.window ?? 3);
  let jobs = slots.map((slot, index) => sessionJob(slot, current.settings, index, ledger));
  let head = 0;
  for (const job of jobs) {
    if (head >= Math.min(ahead, options.mailPerConnection)) break;
    if ('compose' in job) {
      void job.compose().catch(() => undefined); // observed when its turn comes
      head += 1;
    }
  }

  const opened = await openSession(delivery, current, deadline);
  if ('failure' in opened) return systemic(opened.failure);
  if (opened.settings !== current.settings) {
    // The secret was read again (rotation): build with what is current now.
    for (const slot of slots) delete slot.composing;
    jobs = slots.map((slot, index) => sessionJob(slot, opened.settings, index, ledger));
  }
  const streams = !options.fifo && opened.session.capabilities?.chunking === true && opened.session.capabilities.pipelining;
  const window = options.fifo ? 1 : (options.window ?? (streams ? streamWindow(slots, options.mailPerConnection) : 3));
  if (streams) {
    // BDAT streams whatever is queued in one write: have the window's messages built, so that
    // they are handed to the client together.
    const toSend = jobs.filter((job) => 'compose' in job).slice(0, window);
    await Promise.allSettled(toSend.map((job) => job.compose()));
  }
  let outcomes: Outcome[];
  try {
    outcomes = await sendJobs(opened.session, jobs, {
      limit: options.mailPerConnection,
      window,
      ...(options.maxRecipientsPerMessage === undefined ? {} : { maxRecipients: options.maxRecipientsPerMessage }),
      canStart: () => {
        try {
          return canStart();
        } catch {
          return false; // a clock that fails means no time to count on
        }
      },
      // FIFO: a message waits for the earlier records of its group to be settled, and is passed
      // by when one of them must come back; other groups go on meanwhile. The ledger then passes
      // by a job every recipient has, or one another invocation holds.
      ...(options.fifo || ledger !== undefined
        ? { skip: async (index: number) => (options.fifo ? await stage.passBy(index) : undefined) ?? (await ledger?.verdict(index)) }
        : {}),
      onOutcome: (index, outcome) => {
        const slot = slots[index];
        if (slot !== undefined) {
          delete slot.composing;
          if (outcome.kind !== 'partlyRefused') delete slot.mail;
        }
        // A DLQ send or re-enqueue starts at once, alongside the session. Standard queues: records
        // that come back wait for the session's final word on them (a loss may turn "transient"
        // into "not attempted"); FIFO: every record is fed in order, as it may stop its group.
        if (
          options.fifo ||
          outcome.kind === 'delivered' ||
          outcome.kind === 'permanent' ||
          outcome.kind === 'partlyRefused' ||
          outcome.kind === 'duplicateSuppressed'
        )
          void stage.settle(index, outcome);
        return true;
      },
    });
  } catch (error) {
    opened.session.close(); // never leave the socket open behind a failure
    throw error;
  }
  for (const slot of slots) delete slot.composing;
  const report: SessionReport = { outcomes };
  if (opened.session.stats !== undefined) report.roundTrips = opened.session.stats.roundTrips;
  // QUIT goes on while the outcomes are acted on: a slow QUIT must not eat the time the DLQ sends,
  // re-enqueues and visibility changes need.
  report.closing = closePolitely(opened.session, stage.signal);
  return report;
}

/** Bytes of job bodies whose messages may be built and in flight at once when streaming with BDAT (a 128 MB function holds the event, the jobs and the messages). */
export const STREAM_WINDOW_BYTES = 1024 * 1024;

/**
 * How many messages to hand the client at once on a CHUNKING relay: every one of the connection's
 * when they are small (one write, one round trip for the batch), fewer when large, so that the
 * messages built and waiting stay within {@link STREAM_WINDOW_BYTES} (always at least one).
 */
export function streamWindow(slots: readonly BatchSlot[], limit: number, budgetBytes = STREAM_WINDOW_BYTES): number {
  let count = 0;
  let bytes = 0;
  for (const slot of slots) {
    if (!('job' in slot.prepared)) continue;
    bytes += slot.prepared.record.body.length;
    if (count >= limit || (count > 0 && bytes > budgetBytes)) break;
    count += 1;
  }
  return Math.max(1, count);
}

function hasJob(slot: BatchSlot): boolean {
  return 'job' in slot.prepared;
}

/** An invalid job's own outcome (permanent), else `otherwise`. */
function ownOutcome(slot: BatchSlot, otherwise: Outcome): Outcome {
  return 'invalid' in slot.prepared ? { kind: 'permanent', reason: slot.prepared.invalid } : otherwise;
}

/**
 * The session's view of a record: a message to build (once, however often asked), or an invalid
 * job's outcome. With a ledger, the envelope keeps only the recipients not yet delivered.
 */
function sessionJob(slot: BatchSlot, settings: SmtpSettings, index: number, ledger: BatchLedger | undefined): SessionJob {
  const prepared = slot.prepared;
  if ('invalid' in prepared) return { outcome: { kind: 'permanent', reason: prepared.invalid } };
  const job = prepared.job;
  return {
    compose() {
      slot.composing ??= composeMail(job, settings.from === undefined ? {} : { from: settings.from }).then(async (composed) => {
        const messageId = composed.messageId ?? (job.kind === 'raw' ? headerMessageId(job.message) : undefined);
        const to = ledger === undefined ? composed.envelope.to : await ledger.recipientsToSend(index, composed.envelope.to, messageId);
        slot.mail = { envelope: { from: composed.envelope.from, to }, message: composed.message };
        return slot.mail;
      });
      return slot.composing;
    },
  };
}

/** QUIT, cut short (the socket closed) when `signal` says time is up. */
async function closePolitely(session: MailSession, signal: AbortSignal): Promise<void> {
  const cut = (): void => {
    session.close();
  };
  if (signal.aborted) {
    cut();
    return;
  }
  signal.addEventListener('abort', cut, { once: true });
  try {
    await session.quit();
  } catch {
    session.close();
  } finally {
    signal.removeEventListener('abort', cut);
  }
}
