/**
 * Types shared by the delivery's parts: what a batch produces (one {@link RecordResult} per
 * record, a {@link BatchReport}) and what it works with ({@link Delivery}).
 * @module
 */
import type { SQSBatchResponse } from 'aws-lambda';
import type { RecipientAllowList } from '../config.js';
import type { SmtpConnectOptions } from '../smtp/types.js';
import type { BackoffPolicy } from './backoff.js';
import type { LedgerTable } from './ledger/LedgerTable.js';
import type { PayloadReader } from './payload/PayloadReader.js';
import type { FailureReason, Outcome } from './outcome.js';
import type { QueueActions } from './QueueActions.js';
import type { PreparedRecord } from './mailRecord.js';
import type { ComposedMessage, MailSender } from './sendJobs.js';
import type { SmtpSettingsSource } from './SmtpSettingsSource.js';
import type { SqsCallTimes } from './SqsCallTimes.js';

/** An open SMTP connection, as the delivery uses it (the SMTP client satisfies it). */
export interface MailSession extends MailSender {
  quit(): Promise<void>;
  close(): void;
  /** Writes and reply round trips so far, when the client counts them. */
  readonly stats?: { writes: number; roundTrips: number };
  /** What the server offers; with CHUNKING and PIPELINING a whole batch is handed over at once. */
  readonly capabilities?: { pipelining: boolean; chunking: boolean };
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
  /** The visibility timeout given (its backoff, or a FIFO hand-back of a record not attempted), in seconds; absent when none was set. */
  backoffSeconds?: number;
  /** Something went wrong while acting on the outcome (e.g. the DLQ send failed, so the record is retried). */
  problem?: string;
  /** The record was on its last receive (`MAIL_MAX_RECEIVES`) and, since it would have come back, was sent to the DLQ (or tried to be). */
  lastReceive?: true;
  /** Envelope recipients outside `MAIL_ALLOWED_RECIPIENTS`, never sent to (logged by domain only). */
  suppressed?: readonly string[];
  /** The job's `tags`, logged with the outcome. */
  tags?: Readonly<Record<string, string>>;
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
  /** The delivery ledger's part, when there is one: jobs handled without it (it could not be reached), and the first failure. */
  ledger?: { unavailable: number; problem?: string };
  durationMs: number;
}

/** Settings of the delivery. */
export interface DeliveryOptions {
  /** `MAIL_PER_CONNECTION`. */
  mailPerConnection: number;
  /** `MAIL_MAX_RECIPIENTS`: at most this many recipients per message; more go in further transactions on the same connection. */
  maxRecipientsPerMessage?: number;
  /** The records come from a FIFO queue: one message at a time, and a record that must come back stops its message group. */
  fifo: boolean;
  /** PEM authorities to trust for the relay. */
  tlsCa?: string;
  /** No new message starts when less than this remains of the invocation. @default 5000 */
  startMarginMs?: number;
  /**
   * The SMTP session is aborted this long before the invocation ends: the time kept for the SQS
   * calls after it (DLQ sends, re-enqueues, visibility changes, all in parallel) and the answer.
   * More is kept when SQS calls have lately taken longer (`answerMarginMs` + 1.25 × the slowest of
   * the last few calls), up to `startMarginMs` − 1 s.
   * @default 1500
   */
  reserveMs?: number;
  /**
   * Every SQS call is cut this long before the invocation ends, and the handler answers at the
   * latest half of it before: a record not settled by then is in `batchItemFailures`.
   * @default 500
   */
  answerMarginMs?: number;
  /**
   * Messages handed to the client ahead of replies (see `SessionPlan.window`).
   * @default the per-connection count when the server offers CHUNKING and PIPELINING (the client
   *   streams them all as BDAT in one write), else 3
   */
  window?: number;
  backoff?: BackoffPolicy;
  /**
   * The event source's batching window, in seconds: how long a record may have been in flight
   * before the invocation. A visibility change is capped at SQS's 12 hours in flight less this,
   * a margin and the invocation's time so far (`visibilityCapSeconds`).
   * @default 0 on a FIFO queue (the event source has no batching window there), else 300 (the longest it allows)
   */
  batchingWindowSeconds?: number;
  /** After this many re-enqueues, recipients still refused for now go to the DLQ instead. @default 5 */
  maxRequeues?: number;
  /**
   * `MAIL_MAX_RECEIVES`, the queue's `maxReceiveCount`: a record received this many times that would
   * come back is dead-lettered with the reason of this receive instead (see `dealtWithOnLastReceive`).
   * Absent: such records come back, and SQS's redrive moves them without a reason.
   */
  maxReceives?: number;
  /** `MAIL_ALLOWED_RECIPIENTS`: recipients outside it are never sent to (outcome `suppressed` when none is left). Absent: everyone. */
  allowedRecipients?: RecipientAllowList;
}

/** What the delivery works with. */
export interface Delivery {
  settings: SmtpSettingsSource;
  connect(options: SmtpConnectOptions): Promise<MailSession>;
  actions: QueueActions;
  options: DeliveryOptions;
  /** How long SQS calls have lately been taking (kept across invocations); the time reserved after the session follows it. */
  sqsCallTimes?: SqsCallTimes;
  /** The delivery ledger (`MAIL_LEDGER_TABLE`); absent: none, every job is sent as it comes. */
  ledger?: LedgerTable;
  /** Claim checks and attachments by reference in S3 (`MAIL_PAYLOAD_BUCKET`); absent: a pointer body is an invalid job. */
  payloads?: PayloadReader;
}

/** One record while its batch is handled. */
export interface BatchSlot {
  prepared: PreparedRecord;
  /** The message being built (started early so that building never holds up the pipeline). */
  composing?: Promise<ComposedMessage>;
  /** The message as sent, kept only until its outcome is known (needed to re-enqueue part of it). */
  mail?: ComposedMessage;
  /** Envelope recipients outside `MAIL_ALLOWED_RECIPIENTS`: never sent to. */
  suppressed?: readonly string[];
  /** Every recipient is outside `MAIL_ALLOWED_RECIPIENTS`: the job is done unsent (outcome `suppressed`). */
  allSuppressed?: boolean;
  /**
   * Set when the delivery ledger found some of the record's recipients delivered already (on an
   * earlier receive): the envelope recipients this receive sends to (`pending`), and how many the
   * ledger had as delivered. A dead letter of the record then names only `pending`.
   */
  undelivered?: { pending: readonly string[]; delivered: number };
}
