/**
 * What happened to one job, as a tagged value, and the pure rules that turn the SMTP client's
 * result or error into it (DESIGN.md, "Outcomes: what the consumer does with each job").
 * @module
 */
import { AuthenticationError, ConnectionError, MessageTooLargeError, RecipientsRefusedError, SmtpError, TimeoutError } from '../smtp/errors.js';
import type { RefusedRecipient, SendResult, SmtpPhase } from '../smtp/types.js';

/**
 * Why a job failed: the stage, the server's codes and text. `phase` extends the SMTP phases with
 * `'job'` (the record is not a valid mail job), `'payload'` (its job or an attachment in S3 is missing
 * or unreadable), `'compose'` (the message could not be built),
 * `'secret'` (the relay's settings could not be read), `'ledger'` (the delivery ledger says another
 * invocation holds the job) and `'unknown'` (an unexpected error).
 */
export interface FailureReason {
  /** `'not-attempted'`: a job dead-lettered on its last receive without having been tried in it (see `lastReceiveReason`). */
  phase: SmtpPhase | 'job' | 'payload' | 'compose' | 'secret' | 'ledger' | 'not-attempted' | 'unknown';
  code?: number;
  enhancedCode?: string;
  /** The server's text or a description; may hold addresses (never logged as is). */
  message: string;
  /** The error class, e.g. `MessageTooLargeError`, when an error was the cause. */
  error?: string;
  /** When every recipient was refused: each refusal. */
  refused?: RefusedRecipient[];
  /** For an invalid job: where its problems are (`to[1]`, `attachments[0].content`): logged instead of the text, which quotes the job. */
  paths?: string[];
  /**
   * For an invalid job: its problems (where, what), as `InvalidJobError.issues` lists them. The
   * messages may quote the job: the log line shows them with every quoted value hidden.
   */
  issues?: readonly { path: string; message: string }[];
  /** For an invalid job: how many problems were found, listed or not (`InvalidJobError.count`). */
  issueCount?: number;
}

/** Why a job was not tried on this connection (`spoolBudget`: its offloaded job was not read, the batch's `MAIL_SPOOL_BYTES` being taken). */
export type NotAttemptedCause = 'perConnectionLimit' | 'outOfTime' | 'connectionLost' | 'fifoStopped' | 'spoolBudget';

/** The outcome of one job: exactly one per record of a batch. */
export type Outcome =
  /** Every recipient took it. */
  | { kind: 'delivered'; accepted: number }
  /** Some recipients took it; the others were refused for good (5xx) or for now (4xx). */
  | { kind: 'partlyRefused'; accepted: number; refusedPermanently: RefusedRecipient[]; refusedForNow: RefusedRecipient[] }
  /** Worth retrying later: 4xx, timeout, network, 421 before the dot. */
  | { kind: 'transient'; reason: FailureReason }
  /** Never going to work: 5xx on MAIL, on every RCPT or on the data, too large, invalid job. */
  | { kind: 'permanent'; reason: FailureReason }
  /** The dot went out and no final reply came: it may have been delivered. Retried (at-least-once). */
  | { kind: 'ambiguous'; reason: FailureReason }
  /** Not tried on this connection. */
  | { kind: 'notAttempted'; cause: NotAttemptedCause }
  /** Not sent: the delivery ledger records every recipient as having taken this job already (a re-delivery or a double publish). */
  | { kind: 'duplicateSuppressed'; recipients: number }
  /** Not sent: every recipient is outside the environment's `MAIL_ALLOWED_RECIPIENTS` (a non-production stack never mails a customer). */
  | { kind: 'suppressed'; recipients: number }
  /** The connection could not be set up (connect, TLS, AUTH, settings): not the job's fault. */
  | { kind: 'systemic'; reason: FailureReason };

/** What each {@link NotAttemptedCause} means, in the words a dead letter gives. */
const NOT_ATTEMPTED: Readonly<Record<NotAttemptedCause, string>> = {
  perConnectionLimit: 'beyond the per-connection count (MAIL_PER_CONNECTION)',
  outOfTime: 'the invocation ran out of time before its turn',
  connectionLost: 'the connection was lost before its turn',
  fifoStopped: 'an earlier job of its message group must come back first',
  spoolBudget: "the batch's spool space for offloaded jobs (MAIL_SPOOL_BYTES) was taken by other jobs",
};

/** The outcomes whose record comes back (in `batchItemFailures`) unless it is on its last receive. */
export type ComesBackOutcome = Extract<Outcome, { kind: 'transient' | 'ambiguous' | 'notAttempted' | 'systemic' }>;

/**
 * The reason a job failed on its last receive, for its dead letter: the failure's own reason, or,
 * for a job not tried in that receive, phase `not-attempted` and why.
 *
 * @example
 * lastReceiveReason({ kind: 'notAttempted', cause: 'outOfTime' });
 * // { phase: 'not-attempted', message: 'not attempted on its last receive: the invocation ran out of time before its turn' }
 */
export function lastReceiveReason(outcome: ComesBackOutcome): FailureReason {
  if (outcome.kind === 'notAttempted')
    return { phase: 'not-attempted', message: `not attempted on its last receive: ${NOT_ATTEMPTED[outcome.cause]}` };
  return outcome.reason;
}

/** The tag of an {@link Outcome}. */
export type OutcomeKind = Outcome['kind'];

/**
 * True when a refusal says the transaction holds too many recipients, so that the recipient may
 * well be taken in another transaction: reply code 452 or 552 (RFC 5321 4.5.3.1.10 names 452 and
 * tells clients to treat 552 the same, as temporary) together with either the enhanced status code
 * X.5.3 (RFC 3463 "Too many recipients") or, for relays that give no or another enhanced code,
 * the words "too many recipients" in the text. Other 452 replies (e.g. 4.3.1, out of storage) and
 * other 552 replies (e.g. 5.2.2, mailbox full; 5.3.4, too big) are not.
 *
 * @example
 * isTooManyRecipients({ code: 452, enhancedCode: '4.5.3', message: 'Error: too many recipients' }); // true
 * isTooManyRecipients({ code: 552, message: 'Too many recipients' }); // true
 * isTooManyRecipients({ code: 452, enhancedCode: '4.3.1', message: 'Insufficient system storage' }); // false
 */
export function isTooManyRecipients(refusal: Pick<RefusedRecipient, 'code' | 'enhancedCode' | 'message'>): boolean {
  if (refusal.code !== 452 && refusal.code !== 552) return false;
  return /^[45]\.5\.3$/.test(refusal.enhancedCode ?? '') || /too many recipients/i.test(refusal.message);
}

/** Refused for now: a 4xx, or "too many recipients" whatever its code (see {@link isTooManyRecipients}). */
export function refusedForNow(refusal: RefusedRecipient): boolean {
  return refusal.transient || isTooManyRecipients(refusal);
}

/**
 * Classifies a successful send: `delivered` when nobody was refused, else `partlyRefused` with the
 * refusals split into permanent (5xx) and for-now (4xx, and "too many recipients").
 */
export function outcomeOfResult(result: SendResult): Outcome {
  if (result.rejected.length === 0) return { kind: 'delivered', accepted: result.accepted.length };
  return {
    kind: 'partlyRefused',
    accepted: result.accepted.length,
    refusedPermanently: result.rejected.filter((r) => !refusedForNow(r)),
    refusedForNow: result.rejected.filter(refusedForNow),
  };
}

/**
 * Classifies an error from `send`.
 *
 * - `ambiguous` whenever the client says the data may have arrived;
 * - every recipient refused: all 4xx → `transient`, all 5xx → `permanent`, a mix → `partlyRefused`
 *   with nobody accepted (the 5xx ones are recorded, the 4xx ones re-enqueued on their own); a
 *   "too many recipients" refusal counts as 4xx whatever its code ({@link isTooManyRecipients});
 * - too large by the server's SIZE (no reply code) → `permanent`;
 * - otherwise by the error's `transient` flag (4xx, network, timeout → `transient`; 5xx → `permanent`);
 * - anything that is not an {@link SmtpError} → `transient` (retried, then redriven to the DLQ).
 */
export function outcomeOfSendError(error: unknown): Outcome {
  if (!(error instanceof SmtpError)) return { kind: 'transient', reason: unknownReason(error) };
  const reason = reasonOf(error);
  if (error.ambiguous) return { kind: 'ambiguous', reason };
  if (error instanceof RecipientsRefusedError && error.rejected.length > 0) {
    const forNow = error.rejected.filter(refusedForNow);
    const forGood = error.rejected.filter((r) => !refusedForNow(r));
    if (forGood.length === 0) return { kind: 'transient', reason };
    if (forNow.length === 0) return { kind: 'permanent', reason };
    return { kind: 'partlyRefused', accepted: 0, refusedPermanently: forGood, refusedForNow: forNow };
  }
  if (error instanceof MessageTooLargeError && (error.code === undefined || error.code >= 500)) return { kind: 'permanent', reason };
  return error.transient ? { kind: 'transient', reason } : { kind: 'permanent', reason };
}

/** Classifies a failure to set up the connection (connect, greeting, EHLO, STARTTLS, AUTH, settings): always `systemic`. */
export function outcomeOfConnectError(error: unknown): Outcome {
  return { kind: 'systemic', reason: error instanceof SmtpError ? reasonOf(error) : unknownReason(error) };
}

/**
 * True when the error means the connection is gone (dropped, closed by 421, timed out, or aborted
 * at the deadline): messages queued behind the one it hit were never tried.
 */
export function isConnectionLoss(error: unknown): boolean {
  return error instanceof ConnectionError || error instanceof TimeoutError;
}

/** True when the error is the relay refusing the credentials: the cached secret must be dropped. */
export function isAuthenticationFailure(error: unknown): boolean {
  return error instanceof AuthenticationError;
}

/** The phase, codes and text of an SMTP error. */
export function reasonOf(error: SmtpError): FailureReason {
  const reason: FailureReason = { phase: error.phase, message: error.message, error: error.name };
  if (error.code !== undefined) reason.code = error.code;
  if (error.enhancedCode !== undefined) reason.enhancedCode = error.enhancedCode;
  if (error instanceof RecipientsRefusedError && error.rejected.length > 0) reason.refused = error.rejected;
  return reason;
}

function unknownReason(error: unknown): FailureReason {
  return error instanceof Error ? { phase: 'unknown', message: error.message, error: error.name } : { phase: 'unknown', message: String(error) };
}

/** True for outcomes whose record must come back (in `batchItemFailures`). */
export function needsRetry(outcome: Outcome): boolean {
  return outcome.kind === 'transient' || outcome.kind === 'ambiguous' || outcome.kind === 'notAttempted' || outcome.kind === 'systemic';
}
