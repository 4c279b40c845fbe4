/**
 * Reading a DLQ message: the attributes the handler writes when it dead-letters a job
 * (lib/delivery/QueueActions.ts `deadLetter`), the job's id and recipient domains from the body,
 * and whether the body is a valid job; and matching it against a {@link DeadLetterFilter}.
 * @module
 */
import type { Message } from '@aws-sdk/client-sqs';
import { parseMailJob, readJobBody } from '../message/index.js';
import { PAYLOAD_SIZE_ATTRIBUTE, parsePayloadPointer } from '../message/payloadPointer.js';
import type { PayloadPointer } from '../message/payloadPointer.js';
import { pointerLocation } from './claimCheck.js';
import type { ClaimCheck, OffloadedJob } from './claimCheck.js';
import type { DeadLetter, DeadLetterFilter, DeadLetterReason } from './types.js';

/**
 * The attributes the handler puts on a dead-lettered job. A redriven copy carries none of them,
 * nor `MailRequeueCount` (see {@link REDRIVE_DROPPED_ATTRIBUTES}).
 */
export const DEAD_LETTER_ATTRIBUTES = [
  'FailurePhase',
  'FailureCode',
  'FailureEnhancedCode',
  'FailureMessage',
  'FailureError',
  'FailureKind',
  'Attempts',
  'SourceMessageId',
  'SourceReceiveCount',
  'JobId',
  'JobForm',
  'PendingRecipients',
  'DeliveredRecipients',
  'Tags',
] as const;

/**
 * Attributes a redriven copy does not carry to the mail queue: the dead-letter ones (the handler
 * reads none of them, but a copy that fails again gets fresh ones, and stale ones would mislead
 * whoever reads the DLQ next) and `MailRequeueCount`, the handler's count of re-enqueues of
 * recipients refused for now (lib/delivery/mailRecord.ts): an operator redrives a job once the
 * cause is fixed, so it starts again with the handler's whole re-enqueue budget rather than being
 * dead-lettered at its first refusal for now. Every other attribute (a producer's own) is kept.
 */
export const REDRIVE_DROPPED_ATTRIBUTES: ReadonlySet<string> = new Set([...DEAD_LETTER_ATTRIBUTES, 'MailRequeueCount']);

/**
 * Summarises a message received from the DLQ (received with `MessageAttributeNames: ['All']` and
 * `MessageSystemAttributeNames: ['All']`).
 * @example
 * const letter = readDeadLetter(message);
 * if (letter.source === 'sqs') console.log('moved by SQS after too many receives');
 */
export function readDeadLetter(message: Message): DeadLetter {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
  }
  const body = message.Body ?? '';
  const pointer = parsePayloadPointer(body);
  // A claim check (the job is in S3): valid as far as the body tells; whom it is for is in the
  // object (see applyClaimCheck).
  const job = pointer === undefined ? readJob(body) : { domains: [], valid: true };
  const phase = attributes['FailurePhase'];
  const letter: DeadLetter = {
    messageId: message.MessageId ?? '',
    sentAt: new Date(Number(message.Attributes?.SentTimestamp ?? 0)),
    source: phase === undefined ? 'sqs' : 'handler',
    recipientDomains: job.domains,
    invalid: attributes['FailureKind'] === 'invalid' || phase === 'job' || !job.valid,
    bodyBytes: Buffer.byteLength(body, 'utf8'),
    attributes,
  };
  const jobId = attributes['JobId'] ?? job.id;
  if (jobId !== undefined) letter.jobId = jobId;
  const tags = tagsOf(attributes['Tags']) ?? job.tags;
  if (tags !== undefined) letter.tags = tags;
  if (attributes['FailureKind'] !== undefined) letter.kind = attributes['FailureKind'];
  if (phase !== undefined) letter.reason = reasonOf(phase, attributes);
  const receives = numberOf(attributes['Attempts']) ?? numberOf(attributes['SourceReceiveCount']);
  if (receives !== undefined) letter.receives = receives;
  if (attributes['SourceMessageId'] !== undefined) letter.sourceMessageId = attributes['SourceMessageId'];
  if (attributes['JobForm'] !== undefined) {
    letter.part = { form: attributes['JobForm'] };
    const pending = numberOf(attributes['PendingRecipients']);
    const delivered = numberOf(attributes['DeliveredRecipients']);
    if (pending !== undefined) letter.part.pending = pending;
    if (delivered !== undefined) letter.part.delivered = delivered;
  }
  const group = message.Attributes?.MessageGroupId;
  if (group !== undefined) letter.messageGroupId = group;
  if (pointer !== undefined) {
    letter.claimCheck = { ...pointerLocation(pointer), state: 'not read' };
    const size = numberOf(message.MessageAttributes?.[PAYLOAD_SIZE_ATTRIBUTE]?.StringValue);
    if (size !== undefined) letter.claimCheck.bytes = size;
  }
  return letter;
}

/**
 * Gives a claim-check letter what reading its object gave: the claim check's state, and from a job
 * read its recipient domains (of the recipients the copy is for, when the pointer names them), job id
 * (unless the `JobId` attribute gave one), tags, subject and validity.
 * @example
 * const { claimCheck, job } = await readClaimCheck(s3, parsePayloadPointer(body)!);
 * applyClaimCheck(letter, claimCheck, job);
 */
export function applyClaimCheck(letter: DeadLetter, claimCheck: ClaimCheck, job: OffloadedJob | undefined, pointer?: PayloadPointer): void {
  letter.claimCheck = {
    ...claimCheck,
    ...(claimCheck.bytes === undefined && letter.claimCheck?.bytes !== undefined ? { bytes: letter.claimCheck.bytes } : {}),
  };
  if (job === undefined) return;
  const read = jobSummaryOf(job.input);
  letter.recipientDomains = pointer?.recipients === undefined ? read.domains : domainsOf(pointer.recipients);
  if (letter.jobId === undefined && read.id !== undefined) letter.jobId = read.id;
  if (letter.tags === undefined && read.tags !== undefined) letter.tags = read.tags;
  if (read.subject !== undefined) letter.subject = read.subject;
  if (!read.valid) letter.invalid = true;
}

function reasonOf(phase: string, attributes: Record<string, string>): DeadLetterReason {
  const reason: DeadLetterReason = { phase };
  const code = numberOf(attributes['FailureCode']);
  if (code !== undefined) reason.code = code;
  if (attributes['FailureEnhancedCode'] !== undefined) reason.enhancedCode = attributes['FailureEnhancedCode'];
  if (attributes['FailureMessage'] !== undefined) reason.message = attributes['FailureMessage'];
  if (attributes['FailureError'] !== undefined) reason.error = attributes['FailureError'];
  return reason;
}

function numberOf(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

/** What a letter tells of its job: id, recipient domains, tags, subject, and whether `parseMailJob` takes it. */
interface JobSummary {
  id?: string;
  domains: string[];
  valid: boolean;
  tags?: Record<string, string>;
  subject?: string;
}

function readJob(body: string): JobSummary {
  let input: unknown;
  try {
    input = readJobBody(body);
  } catch {
    return { domains: [], valid: false };
  }
  const { subject: _inBody, ...summary } = jobSummaryOf(input);
  return summary;
}

function jobSummaryOf(input: unknown): JobSummary {
  const id = typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
  const named = typeof id === 'string' && id !== '' ? { id } : {};
  try {
    const job = parseMailJob(input);
    const addresses = job.kind === 'raw' ? job.envelope.to : [...job.to, ...job.cc, ...job.bcc].map((a) => a.address);
    return {
      ...named,
      domains: domainsOf(addresses),
      valid: true,
      ...(job.tags === undefined ? {} : { tags: { ...job.tags } }),
      ...(job.kind === 'composed' ? { subject: job.subject } : {}),
    };
  } catch {
    return { ...named, domains: [], valid: false };
  }
}

/** The `Tags` attribute (a JSON object of strings), or `undefined` when absent or not that. */
function tagsOf(value: string | undefined): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
    const entries = Object.entries(parsed as Record<string, unknown>);
    return entries.every(([, tag]) => typeof tag === 'string') ? (Object.fromEntries(entries) as Record<string, string>) : undefined;
  } catch {
    return undefined;
  }
}

function domainsOf(addresses: readonly string[]): string[] {
  const domains = new Set(addresses.map((address) => address.slice(address.lastIndexOf('@') + 1).toLowerCase()));
  return [...domains].sort();
}

/** One line of text with every part of the reason, for `--reason` and for tables. */
export function reasonText(letter: DeadLetter): string {
  if (letter.reason === undefined) return letter.kind ?? 'moved by SQS after too many receives';
  const { phase, code, enhancedCode, message, error } = letter.reason;
  return [letter.kind, phase, code, enhancedCode, error, message].filter((part) => part !== undefined && part !== '').join(' ');
}

/**
 * True when the letter meets every criterion of the filter (an empty filter takes every letter).
 * @example
 * matchesFilter(letter, { code: '5xx', since: new Date(Date.now() - 2 * 3600_000) });
 */
export function matchesFilter(letter: DeadLetter, filter: DeadLetterFilter = {}): boolean {
  if (filter.job !== undefined && letter.jobId !== filter.job) return false;
  if (
    filter.tags !== undefined &&
    !Object.entries(filter.tags).every(([key, value]) => letter.tags !== undefined && Object.hasOwn(letter.tags, key) && letter.tags[key] === value)
  )
    return false;
  if (filter.since !== undefined && letter.sentAt.getTime() < filter.since.getTime()) return false;
  if (filter.reason !== undefined && !reasonText(letter).toLowerCase().includes(filter.reason.toLowerCase())) return false;
  if (filter.code !== undefined && !matchesCode(letter, filter.code.trim().toLowerCase())) return false;
  return true;
}

function matchesCode(letter: DeadLetter, wanted: string): boolean {
  const code = letter.reason?.code;
  const enhanced = letter.reason?.enhancedCode?.toLowerCase();
  if (/^[245]xx$/.test(wanted)) return code !== undefined && String(code)[0] === wanted[0];
  return (code !== undefined && String(code) === wanted) || enhanced === wanted;
}
