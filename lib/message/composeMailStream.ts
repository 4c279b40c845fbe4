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
/** Octets of input in one whole base64 line (76 characters). */
const BASE64_LINE_INPUT = 57;
/** Octets of one whole base64 line on the wire: 76 characters and CRLF. */
const BASE64_LINE_OCTETS = 78;

/**
 * Whole base64 lines of a source of `size` octets that the count leaves out: all but the last one
 * or two lines (the stand-in keeps `size` modulo 57 and one whole line, so its last line, padding
 * and line end are the real one's). Each line left out is 57 octets in, 78 on the wire.
 */
function leftOutLines(size: number): number {
  return size < 2 * BASE64_LINE_INPUT ? 0 : Math.floor(size / BASE64_LINE_INPUT) - 1;
}

/**
 * Composes `job` as a {@link MessageStream}. Each attachment with a `source` is read from it when
 * the message is sent (`chunks()`: every call builds the message again, reading each source anew),
 * the others are used as they are.
 *
 * The size is known up front without reading any source: the message is built once with a few
 * zeros in place of each source's octets and counted, and the base64 lines the stand-ins left out
 * are added. Attachments are base64, whose length depends only on the input's length (76-character
 * lines of 57 octets each), and both builds share the Date, the Message-ID and the multipart
 * boundary, so the real message has exactly that size (encoding a 40 MB message twice, once only
 * to count it, took ~0.5 s of CPU inside the open SMTP session). A
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
  // Counted with a stand-in of a few lines in place of each source, plus the lines the stand-ins leave out.
  let size = 0;
  for (const attachment of job.attachments) if (attachment.source !== undefined) size += BASE64_LINE_OCTETS * leftOutLines(attachment.source.size);
  for await (const chunk of build((source) => Readable.from(zeros(source.size - BASE64_LINE_INPUT * leftOutLines(source.size)))))
    size += (chunk as Uint8Array).byteLength;
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
