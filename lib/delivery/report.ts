/**
 * What a batch leaves in the logs and metrics: one structured line per record (outcome, SQS
 * message id, job id; never a body, a credential or an address beyond its domain), an error line
 * for alarms when the relay cannot be reached, and CloudWatch metrics.
 * @module
 */
import type { BatchReport, RecordResult } from './types.js';
import type { RefusedRecipient } from '../smtp/types.js';
import type { FailureReason } from './outcome.js';

/** The logger the report writes to (Powertools' `Logger` fits). */
export interface DeliveryLog {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

/** The metrics the report adds to (Powertools' `Metrics` fits; it writes the embedded metric format). */
export interface DeliveryMetrics {
  addMetric(name: string, unit: 'Count' | 'Milliseconds', value: number): void;
}

/** Names of the metrics, in one place for dashboards and alarms. */
export const METRIC = {
  delivered: 'Delivered',
  retried: 'Retried',
  deadLettered: 'DeadLettered',
  recipientsRefused: 'RecipientsRefused',
  recipientsRequeued: 'RecipientsRequeued',
  possibleDuplicates: 'PossibleDuplicates',
  /** Jobs not sent because the delivery ledger says every recipient has them already. */
  duplicatesSuppressed: 'DuplicatesSuppressed',
  /** Jobs sent or settled without the delivery ledger, which could not be reached (at-least-once). */
  ledgerUnavailable: 'LedgerUnavailable',
  /**
   * Recipients not sent to because they are outside the environment's `MAIL_ALLOWED_RECIPIENTS`,
   * counted when their record leaves the queue (done or dead-lettered; a retried record counts on the receive that settles it).
   */
  recipientsSuppressed: 'RecipientsSuppressed',
  systemicFailures: 'SystemicFailures',
  batchDuration: 'BatchDuration',
  roundTrips: 'RoundTrips',
} as const;

// A local part (plain, with quotes or apostrophes, or quoted with spaces), then the domain: a name
// (any script) or an address literal. The lookbehind starts a plain local part only where a run of
// its characters starts: the leftmost match is the same, and a long run without `@` (a hostile
// reply) is scanned once, not once per position (linear, not quadratic).
const ADDRESS = /(?:"[^"\r\n]*"|(?<![^\s<>"(),;:[\]])[^\s<>"(),;:[\]]+)@(\[[^\]\s]*\]|[^\s<>"'(),;:[\]]+)/gu;

/**
 * Replaces every address in a text by `…@domain`, so that server replies such as
 * `550 5.1.1 <bob@example.com>: unknown user` can be logged.
 * @example
 * redactAddresses('550 <bob@example.com> unknown'); // '550 <…@example.com> unknown'
 */
export function redactAddresses(text: string): string {
  return text.replace(ADDRESS, '…@$1');
}

/** The domain of an address (the part after the last `@`), lower case; `''` for the null sender. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at === -1 ? '' : address.slice(at + 1).toLowerCase();
}

/**
 * Writes the batch's log lines and metrics.
 * @example
 * const report = await deliverBatch(event.Records, remaining, delivery);
 * reportBatch(report, logger, metrics);
 */
export function reportBatch(report: BatchReport, log: DeliveryLog, metrics: DeliveryMetrics): void {
  if (report.systemic !== undefined) {
    log.error(
      'systemic failure: the SMTP connection could not be set up; every job of the batch is retried (or dead-lettered, on its last receive)',
      {
        reason: loggedReason(report.systemic),
        records: report.results.length,
      },
    );
    metrics.addMetric(METRIC.systemicFailures, 'Count', 1);
  }
  if (report.ledger !== undefined && report.ledger.unavailable > 0) {
    log.warn('the delivery ledger could not be reached: jobs sent without it (at-least-once, duplicates possible)', {
      jobs: report.ledger.unavailable,
      ...(report.ledger.problem === undefined ? {} : { problem: redactAddresses(report.ledger.problem) }),
    });
  }
  let delivered = 0;
  let suppressed = 0;
  let retried = 0;
  let deadLettered = 0;
  let refused = 0;
  let requeued = 0;
  let duplicates = 0;
  let outsideAllowList = 0;
  for (const result of report.results) {
    logRecord(result, log);
    const { outcome } = result;
    if (outcome.kind === 'delivered' || (outcome.kind === 'partlyRefused' && outcome.accepted > 0)) delivered += 1;
    if (outcome.kind === 'partlyRefused') refused += outcome.refusedPermanently.length + outcome.refusedForNow.length;
    else if ('reason' in outcome) refused += outcome.reason.refused?.length ?? 0;
    if (outcome.kind === 'ambiguous') duplicates += 1;
    if (outcome.kind === 'duplicateSuppressed') suppressed += 1;
    if (result.placement === 'retry') retried += 1;
    if (result.placement === 'deadLettered') deadLettered += 1;
    requeued += result.requeued ?? 0;
    if (result.placement !== 'retry') outsideAllowList += result.suppressed?.length ?? 0;
  }
  metrics.addMetric(METRIC.delivered, 'Count', delivered);
  metrics.addMetric(METRIC.retried, 'Count', retried);
  metrics.addMetric(METRIC.deadLettered, 'Count', deadLettered);
  metrics.addMetric(METRIC.recipientsRefused, 'Count', refused);
  metrics.addMetric(METRIC.recipientsRequeued, 'Count', requeued);
  metrics.addMetric(METRIC.possibleDuplicates, 'Count', duplicates);
  metrics.addMetric(METRIC.recipientsSuppressed, 'Count', outsideAllowList);
  if (report.ledger !== undefined) {
    metrics.addMetric(METRIC.duplicatesSuppressed, 'Count', suppressed);
    metrics.addMetric(METRIC.ledgerUnavailable, 'Count', report.ledger.unavailable);
  }
  metrics.addMetric(METRIC.batchDuration, 'Milliseconds', report.durationMs);
  if (report.roundTrips !== undefined) metrics.addMetric(METRIC.roundTrips, 'Count', report.roundTrips);
}

/** The attributes of one record's log line: never a body, a credential or a full address. */
export function recordLogAttributes(result: RecordResult): Record<string, unknown> {
  const { outcome } = result;
  const line: Record<string, unknown> = {
    outcome: outcome.kind,
    placement: result.placement,
    sqsMessageId: result.messageId,
    receiveCount: result.receiveCount,
  };
  if (result.jobId !== undefined) line['jobId'] = redactAddresses(result.jobId);
  switch (outcome.kind) {
    case 'delivered':
      line['accepted'] = outcome.accepted;
      break;
    case 'partlyRefused':
      line['accepted'] = outcome.accepted;
      line['refused'] = loggedRefusals([...outcome.refusedPermanently, ...outcome.refusedForNow]);
      break;
    case 'notAttempted':
      line['cause'] = outcome.cause;
      break;
    case 'duplicateSuppressed':
    case 'suppressed':
      line['recipients'] = outcome.recipients;
      break;
    case 'ambiguous':
      line['reason'] = loggedReason(outcome.reason);
      line['possibleDuplicate'] = true;
      break;
    case 'transient':
    case 'permanent':
    case 'systemic':
      line['reason'] = loggedReason(outcome.reason);
      break;
  }
  if (result.requeued !== undefined) line['requeuedRecipients'] = result.requeued;
  if (result.backoffSeconds !== undefined) line['backoffSeconds'] = result.backoffSeconds;
  if (result.lastReceive === true) line['lastReceive'] = true;
  if (result.problem !== undefined) line['problem'] = redactAddresses(result.problem);
  if (result.suppressed !== undefined && result.suppressed.length > 0) {
    // Outside MAIL_ALLOWED_RECIPIENTS: how many, and their domains (never the addresses).
    line['suppressedRecipients'] = result.suppressed.length;
    line['suppressedDomains'] = [...new Set(result.suppressed.map(domainOf))];
  }
  if (result.tags !== undefined) line['tags'] = result.tags;
  return line;
}

function logRecord(result: RecordResult, log: DeliveryLog): void {
  const line = recordLogAttributes(result);
  if (result.problem !== undefined) log.error('mail job', line);
  else if (
    result.outcome.kind === 'delivered' ||
    result.outcome.kind === 'partlyRefused' ||
    result.outcome.kind === 'duplicateSuppressed' ||
    result.outcome.kind === 'suppressed'
  )
    log.info('mail job', line);
  else log.warn('mail job', line);
}

function loggedReason(reason: FailureReason): Record<string, unknown> {
  return {
    phase: reason.phase,
    ...(reason.code === undefined ? {} : { code: reason.code }),
    ...(reason.enhancedCode === undefined ? {} : { enhancedCode: reason.enhancedCode }),
    ...(reason.error === undefined ? {} : { error: reason.error }),
    // An invalid job's text quotes the job (names, addresses cut anywhere): its paths go instead,
    // and its problems with every quoted value hidden.
    ...(reason.phase === 'job' ? invalidJobReason(reason) : { text: redactAddresses(reason.message).slice(0, MAX_LOGGED_TEXT) }),
    ...(reason.refused === undefined ? {} : { refused: loggedRefusals(reason.refused) }),
  };
}

/** Longest reason text a log line holds. */
const MAX_LOGGED_TEXT = 500;

/** What a log line says of an invalid job: the paths of its problems and, when known, the problems themselves. */
function invalidJobReason(reason: FailureReason): Record<string, unknown> {
  const paths = loggedPaths(reason.paths ?? []);
  return reason.issues === undefined || reason.issues.length === 0 ? { paths } : { paths, text: loggedIssues(reason.issues, reason.issueCount) };
}

/** A value the job format quotes in a problem (`"Robert <robert@…"`, JSON-escaped by `quoteValue`). */
const QUOTED_VALUE = /"(?:[^"\\]|\\.)*"/gu;

/**
 * The problems of an invalid job as logged, `path: message; …` (`to: is required`): every quoted
 * value hidden (`"…"`: they quote names, addresses, header names of the job), any address left
 * reduced to its domain, an unsafe path shown as `(hidden)`; at most {@link MAX_LOGGED_TEXT}
 * characters, then how many more problems there were.
 */
export function loggedIssues(issues: readonly { path: string; message: string }[], count = issues.length): string {
  const texts = issues.map(({ path, message }) => {
    const shown = redactAddresses(message.replace(QUOTED_VALUE, '"…"'));
    if (path === '' || path === '(job)') return shown;
    return `${path.length <= 200 && SAFE_PATH.test(path) ? path : '(hidden)'}: ${shown}`;
  });
  const total = Math.max(count, texts.length);
  const more = (shown: number): string => (shown < total ? `; (${total - shown} more)` : '');
  let text = '';
  for (const [index, next] of texts.entries()) {
    const joined = index === 0 ? next : `${text}; ${next}`;
    if (joined.length + more(index + 1).length > MAX_LOGGED_TEXT) {
      // The first problem alone is too long: cut it.
      if (index === 0) return `${next.slice(0, MAX_LOGGED_TEXT - more(1).length - 1)}…${more(1)}`;
      return `${text}${more(index)}`;
    }
    text = joined;
  }
  return text;
}

/** Most paths of an invalid job a log line holds (an InvalidJobError lists 20 problems and a summary). */
const MAX_LOGGED_PATHS = 21;
/** What a path of a job issue is made of: field names, indices, `*` for a key the producer chose, `(job)`. */
const SAFE_PATH = /^(?:\(job\)|(?:[A-Za-z][A-Za-z0-9]*|\[\d+\]|\.[A-Za-z][A-Za-z0-9]*|\.?\*)+)$/;

/**
 * The paths of an invalid job as logged: at most {@link MAX_LOGGED_PATHS}, then how many more, and
 * `(hidden)` for one that is not made of field names and indices (it could quote the job).
 */
function loggedPaths(paths: readonly string[]): string[] {
  const shown = paths.slice(0, MAX_LOGGED_PATHS).map((path) => (path.length <= 200 && SAFE_PATH.test(path) ? path : '(hidden)'));
  return paths.length > MAX_LOGGED_PATHS ? [...shown, `(${paths.length - MAX_LOGGED_PATHS} more)`] : shown;
}

function loggedRefusals(refused: readonly RefusedRecipient[]): Record<string, unknown>[] {
  return refused.map((r) => ({
    domain: domainOf(r.recipient),
    code: r.code,
    ...(r.enhancedCode === undefined ? {} : { enhancedCode: r.enhancedCode }),
    transient: r.transient,
  }));
}
