import MailComposer from 'nodemailer/lib/mail-composer';
import type { Envelope } from '../smtp/types.js';
import { parseAddress } from './address.js';
import { deriveEnvelope } from './envelope.js';
import { InvalidJobError } from './InvalidJobError.js';
import { messageIdFor } from './messageId.js';
import { isParsedMailJob, parseMailJob } from './parseMailJob.js';
import type { ComposeDefaults, ComposedMail, ComposedMailJob, ListUnsubscribeInput, MailAddress, MailJob, MailJobInput } from './types.js';

/**
 * Builds the message and envelope of a job. MIME is built by nodemailer's MailComposer:
 * text, html or both (multipart/alternative), attachments (multipart/mixed), inline images
 * referenced by `cid:` (multipart/related), RFC 2047 encoded words for non-ASCII headers,
 * quoted-printable or base64 bodies, lines folded well under 998 octets, CRLF line ends.
 * Headers get a `Date` and a `Message-ID` derived from the job `id` (see {@link messageIdFor}).
 * Bcc recipients go into the envelope only. A raw job is passed through with its own envelope.
 *
 * Accepts a job returned by {@link parseMailJob}, or a job as published, which is parsed first
 * (so is any other object, even one shaped like a parsed job: only parseMailJob's own results are trusted).
 * Asynchronous because MailComposer builds through a stream.
 * @throws {InvalidJobError} when the job is invalid, or has no `from` and `defaults.from` is not set or invalid.
 * @example
 * const { envelope, message } = await composeMail(parseMailJob(JSON.parse(body)), { from: config.from });
 * if (capabilities.size && message.byteLength > capabilities.size) throw new Error('too large');
 * await client.send(envelope, message);
 */
export async function composeMail(job: MailJob | MailJobInput, defaults: ComposeDefaults = {}): Promise<ComposedMail> {
  const parsed = isParsedMailJob(job) ? job : parseMailJob(job);
  if (parsed.kind === 'raw') {
    if (parsed.source !== undefined)
      throw new InvalidJobError([{ path: 'raw.message', message: 'is read from a file as the message is sent: send it with rawMailStream' }]);
    return { envelope: { from: parsed.envelope.from, to: [...parsed.envelope.to] }, message: new TextEncoder().encode(parsed.message) };
  }
  if (parsed.attachments.some((attachment) => attachment.s3 !== undefined || attachment.source !== undefined)) {
    const index = parsed.attachments.findIndex((attachment) => attachment.s3 !== undefined || attachment.source !== undefined);
    throw new InvalidJobError([
      { path: `attachments[${index}].s3`, message: 'is read from S3 as the message is sent: compose it with composeMailStream' },
    ]);
  }
  const from = parsed.from ?? defaultSender(defaults);
  // MAIL FROM: the job's bounce address when it has one; the From header stays `from`.
  const envelope: Envelope = deriveEnvelope(parsed.envelopeFrom === undefined ? from : { address: parsed.envelopeFrom }, [
    parsed.to,
    parsed.cc,
    parsed.bcc,
  ]);
  const messageId = messageIdFor(parsed.id, from.address.slice(from.address.lastIndexOf('@') + 1));
  const message = await new MailComposer(composerOptions(parsed, from, messageId, defaults.date ?? new Date())).compile().build();
  return { envelope, message: new Uint8Array(message.buffer, message.byteOffset, message.byteLength), messageId };
}

/** The configured default sender, checked. @throws {InvalidJobError} when it is not set or invalid */
export function defaultSender(defaults: ComposeDefaults): MailAddress {
  if (defaults.from === undefined) {
    throw new InvalidJobError([{ path: 'from', message: 'is missing and no default sender is configured' }]);
  }
  const result = parseAddress(defaults.from);
  if (!result.ok) throw new InvalidJobError([{ path: 'from', message: `is missing and the default sender ${result.problem}` }]);
  return result.address;
}

/**
 * `List-Unsubscribe` (RFC 2369) with the URL first, then the mailto, each in angle brackets, and for
 * a URL `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058). The values are ASCII without
 * spaces (checked by the schema), so they are written as they are (`prepared`), never encoded or folded.
 * @example
 * unsubscribeHeaders({ url: 'https://example.com/u/1', mailto: 'u@example.com' });
 * // [{ key: 'List-Unsubscribe', value: '<https://example.com/u/1>, <mailto:u@example.com>', prepared: true },
 * //  { key: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click', prepared: true }]
 */
export function unsubscribeHeaders(list: ListUnsubscribeInput | undefined): { key: string; value: string; prepared: true }[] {
  if (list === undefined) return [];
  const uris = [
    ...(list.url === undefined ? [] : [list.url]),
    ...(list.mailto === undefined ? [] : [/^mailto:/.test(list.mailto) ? list.mailto : `mailto:${list.mailto}`]),
  ];
  return [
    { key: 'List-Unsubscribe', value: uris.map((uri) => `<${uri}>`).join(', '), prepared: true },
    ...(list.url === undefined ? [] : [{ key: 'List-Unsubscribe-Post', value: 'List-Unsubscribe=One-Click', prepared: true as const }]),
  ];
}

/** The MailComposer options of a job: no file or URL access, CRLF, no Bcc header (also used by composeMailStream). */
export function composerOptions(job: ComposedMailJob, from: MailAddress, messageId: string, date: Date): MailComposer.Options {
  return {
    from,
    to: job.to,
    ...(job.cc.length > 0 ? { cc: job.cc } : {}),
    ...(job.replyTo.length > 0 ? { replyTo: job.replyTo } : {}),
    subject: job.subject,
    messageId,
    date,
    ...(job.text === undefined ? {} : { text: job.text }),
    ...(job.html === undefined ? {} : { html: job.html }),
    headers: [...job.headers.map(({ name, value }) => ({ key: name, value })), ...unsubscribeHeaders(job.listUnsubscribe)],
    attachments: job.attachments.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType,
      content: Buffer.from(attachment.content.buffer, attachment.content.byteOffset, attachment.content.byteLength),
      contentTransferEncoding: 'base64',
      ...(attachment.contentId === undefined ? { contentDisposition: 'attachment' } : { cid: attachment.contentId, contentDisposition: 'inline' }),
    })),
    disableFileAccess: true,
    disableUrlAccess: true,
    newline: 'win',
  };
}
