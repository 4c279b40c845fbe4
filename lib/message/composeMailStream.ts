/**
 * A job's message composed as a stream, for messages too large to hold in memory (attachments of
 * tens of megabytes read from S3 or from files): nodemailer's MailComposer reads each attachment
 * as a stream and base64-encodes it on the fly.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Envelope, MessageStream } from '../smtp/types.js';
import { composerOptions, defaultSender } from './composeMail.js';
import { deriveEnvelope } from './envelope.js';
import { InvalidJobError } from './InvalidJobError.js';
import { messageIdFor } from './messageId.js';
import type { AttachmentSource, ComposeDefaults, ComposedMailJob } from './types.js';

/** A message as a stream, ready for `SmtpClient.send`. */
export interface StreamedMail {
  envelope: Envelope;
  /** `size` is the exact octet count, known before anything is read. */
  message: MessageStream;
  /** The Message-ID header value, with angle brackets. */
  messageId: string;
}

/** Zero octets, shared by every counting pass (never written to). */
const ZEROS = Buffer.alloc(64 * 1024);

/**
 * Composes `job` as a {@link MessageStream}. Each attachment with a `source` is read from it when
 * the message is sent (`chunks()`: every call builds the message again, reading each source anew),
 * the others are used as they are.
 *
 * The size is known up front without reading any source: the message is built once with zeros in
 * place of each source's octets (as many as its `size`) and counted. Attachments are base64,
 * whose length depends only on the input's length (76-character lines), and both builds share the
 * Date, the Message-ID and the multipart boundary, so the real message has exactly that size. A
 * source that yields another number of octets makes `chunks()` yield another size, which the SMTP
 * client refuses to end (the message is never accepted truncated or padded).
 *
 * @throws {InvalidJobError} an attachment named by `s3` without a `source` (the delivery must open it), or no sender
 * @example
 * const mail = await composeMailStream(job, { from: 'noreply@example.com' });
 * await client.send(mail.envelope, mail.message);
 */
export async function composeMailStream(job: ComposedMailJob, defaults: ComposeDefaults = {}): Promise<StreamedMail> {
  const unopened = job.attachments.findIndex((attachment) => attachment.s3 !== undefined && attachment.source === undefined);
  if (unopened >= 0) throw new InvalidJobError([{ path: `attachments[${unopened}].s3`, message: 'was not opened before composing' }]);
  const from = job.from ?? defaultSender(defaults);
  const envelope = deriveEnvelope(job.envelopeFrom === undefined ? from : { address: job.envelopeFrom }, [job.to, job.cc, job.bcc]);
  const messageId = messageIdFor(job.id, from.address.slice(from.address.lastIndexOf('@') + 1));
  const options = composerOptions(job, from, messageId, defaults.date ?? new Date());
  const baseBoundary = randomBytes(8).toString('hex');
  const build = (content: (source: AttachmentSource) => Readable): Readable => {
    const attachments = (options.attachments ?? []).map((attachment, index) => {
      const source = job.attachments[index]?.source;
      return source === undefined ? attachment : { ...attachment, content: content(source) };
    });
    return new MailComposer({ ...options, attachments, baseBoundary }).compile().createReadStream();
  };
  let size = 0;
  for await (const chunk of build((source) => Readable.from(zeros(source.size)))) size += (chunk as Uint8Array).byteLength;
  return {
    envelope,
    messageId,
    message: { size, chunks: () => build((source) => source.open()) },
  };
}

/** `size` zero octets, in chunks of at most 64 KiB. */
function* zeros(size: number): Generator<Buffer> {
  for (let left = size; left > 0; left -= ZEROS.length) yield ZEROS.subarray(0, Math.min(left, ZEROS.length));
}
