/**
 * The dead-letter queue as the page's "Dead letters" tab shows it: one row per job with why it is
 * there (the reason the handler attached, or "moved by SQS" when SQS's redrive put it there after
 * too many receives with nothing attached), read from the emulator's non-destructive view of the
 * queue, so looking never changes a job's receive count.
 * @module
 */
import { readDeadLetter } from '../../operate/index.js';
import type { DeadLetterReason } from '../../operate/index.js';
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
  /** Every message attribute with a text value. */
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
  // Read as `mail-queue dlq list` reads it (lib/operate), from the emulator's view of the message.
  const letter = readDeadLetter({
    MessageId: message.messageId,
    Body: message.body,
    MessageAttributes: message.messageAttributes,
    ...(message.sentTimestamp === undefined ? {} : { Attributes: { SentTimestamp: String(message.sentTimestamp) } }),
  });
  const summary = jobSummary(message.body);
  const row: DeadLetterRow = {
    messageId: message.messageId,
    sourceMessageId: letter.sourceMessageId ?? message.messageId,
    subject: summary.subject,
    recipients: summary.recipients,
    receives: letter.receives ?? message.approximateReceiveCount,
    placedBy: letter.source === 'sqs' ? 'SQS' : 'handler',
    kind: letter.kind ?? (letter.source === 'sqs' ? 'moved by SQS' : letter.invalid ? 'invalid' : 'permanent'),
    reason: letter.reason === undefined ? 'moved by SQS after too many receives: no reason attached' : reasonLine(letter.reason),
    attributes: letter.attributes,
  };
  if (letter.jobId !== undefined) row.jobId = letter.jobId;
  if (message.sentTimestamp !== undefined) row.failedAt = letter.sentAt.toISOString();
  return row;
}

/** `rcpt 550 5.1.1: the server's text (RecipientsRefusedError)`. */
function reasonLine(reason: DeadLetterReason): string {
  const codes = [reason.code, reason.enhancedCode].filter((code) => code !== undefined).join(' ');
  const error = reason.error === undefined ? '' : ` (${reason.error})`;
  return `${reason.phase}${codes === '' ? '' : ` ${codes}`}: ${reason.message ?? ''}${error}`;
}

/** The searchable text of a row: ids, subject, recipients and the reason. */
export function deadLetterText(row: DeadLetterRow): string {
  return [row.messageId, row.sourceMessageId, row.jobId ?? '', row.subject, ...row.recipients, row.reason, row.kind].join(' ');
}
