/**
 * What the local run reads in the handler's logs: the `mail job` line lib/delivery/report.ts
 * writes for each record (outcome, placement, reason, backoff, re-enqueued recipients), and the
 * short texts the live view and the job view make of it.
 * @module
 */
import type { JobAttempt } from './RunActivity.js';

/** The attributes of a handler's `mail job` log line that are shown (lib/delivery/report.ts writes them). */
export interface MailJobLog {
  outcome?: string;
  placement?: string;
  sqsMessageId?: string;
  jobId?: string;
  receiveCount?: number;
  accepted?: number;
  refused?: { domain?: string; code?: number; transient?: boolean }[];
  cause?: string;
  reason?: { phase?: string; code?: number; text?: string; refused?: { domain?: string; code?: number }[] };
  requeuedRecipients?: number;
  backoffSeconds?: number;
  problem?: string;
  /** Dead-lettered by the handler on its last receive (`MAIL_MAX_RECEIVES`) instead of coming back. */
  lastReceive?: boolean;
  /** Recipients of a `suppressed` (or `duplicateSuppressed`) job. */
  recipients?: number;
  /** Recipients outside `MAIL_ALLOWED_RECIPIENTS`, left out, and their domains (never the addresses). */
  suppressedRecipients?: number;
  suppressedDomains?: string[];
}

/** The part of a delivered job's event that says which recipients were left out (outside the allow-list), or `''`. */
export function suppressedNote(log: MailJobLog): string {
  const count = log.suppressedRecipients ?? 0;
  if (count === 0) return '';
  return `; ${count} suppressed, outside allowedRecipients: ${(log.suppressedDomains ?? []).join(', ') || '?'}`;
}

/** The handler's `mail job` lines of an invocation, by SQS message id. */
export function mailJobLogs(lines: readonly string[]): Map<string, MailJobLog> {
  const byId = new Map<string, MailJobLog>();
  for (const line of lines) {
    if (!line.startsWith('{')) continue;
    try {
      const parsed = JSON.parse(line) as MailJobLog & { message?: string };
      if (parsed.message === 'mail job' && typeof parsed.sqsMessageId === 'string') byId.set(parsed.sqsMessageId, parsed);
    } catch {
      // not a JSON line
    }
  }
  return byId;
}

/** What a job's attempt keeps of the handler's log line. */
export function attemptOf(log: MailJobLog | undefined): Partial<JobAttempt> {
  if (log === undefined) return {};
  const attempt: Partial<JobAttempt> = {};
  if (log.outcome !== undefined) attempt.outcome = log.outcome;
  if (log.reason !== undefined || log.problem !== undefined || log.cause !== undefined) attempt.reason = reasonText(log);
  if (log.backoffSeconds !== undefined) attempt.backoffSeconds = log.backoffSeconds;
  if (log.requeuedRecipients !== undefined) attempt.requeuedRecipients = log.requeuedRecipients;
  return attempt;
}

/** The reason on one line: the invalid job's problem, or `phase code: server text`, or the cause. */
export function reasonText(log: MailJobLog): string {
  if (log.problem !== undefined) return log.problem;
  const reason = log.reason;
  if (reason === undefined) return log.cause ?? 'no reason logged';
  return `${reason.phase ?? '?'}${reason.code === undefined ? '' : ` ${reason.code}`}: ${reason.text ?? ''}`.trim();
}

/** What a retried job's event says: why, and when it comes back. */
export function retryDetail(log: MailJobLog | undefined): string {
  if (log === undefined) return 'in batchItemFailures';
  const what = log.outcome === 'notAttempted' ? `not attempted (${log.cause ?? '?'})` : `${log.outcome ?? '?'}, ${reasonText(log)}`;
  const when = log.backoffSeconds === undefined ? 'back after the visibility timeout' : `back in ${log.backoffSeconds} s`;
  return `${what}; ${when}`;
}
