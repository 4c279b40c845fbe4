/**
 * A batch of SQS records in, every record's outcome and the `{ batchItemFailures }` answer out:
 * parse every record, open one connection, send up to the per-connection count pipelined, classify,
 * then act on each outcome (DESIGN.md, "Outcomes").
 * @module
 */
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import { composeMail } from '../message/index.js';
import type { MailJob } from '../message/index.js';
import type { SmtpConnectOptions, Envelope } from '../smtp/types.js';
import type { SmtpSettings } from '../config.js';
import { backoffSeconds } from './backoff.js';
import type { BackoffPolicy } from './backoff.js';
import { buildBatchResponse } from './batchResponse.js';
import { prepareRecord, readRecord } from './mailRecord.js';
import type { MailRecord, PreparedRecord } from './mailRecord.js';
import { isAuthenticationFailure, needsRetry, outcomeOfConnectError } from './outcome.js';
import type { FailureReason, Outcome } from './outcome.js';
import type { QueueActions, VisibilityChange } from './QueueActions.js';
import { requeueBody } from './requeueJob.js';
import { sendJobs } from './sendJobs.js';
import type { MailSender, SessionJob } from './sendJobs.js';
import type { SmtpSettingsSource } from './SmtpSettingsSource.js';

/** An open SMTP connection, as the delivery uses it (the SMTP client satisfies it). */
export interface MailSession extends MailSender {
  quit(): Promise<void>;
  close(): void;
  /** Writes and reply round trips so far, when the client counts them. */
  readonly stats?: { writes: number; roundTrips: number };
}

/** Where a record ended up. */
export type Placement =
  /** Sent (perhaps not to every recipient); nothing more to do. */
  | 'done'
  /** In the dead-letter queue. */
  | 'deadLettered'
  /** In `batchItemFailures`: SQS hands it out again. */
  | 'retry';

/** What became of one record. */
export interface RecordResult {
  messageId: string;
  jobId?: string;
  receiveCount: number;
  outcome: Outcome;
  placement: Placement;
  /** Recipients refused for now that were put back on the queue as a new job. */
  requeued?: number;
  /** The visibility timeout given for the backoff, in seconds. */
  backoffSeconds?: number;
  /** Something went wrong while acting on the outcome (e.g. the DLQ send failed, so the record is retried). */
  problem?: string;
}

/** Everything about one batch, for the answer, the logs and the metrics. */
export interface BatchReport {
  response: SQSBatchResponse;
  /** One per record, in event order. */
  results: RecordResult[];
  /** Set when the connection could not be set up: every job was retried. */
  systemic?: FailureReason;
  /** Round trips the SMTP session took, when the client counts them. */
  roundTrips?: number;
  durationMs: number;
}

/** Settings of the delivery. */
export interface DeliveryOptions {
  /** `MAIL_PER_CONNECTION`. */
  mailPerConnection: number;
  /** The records come from a FIFO queue: one message at a time, stop at the first failure. */
  fifo: boolean;
  /** PEM authorities to trust for the relay. */
  tlsCa?: string;
  /** No new message starts when less than this remains of the invocation. @default 5000 */
  startMarginMs?: number;
  /** The SMTP session is aborted this long before the invocation ends, to leave time to act and answer. @default 1500 */
  reserveMs?: number;
  /** Messages handed to the client ahead (see {@link SessionPlan.window}). @default 3 */
  window?: number;
  backoff?: BackoffPolicy;
  /** After this many re-enqueues, recipients still refused for now go to the DLQ instead. @default 5 */
  maxRequeues?: number;
}

/** What the delivery works with. */
export interface Delivery {
  settings: SmtpSettingsSource;
  connect(options: SmtpConnectOptions): Promise<MailSession>;
  actions: QueueActions;
  options: DeliveryOptions;
}

interface Slot {
  prepared: PreparedRecord;
  /** The message as sent, kept only until its outcome is known (needed to re-enqueue part of it). */
  mail?: { envelope: Envelope; message: Uint8Array };
}

/**
 * Delivers one batch. Never throws: every record gets exactly one {@link RecordResult}, and the
 * response names only records of this batch, each at most once.
 *
 * @param records the event's records
 * @param remainingTimeMs the invocation's remaining time (`context.getRemainingTimeInMillis`)
 * @example
 * const report = await deliverBatch(event.Records, () => context.getRemainingTimeInMillis(), delivery);
 * return report.response;
 */
export async function deliverBatch(records: readonly SQSRecord[], remainingTimeMs: () => number, delivery: Delivery): Promise<BatchReport> {
  const started = performance.now();
  const options = delivery.options;
  const slots: Slot[] = records.map((record) => ({ prepared: prepareRecord(readRecord(record)) }));
  const results: Array<RecordResult | undefined> = slots.map(() => undefined);
  const act = (index: number, outcome: Outcome): Promise<RecordResult> => settle(slots[index]!, outcome, delivery);
  const report: Omit<BatchReport, 'response' | 'durationMs' | 'results'> = {};

  const startMargin = options.startMarginMs ?? 5000;
  const canStart = (): boolean => remainingTimeMs() > startMargin;
  const needsConnection = slots.some((slot) => 'job' in slot.prepared);

  let outcomes: Outcome[];
  if (!needsConnection) {
    outcomes = slots.map((slot) => invalidOutcome(slot.prepared));
  } else if (!canStart()) {
    outcomes = slots.map((slot) => ('job' in slot.prepared ? { kind: 'notAttempted', cause: 'outOfTime' } : invalidOutcome(slot.prepared)));
  } else {
    const deadline = AbortSignal.timeout(Math.max(1, remainingTimeMs() - (options.reserveMs ?? 1500)));
    const opened = await openSession(delivery, deadline);
    if ('failure' in opened) {
      report.systemic = opened.failure;
      const systemic = outcomeOfConnectError(opened.error);
      outcomes = slots.map((slot) => ('job' in slot.prepared ? systemic : invalidOutcome(slot.prepared)));
    } else {
      const { session, settings } = opened;
      const jobs = slots.map((slot): SessionJob => sessionJob(slot, settings));
      outcomes = await sendJobs(session, jobs, {
        limit: options.mailPerConnection,
        window: options.fifo ? 1 : (options.window ?? 3),
        canStart,
        onOutcome: async (index, outcome) => {
          const slot = slots[index]!;
          if (outcome.kind !== 'partlyRefused') delete slot.mail;
          if (!options.fifo) return true;
          // FIFO: act before the next message starts, and stop at the first record that must come back.
          const result = await act(index, outcome);
          results[index] = result;
          return result.placement !== 'retry';
        },
      });
      if (!options.fifo) {
        // An invalid job behind the point where the session stopped is still dead-lettered.
        outcomes = outcomes.map((outcome, index) => ('invalid' in slots[index]!.prepared ? invalidOutcome(slots[index]!.prepared) : outcome));
      }
      if (session.stats !== undefined) report.roundTrips = session.stats.roundTrips;
      await closePolitely(session);
    }
  }

  if (options.fifo) {
    // Stop at the first record that must come back: it and everything after it are retried.
    const firstRetry = slots.findIndex((_, index) => {
      const result = results[index];
      return result === undefined ? needsRetry(outcomes[index]!) : result.placement === 'retry';
    });
    if (firstRetry >= 0) {
      for (let index = firstRetry + 1; index < slots.length; index += 1) {
        if (results[index] === undefined) outcomes[index] = { kind: 'notAttempted', cause: 'fifoStopped' };
      }
    }
  }
  await Promise.all(
    slots.map(async (_, index) => {
      results[index] ??= await act(index, outcomes[index]!);
    }),
  );
  await applyBackoff(results as RecordResult[], slots, delivery, options.backoff);

  const done = results as RecordResult[];
  return {
    response: buildBatchResponse(records, done),
    results: done,
    ...report,
    durationMs: Math.round(performance.now() - started),
  };
}

function invalidOutcome(prepared: PreparedRecord): Outcome {
  return 'invalid' in prepared ? { kind: 'permanent', reason: prepared.invalid } : { kind: 'notAttempted', cause: 'connectionLost' };
}

function sessionJob(slot: Slot, settings: SmtpSettings): SessionJob {
  const prepared = slot.prepared;
  if ('invalid' in prepared) return { outcome: { kind: 'permanent', reason: prepared.invalid } };
  const job: MailJob = prepared.job;
  return {
    async compose() {
      const composed = await composeMail(job, settings.from === undefined ? {} : { from: settings.from });
      slot.mail = { envelope: composed.envelope, message: composed.message };
      return slot.mail;
    },
  };
}

type Opened =
  | { session: MailSession; settings: SmtpSettings }
  | { failure: FailureReason; error: unknown };

/** Connects and logs in; after an AUTH failure with cached credentials, reads the secret again and retries once if it changed. */
async function openSession(delivery: Delivery, signal: AbortSignal): Promise<Opened> {
  const connect = async (settings: SmtpSettings): Promise<Opened> => {
    try {
      return { session: await delivery.connect(connectOptions(settings, delivery.options, signal)), settings };
    } catch (error) {
      if (isAuthenticationFailure(error)) delivery.settings.invalidate();
      return failed(error);
    }
  };
  let current;
  try {
    current = await delivery.settings.get();
  } catch (error) {
    return { failure: { phase: 'secret', message: describe(error) }, error: undefined };
  }
  const first = await connect(current.settings);
  if (!('failure' in first) || !isAuthenticationFailure(first.error) || current.fresh) return first;
  let again;
  try {
    again = await delivery.settings.get();
  } catch {
    return first;
  }
  if (again.settings.username === current.settings.username && again.settings.password === current.settings.password) return first;
  return connect(again.settings);
}

function failed(error: unknown): Opened {
  const outcome = outcomeOfConnectError(error);
  return { failure: outcome.kind === 'systemic' ? outcome.reason : { phase: 'unknown', message: describe(error) }, error };
}

/** The SMTP client's options for these settings. */
export function connectOptions(settings: SmtpSettings, options: Pick<DeliveryOptions, 'tlsCa'>, signal?: AbortSignal): SmtpConnectOptions {
  const connect: SmtpConnectOptions = { host: settings.host, security: settings.security };
  if (settings.port !== undefined) connect.port = settings.port;
  if (settings.username !== undefined && settings.password !== undefined) connect.auth = { user: settings.username, pass: settings.password };
  if (settings.clientName !== undefined) connect.clientName = settings.clientName;
  if (options.tlsCa !== undefined) connect.tls = { ca: options.tlsCa };
  if (signal !== undefined) connect.signal = signal;
  return connect;
}

async function closePolitely(session: MailSession): Promise<void> {
  try {
    await session.quit();
  } catch {
    session.close();
  }
}

/** Acts on one outcome: dead-letter, re-enqueue, or mark for retry. */
async function settle(slot: Slot, outcome: Outcome, delivery: Delivery): Promise<RecordResult> {
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
      delete slot.mail;
      break;
    default:
      break; // transient, ambiguous, notAttempted, systemic: retried
  }
  return result;
}

/** Sends to the DLQ; on failure the record is retried instead, so nothing is lost. Returns whether it went. */
async function deadLetter(result: RecordResult, record: MailRecord, reason: FailureReason, delivery: Delivery, jobId?: string, body?: string): Promise<boolean> {
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

async function requeueRefused(result: RecordResult, slot: Slot, recipients: string[], delivery: Delivery): Promise<void> {
  result.placement = 'done';
  if (recipients.length === 0) return;
  const prepared = slot.prepared;
  if (!('job' in prepared)) return;
  const record = prepared.record;
  const next = requeueBody(record.body, prepared.job, slot.mail, recipients);
  const maxRequeues = delivery.options.maxRequeues ?? 5;
  if (!next.ok || record.requeueCount >= maxRequeues) {
    // Cannot or must not go round again: keep the recipients' job in the DLQ instead of losing it.
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

/** Stretches the visibility of records that failed for now (transient, ambiguous, systemic) by their backoff. */
async function applyBackoff(results: RecordResult[], slots: Slot[], delivery: Delivery, policy?: BackoffPolicy): Promise<void> {
  const changes: VisibilityChange[] = [];
  const byId = new Map<string, RecordResult>();
  results.forEach((result, index) => {
    const kind = result.outcome.kind;
    if (result.placement !== 'retry' || !(kind === 'transient' || kind === 'ambiguous' || kind === 'systemic')) return;
    const seconds = backoffSeconds(result.receiveCount, policy);
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

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
