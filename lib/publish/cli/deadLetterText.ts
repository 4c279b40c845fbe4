/**
 * How `mail-queue dlq` prints dead letters: a table for `list`, the full story for `show`, and
 * the JSON form of both. Pure functions over the operator library's values.
 * @module
 */
import type { ClaimCheck } from '../../operate/claimCheck.js';
import type { JobDescription } from '../../operate/describeJob.js';
import { DEFAULT_CLAIM_CHECKS_READ } from '../../operate/listDeadLetters.js';
import type { DeadLetter, RedriveSummary } from '../../operate/types.js';

/** Longest reason a table row shows (`show` and `--json` give it whole). */
const TABLE_REASON_CHARS = 72;

/** `2026-12-01 12:53:27` (UTC). */
export function utcTime(date: Date): string {
  return Number.isNaN(date.getTime()) || date.getTime() === 0 ? '-' : date.toISOString().slice(0, 19).replace('T', ' ');
}

/** Who put the letter in the DLQ, in words. */
export function sourceText(letter: DeadLetter): string {
  if (letter.source === 'sqs') return 'SQS (too many receives)';
  return letter.kind === undefined ? 'handler' : `handler (${letter.kind})`;
}

/** The reason in one line: phase, codes, error name, server text. */
export function reasonLine(letter: DeadLetter): string {
  const reason = letter.reason;
  if (reason === undefined) return 'moved by SQS after too many receives: no reason recorded';
  const head = [reason.phase, reason.code, reason.enhancedCode, reason.error].filter((part) => part !== undefined).join(' ');
  return reason.message === undefined ? head : `${head}: ${reason.message}`;
}

/** The table of `dlq list`, newest first as given, with a header row. */
export function deadLetterTable(letters: readonly DeadLetter[]): string {
  const rows = [
    ['FAILED (UTC)', 'JOB', 'SQS MESSAGE ID', 'RECEIVES', 'PUT THERE BY', 'REASON', 'RECIPIENT DOMAINS'],
    ...letters.map((letter) => [
      utcTime(letter.sentAt),
      letter.jobId ?? '-',
      letter.messageId,
      letter.receives === undefined ? '-' : String(letter.receives),
      sourceText(letter),
      shorten(reasonLine(letter), TABLE_REASON_CHARS),
      letter.recipientDomains.join(',') || '-',
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return (
    rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0))).join('  ')).join('\n') + '\n'
  );
}

/** The line under the table: how many, and who put them there. */
export function listFooter(letters: readonly DeadLetter[], looked: { max: number; reached: boolean }): string {
  const byHandler = letters.filter((letter) => letter.source === 'handler').length;
  const bySqs = letters.length - byHandler;
  const lines = [`${count(letters.length, 'dead letter')} (${byHandler} put there by the handler, ${bySqs} moved by SQS after too many receives)`];
  if (looked.reached) lines.push(`looked at the first ${looked.max} messages of the DLQ only: give --max for more`);
  return `${lines.join('\n')}\n`;
}

/** A dead letter as `--json` prints it: the library's fields, `sentAt` as an ISO string. */
export function deadLetterJson(letter: DeadLetter): Record<string, unknown> {
  const { messageId, jobId, sentAt, source, kind, reason, receives, recipientDomains, invalid, ...rest } = letter;
  return { messageId, jobId, sentAt: sentAt.toISOString(), source, kind, reason, receives, recipientDomains, invalid, ...rest };
}

/** The text of `dlq show` for one letter and its job. */
export function deadLetterDetail(letter: DeadLetter, job: JobDescription): string {
  const lines: string[] = [`dead letter ${letter.messageId}${letter.jobId === undefined ? '' : ` (job ${letter.jobId})`}`];
  const field = (name: string, value: string) => lines.push(`  ${name.padEnd(Math.max(18, name.length + 1))}${value}`);
  field('failed', `${utcTime(letter.sentAt)} UTC${letter.source === 'sqs' ? " (SQS keeps the job's first send time)" : ''}`);
  field('put there by', sourceText(letter));
  field('reason', reasonLine(letter));
  field('receives', letter.receives === undefined ? '-' : String(letter.receives));
  if (letter.sourceMessageId !== undefined) field('queue message id', letter.sourceMessageId);
  if (letter.part !== undefined) {
    field('copy', `${letter.part.form}: ${letter.part.pending ?? '?'} recipients pending, ${letter.part.delivered ?? '?'} delivered already`);
  }
  const claimCheck = letter.claimCheck;
  field(
    'body',
    `${letter.bodyBytes} octets${claimCheck === undefined ? '' : ': a claim check (the job is in S3)'}${letter.invalid ? ', not a valid job (redriven only when named by id)' : ''}`,
  );
  if (claimCheck !== undefined) field('job in S3', claimCheckText(claimCheck));
  lines.push('attributes');
  for (const [name, value] of Object.entries(letter.attributes).sort(([a], [b]) => a.localeCompare(b))) field(name, value);
  if (claimCheck !== undefined && claimCheck.state !== 'read') lines.push(`job (not read: it is in S3, ${claimCheck.location})`);
  else lines.push(...jobLines(job));
  return `${lines.join('\n')}\n`;
}

/**
 * The lines under `dlq list`'s table for letters whose body is a claim check: where each job is,
 * its size and subject, or why it could not be read. Empty when there is none.
 */
export function claimCheckLines(letters: readonly DeadLetter[]): string {
  const lines = ['claim checks (the job is in S3):'];
  for (const letter of letters) {
    if (letter.claimCheck === undefined) continue;
    const subject = letter.subject === undefined ? '' : `  "${shorten(letter.subject, TABLE_REASON_CHARS)}"`;
    lines.push(`  ${letter.messageId}  ${claimCheckText(letter.claimCheck)}${subject}`);
  }
  if (lines.length === 1) return '';
  return `${lines.join('\n')}\n`;
}

/** Where a claim check's job is, its size, and what reading it gave. */
function claimCheckText(claimCheck: ClaimCheck): string {
  const size = claimCheck.bytes === undefined ? '' : `, ${claimCheck.bytes} octets`;
  switch (claimCheck.state) {
    case 'read':
      return `${claimCheck.location}${size}`;
    case 'missing':
      return `${claimCheck.location}: MISSING (${claimCheck.problem ?? 'no such object'}): a redrive would be dead-lettered again, permanent`;
    case 'unreadable':
      return `${claimCheck.location}${size}: UNREADABLE (${claimCheck.problem ?? 'unknown'})`;
    case 'not read':
      return `${claimCheck.location}${size}: not read (a listing reads ${DEFAULT_CLAIM_CHECKS_READ} at most: dlq show <id> reads it)`;
  }
}

function jobLines(job: JobDescription): string[] {
  const lines: string[] = [];
  const field = (name: string, value: string) => lines.push(`  ${name.padEnd(18)}${value}`);
  if (job.form === 'invalid') {
    lines.push('job (not valid)');
    for (const problem of job.problems) lines.push(`  ${problem}`);
    return lines;
  }
  if (job.form === 'raw') {
    lines.push('job (raw message)');
    field('envelope from', job.envelope.from === '' ? '<>' : job.envelope.from);
    field('envelope to', job.envelope.to.join(', '));
    field('message', `${job.messageBytes} octets`);
    lines.push('headers of the message');
    for (const header of job.headers) lines.push(`  ${header}`);
    return lines;
  }
  lines.push('job (composed)');
  field('from', job.from ?? "(the function's configured sender)");
  field('to', job.to.join(', ') || '-');
  if (job.cc.length > 0) field('cc', job.cc.join(', '));
  if (job.bcc.length > 0) field('bcc', job.bcc.join(', '));
  field('subject', job.subject);
  for (const part of job.parts) {
    const name = part.kind === 'attachment' ? `attachment` : part.kind;
    const what =
      part.kind === 'attachment'
        ? `${part.filename ?? ''} (${part.contentType ?? ''}${part.contentId === undefined ? '' : `, inline ${part.contentId}`}), `
        : '';
    field(name, `${what}${part.bytes} octets`);
  }
  if (job.extraHeaders.length > 0) field('extra headers', job.extraHeaders.join(', '));
  lines.push(
    `headers of the message it becomes (Date: when it is sent${job.from === undefined ? "; the sender's address stands for the function's configured sender" : ''})`,
  );
  for (const header of job.headers) lines.push(`  ${header}`);
  return lines;
}

/** The summary of a redrive as `--json` prints it. */
export function redriveJson(summary: RedriveSummary): Record<string, unknown> {
  return {
    ...summary,
    letters: summary.letters.map(deadLetterJson),
    skippedInvalid: summary.skippedInvalid.map(deadLetterJson),
    notSent: summary.notSent.map(({ letter, reason }) => ({ letter: deadLetterJson(letter), reason })),
    notDeleted: summary.notDeleted.map(({ letter, reason }) => ({ letter: deadLetterJson(letter), reason })),
  };
}

/** The summary of a redrive in words: what went, what stayed and why. */
export function redriveReport(summary: RedriveSummary, queueUrl: string): string {
  const name = (letter: DeadLetter) => `${letter.jobId ?? '(no job id)'} ${letter.messageId}`;
  const lines = summary.dryRun
    ? [
        `dry run: would redrive ${summary.letters.length} of ${summary.examined} dead letters looked at to ${queueUrl}`,
        ...summary.letters.map((l) => `  ${name(l)}  ${reasonLine(l)}`),
      ]
    : [`redrove ${summary.redriven} of ${summary.examined} dead letters looked at to ${queueUrl}`];
  const section = (title: string, items: string[]) => {
    if (items.length > 0) lines.push(title, ...items.map((item) => `  ${item}`));
  };
  section('left in the DLQ, body not a valid job (name it by id to redrive it anyway):', summary.skippedInvalid.map(name));
  section(
    'not taken by the mail queue (still in the DLQ only):',
    summary.notSent.map(({ letter, reason }) => `${name(letter)}: ${reason}`),
  );
  section(
    'sent to the mail queue but not deleted from the DLQ (now in both: purge it with --job, or it is delivered twice if redriven again):',
    summary.notDeleted.map(({ letter, reason }) => `${name(letter)}: ${reason}`),
  );
  section('not found in the DLQ:', summary.notFound);
  section(
    'whole jobs that some recipients took already (JobForm original): they get it again unless the delivery ledger knows them:',
    summary.letters
      .filter((letter) => letter.part?.form === 'original' && (letter.part.delivered ?? 0) > 0)
      .map((letter) => `${name(letter)}: ${letter.part?.delivered ?? 0} delivered, ${letter.part?.pending ?? 0} pending`),
  );
  return `${lines.join('\n')}\n`;
}

function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
