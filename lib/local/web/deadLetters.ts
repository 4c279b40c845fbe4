/**
 * The dead-letter queue as the page's "Dead letters" tab shows it: one row per job with why it is
 * there (the reason the handler attached, or "moved by SQS" when SQS's redrive put it there after
 * too many receives with nothing attached), read from the emulator's non-destructive view of the
 * queue, so looking never changes a job's receive count.
 * @module
 */
import { jobSummary } from '../jobSummary.js';
import type { HeldMessage } from '../LocalSqs.js';

/** One job in the dead-letter queue. */
export interface DeadLetterRow {
  /** Its message id in the dead-letter queue (what a redrive names). */
  messageId: string;
  /** Its message id in the mail queue when it failed (the Jobs tab's row). */
  sourceMessageId: string;
  jobId?: string;
  subject: string;
  recipients: string[];
  /** When it reached the dead-letter queue. */
  failedAt?: string;
  /** Receives in the mail queue before it landed here. */
  receives: number;
  /** `handler` when the function put it there with a reason; `SQS` when SQS's redrive moved it. */
  placedBy: 'handler' | 'SQS';
  /** `permanent`, `last-receive`, `invalid` (the handler's FailureKind), or `moved by SQS`. */
  kind: string;
  /** Phase, codes, server text and error class on one line. */
  reason: string;
  /** Every message attribute, as text. */
  attributes: Record<string, string>;
}

/**
 * The rows of what the dead-letter queue holds, newest first.
 * @example
 * deadLetterRows(activity.deadLetters())[0].reason; // 'rcpt 550 5.1.1: Mailbox unavailable (RecipientsRefusedError)'
 */
export function deadLetterRows(messages: readonly HeldMessage[]): DeadLetterRow[] {
  return messages.map(deadLetterRow).sort((a, b) => ((a.failedAt ?? '') < (b.failedAt ?? '') ? 1 : (a.failedAt ?? '') > (b.failedAt ?? '') ? -1 : 0));
}

function deadLetterRow(message: HeldMessage): DeadLetterRow {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.messageAttributes)) attributes[name] = value.StringValue ?? `(${value.DataType})`;
  const summary = jobSummary(message.body);
  const phase = attributes['FailurePhase'];
  const placedBy = phase === undefined ? 'SQS' : 'handler';
  const row: DeadLetterRow = {
    messageId: message.messageId,
    sourceMessageId: attributes['SourceMessageId'] ?? message.messageId,
    subject: summary.subject,
    recipients: summary.recipients,
    receives: Number(attributes['SourceReceiveCount'] ?? attributes['Attempts'] ?? message.approximateReceiveCount),
    placedBy,
    kind: attributes['FailureKind'] ?? (placedBy === 'SQS' ? 'moved by SQS' : phase === 'job' ? 'invalid' : 'permanent'),
    reason: placedBy === 'SQS' ? 'moved by SQS after too many receives: no reason attached' : reasonOf(attributes),
    attributes,
  };
  const jobId = attributes['JobId'] ?? summary.jobId;
  if (jobId !== undefined) row.jobId = jobId;
  if (message.sentTimestamp !== undefined) row.failedAt = new Date(message.sentTimestamp).toISOString();
  return row;
}

function reasonOf(attributes: Record<string, string>): string {
  const codes = [attributes['FailureCode'], attributes['FailureEnhancedCode']].filter((code) => code !== undefined).join(' ');
  const error = attributes['FailureError'] === undefined ? '' : ` (${attributes['FailureError']})`;
  return `${attributes['FailurePhase'] ?? '?'}${codes === '' ? '' : ` ${codes}`}: ${attributes['FailureMessage'] ?? ''}${error}`;
}

/** The searchable text of a row: ids, subject, recipients and the reason. */
export function deadLetterText(row: DeadLetterRow): string {
  return [row.messageId, row.sourceMessageId, row.jobId ?? '', row.subject, ...row.recipients, row.reason, row.kind].join(' ');
}
