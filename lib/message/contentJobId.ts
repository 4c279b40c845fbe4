import { createHash, type Hash } from 'node:crypto';
import type { MailJob } from './types.js';

/** The start of every content-derived job id (a dot-atom, so the Message-ID shows it as is). */
export const CONTENT_JOB_ID_PREFIX = 'content.';

/**
 * The id of a job published without one, derived from its content: the SHA-256 of the checked
 * job (as {@link parseMailJob} returns it: addresses, domains and line ends normalised, every v1
 * field) written as canonical JSON (object keys sorted, binary content as base64), cut to 128 bits.
 * The same job published twice gets the same id, so the delivery ledger catches a producer's
 * double publish, and the message keeps one Message-ID across retries (`<content.…@domain>`).
 *
 * Two jobs that are meant to be two mails with the same content (the same text to the same people)
 * must carry ids of their own.
 *
 * `tags` and `delaySeconds` are left out: they say how the producer traces and schedules the job,
 * not what the mail is, so a producer retrying the same mail with other tags or another delay
 * publishes the same mail (one id, one Message-ID, caught by the ledger). `envelopeFrom` and
 * `listUnsubscribe` are part of the mail and count.
 *
 * @example
 * contentJobId(parseMailJob({ v: 1, to: 'a@example.com', subject: 'Hi', text: 'Hello' })); // 'content.3f1c…' (32 hex digits)
 */
export function contentJobId(job: MailJob): string {
  return contentJobIdOf(createHash('sha256').update(contentJobText(job)));
}

/**
 * The text {@link contentJobId} hashes: the job's canonical JSON, without `tags` and `delaySeconds`.
 * For a producer that hashes it in pieces (attachments' content streamed from files).
 */
export function contentJobText(job: MailJob): string {
  const { tags: _tags, delaySeconds: _delay, ...mail } = job;
  return canonicalJson(mail);
}

/** The job id of a SHA-256 fed with {@link contentJobText} (in one piece or several). */
export function contentJobIdOf(hash: Hash): string {
  return `${CONTENT_JOB_ID_PREFIX}${hash.digest('hex').slice(0, 32)}`;
}

/** JSON with object keys in sorted order, `undefined` fields left out and bytes as `{"base64":…}`. */
export function canonicalJson(value: unknown): string {
  if (value instanceof Uint8Array)
    return `{"base64":${JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64'))}}`;
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`);
    return `{${fields.join(',')}}`;
  }
  return value === undefined ? 'null' : JSON.stringify(value);
}
