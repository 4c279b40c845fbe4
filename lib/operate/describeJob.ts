/**
 * What an operator needs to see of a dead-lettered job without its content: who it is from and
 * for, the parts and their sizes, and the header block of the message it becomes.
 * @module
 */
import { composeMail, InvalidJobError, parseMailJob, readJobBody, formatIssue } from '../message/index.js';
import type { MailAddress } from '../message/index.js';

/** Stands for the function's configured sender when a job has no `from` (the `.invalid` TLD never resolves). */
export const CONFIGURED_SENDER_PLACEHOLDER = 'configured-sender@configured.invalid';

/** One part of a job: a body or an attachment, with its size in octets (decoded). */
export interface JobPart {
  /** `text`, `html`, or `attachment`. */
  kind: 'text' | 'html' | 'attachment';
  bytes: number;
  filename?: string;
  contentType?: string;
  contentId?: string;
}

/** A job summarised; see {@link describeJob}. */
export type JobDescription =
  | {
      form: 'composed';
      jobId?: string;
      /** Absent: the function's configured sender. */
      from?: string;
      to: string[];
      cc: string[];
      bcc: string[];
      subject: string;
      parts: JobPart[];
      /** Extra header fields the job sets (`headers`). */
      extraHeaders: string[];
      /** The header block of the composed message (CRLF-free lines); its Date is when it was composed here. */
      headers: string[];
    }
  | { form: 'raw'; jobId?: string; envelope: { from: string; to: string[] }; messageBytes: number; headers: string[] }
  | { form: 'invalid'; jobId?: string; problems: string[] };

/**
 * Summarises a job body: for a composed job its addresses, subject and parts (sizes only, never
 * content) and the header block `composeMail` builds for it (with {@link CONFIGURED_SENDER_PLACEHOLDER}
 * as the sender when the job has none); for a raw job its envelope and its message's header
 * block; for a body that is not a valid job, the problems `parseMailJob` finds.
 * @example
 * const description = await describeJob(found.body);
 * if (description.form !== 'invalid') console.log(description.headers.join('\n'));
 */
export async function describeJob(body: string): Promise<JobDescription> {
  let input: unknown;
  try {
    input = readJobBody(body);
  } catch (error) {
    return { form: 'invalid', problems: problemsOf(error, 'the body is not JSON') };
  }
  return describeJobInput(input);
}

/**
 * Summarises a job already parsed from its JSON, as {@link describeJob} does: for a claim check's
 * job read from S3 (claimCheck.ts), whose attachments' content is `""`, `attachmentBytes` gives
 * each attachment's size by its index.
 * @example
 * const description = await describeJobInput(offloaded.input, offloaded.attachmentBytes);
 */
export async function describeJobInput(input: unknown, attachmentBytes?: ReadonlyMap<number, number>): Promise<JobDescription> {
  const id = typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
  const named = typeof id === 'string' && id !== '' ? { jobId: id } : {};
  let job;
  try {
    job = parseMailJob(input);
  } catch (error) {
    return { form: 'invalid', ...named, problems: problemsOf(error, 'not a valid mail job') };
  }
  if (job.kind === 'raw') {
    return {
      form: 'raw',
      ...named,
      envelope: { from: job.envelope.from, to: [...job.envelope.to] },
      // A claim check's raw message is in a file (job.message is then its header section).
      messageBytes: job.source?.size ?? Buffer.byteLength(job.message, 'utf8'),
      headers: headerLines(job.message),
    };
  }
  const composed = await composeMail(job, { from: CONFIGURED_SENDER_PLACEHOLDER });
  const parts: JobPart[] = [];
  if (job.text !== undefined) parts.push({ kind: 'text', bytes: Buffer.byteLength(job.text, 'utf8') });
  if (job.html !== undefined) parts.push({ kind: 'html', bytes: Buffer.byteLength(job.html, 'utf8') });
  for (const [index, attachment] of job.attachments.entries()) {
    parts.push({
      kind: 'attachment',
      bytes: attachmentBytes?.get(index) ?? attachment.content.byteLength,
      filename: attachment.filename,
      contentType: attachment.contentType,
      ...(attachment.contentId === undefined ? {} : { contentId: attachment.contentId }),
    });
  }
  return {
    form: 'composed',
    ...named,
    ...(job.from === undefined ? {} : { from: addressText(job.from) }),
    to: job.to.map(addressText),
    cc: job.cc.map(addressText),
    bcc: job.bcc.map(addressText),
    subject: job.subject,
    parts,
    extraHeaders: job.headers.map((header) => header.name),
    headers: headerLines(new TextDecoder().decode(composed.message)),
  };
}

function addressText(address: MailAddress): string {
  return address.name === undefined ? address.address : `${address.name} <${address.address}>`;
}

/** The header block of a message, one field per line (folded lines joined). */
function headerLines(message: string): string[] {
  const end = message.search(/\r?\n\r?\n/);
  const block = end === -1 ? message : message.slice(0, end);
  return block
    .replace(/\r?\n(?=[ \t])/g, '')
    .split(/\r?\n/)
    .filter((line) => line !== '');
}

function problemsOf(error: unknown, fallback: string): string[] {
  if (error instanceof InvalidJobError) return error.issues.map((issue) => formatIssue(issue));
  return [error instanceof Error && error.message !== '' ? `${fallback}: ${error.message}` : fallback];
}
