/**
 * Types of mail jobs: the JSON a producer writes ({@link MailJobInput}) and the checked,
 * normalised form that {@link parseMailJob} returns ({@link MailJob}).
 *
 * Rules of version 1 (checked by `parseMailJob`, every problem reported at once with its path,
 * the first 20 listed and the rest counted):
 * - Unknown fields are refused at every level (a typo such as `subjet` would otherwise lose data),
 *   and so are the keys `__proto__`, `constructor` and `prototype` anywhere.
 * - Sizes before items: at most 8 levels deep and 4,096 values in all (a valid job holds about
 *   1,200 at most), and every list and object is measured before its items are checked.
 * - Addresses: `"a@example.com"`, `"Name <a@example.com>"` (the whole name may be in double quotes,
 *   without escapes) or `{ name, address }`. Refused: several addresses, comments, quoted local
 *   parts, group syntax, source routes, address literals, dotless domains, control and invisible
 *   characters, angle brackets in names. Internationalised domains become A-labels; a non-ASCII
 *   local part is kept and makes the message need SMTPUTF8.
 * - At most 100 recipients in to + cc + bcc; subject up to 998 characters without control
 *   characters; a body (text, html or attachments) is required.
 * - `headers`: RFC 5322 field names, values without CR, LF or other controls, each line at most
 *   998 octets; From, Sender, To, Cc, Bcc, Reply-To, Subject, Date, Message-ID, MIME-Version,
 *   Return-Path and Content-* are the product's and cannot be set there, and neither can the resent
 *   fields (Resent-*; see `RESENT_FIELDS` for the reason of each).
 * - Attachments: a file name without folders, a MIME type (not multipart), strict base64 content,
 *   an optional Content-ID (inline image). At most 100.
 * - `raw`: a complete message (header fields with a From, an empty line, the body; no Bcc or Resent-Bcc field;
 *   CR only before LF; lines at most 998 octets; at most 40 MiB characters, its header section at most
 *   1 MiB) and its envelope; no other field beside `v`, `id`, `tags` and `delaySeconds`.
 * - Text that is not valid Unicode (lone surrogates, which cannot be encoded as UTF-8) is refused.
 * @module
 */
import type { Readable } from 'node:stream';
import type { Envelope } from '../smtp/types.js';

/**
 * An address as a producer writes it: `"a@example.com"`, `"Name <a@example.com>"`
 * (the name may be wrapped in double quotes), or `{ name, address }`.
 */
export type AddressInput = string | { name?: string; address: string };

/** One or several addresses. */
export type AddressListInput = AddressInput | AddressInput[];

/** An attachment as a producer writes it. `contentId` makes it an inline part (referenced as `cid:` from the HTML). */
export interface AttachmentInput {
  filename: string;
  /** A MIME type such as `application/pdf` or `text/plain; charset=utf-8`. */
  contentType: string;
  /** The bytes, base64-encoded (no line breaks). Exactly one of `content` and `s3`. */
  content?: string;
  /** The bytes are this S3 object (a file already in S3): read by the function as it sends the message. */
  s3?: { bucket: string; key: string };
  /** Content-ID without angle brackets, e.g. `logo@example.com`; the HTML refers to it as `cid:logo@example.com`. */
  contentId?: string;
}

/** A job the product composes: addresses, subject, bodies, attachments. */
export interface ComposedMailJobInput {
  v: 1;
  /** The producer's job id: gives a stable Message-ID across retries and the FIFO deduplication id. */
  id?: string;
  /** Sender; the configured default sender is used when absent. */
  from?: AddressInput;
  to: AddressListInput;
  cc?: AddressListInput;
  /** Envelope recipients that never appear in the headers. */
  bcc?: AddressListInput;
  replyTo?: AddressListInput;
  subject: string;
  text?: string;
  html?: string;
  /** Extra header fields, such as `List-Unsubscribe` or `X-Campaign`; headers the product owns cannot be set here. */
  headers?: Record<string, string>;
  attachments?: AttachmentInput[];
  /** Up to 10 key/value strings for the producer's own tracing: logged with the outcome, put on a dead letter, never in the message. */
  tags?: Record<string, string>;
  /** Seconds (0-900) SQS holds the message before it can be received (standard queues only; FIFO queues refuse it at publish). */
  delaySeconds?: number;
  /** The bounce address (SMTP MAIL FROM), when it differs from `from`: a bare address. The `From` header stays `from`. */
  envelopeFrom?: string;
  /**
   * Where readers unsubscribe (RFC 2369, RFC 8058): becomes `List-Unsubscribe: <url>, <mailto:…>`, and
   * with a `url` also `List-Unsubscribe-Post: List-Unsubscribe=One-Click`. At least one of the two.
   */
  listUnsubscribe?: ListUnsubscribeInput;
  raw?: undefined;
}

/** `listUnsubscribe` of a job: an https URL (one-click, RFC 8058) and/or a mailto URI or bare address. */
export interface ListUnsubscribeInput {
  /** `https://…` only; no spaces, `<` or `>`; at most 700 characters. The URL must accept a POST of `List-Unsubscribe=One-Click`. */
  url?: string;
  /** `mailto:unsubscribe@example.com?subject=stop` or `unsubscribe@example.com` (ASCII); at most 250 characters. */
  mailto?: string;
}

/** A job that carries a complete RFC 5322 message and its SMTP envelope, sent as it is. */
export interface RawMailJobInput {
  v: 1;
  id?: string;
  /** As in a composed job: for the producer's tracing, never in the message. */
  tags?: Record<string, string>;
  /** As in a composed job: seconds SQS holds the message (standard queues only). */
  delaySeconds?: number;
  raw: {
    /** MAIL FROM (`""` for the null sender) and RCPT TO, as bare addresses. */
    envelope: { from: string; to: string[] };
    /** Header fields, an empty line, the body; lines end in CRLF or LF (normalised to CRLF). */
    message: string;
  };
}

/** A mail job as published to the queue (JSON, version 1). */
export type MailJobInput = ComposedMailJobInput | RawMailJobInput;

/** A checked address. `address` has its domain in ASCII (IDNA A-labels); the local part is kept as written. */
export interface MailAddress {
  name?: string;
  address: string;
}

/** A checked extra header field. */
export interface MailHeader {
  name: string;
  value: string;
}

/** A checked attachment. */
export interface MailAttachment {
  filename: string;
  contentType: string;
  /** The bytes (empty when they come from `s3` or `source`). */
  content: Uint8Array;
  /** The bytes are this S3 object, named by reference in the job. */
  s3?: { bucket: string; key: string };
  /** The bytes come from elsewhere, read as a stream when the message is sent (set by the delivery, never by parseMailJob). */
  source?: AttachmentSource;
  contentId?: string;
}

/** Bytes read as a stream when a message is sent: their exact size, and a stream of them (each call a new one). */
export interface AttachmentSource {
  /** Octets `open()` yields. */
  size: number;
  open(): Readable;
}

/** A checked job the product composes. Lists are always arrays (possibly empty). */
export interface ComposedMailJob {
  kind: 'composed';
  v: 1;
  id?: string;
  from?: MailAddress;
  to: MailAddress[];
  cc: MailAddress[];
  bcc: MailAddress[];
  replyTo: MailAddress[];
  subject: string;
  text?: string;
  html?: string;
  headers: MailHeader[];
  attachments: MailAttachment[];
  tags?: Readonly<Record<string, string>>;
  delaySeconds?: number;
  /** The bounce address (MAIL FROM), a bare address. */
  envelopeFrom?: string;
  listUnsubscribe?: ListUnsubscribeInput;
}

/** A checked raw job: the message is normalised to CRLF line ends; envelope domains are A-labels. */
export interface RawMailJob {
  kind: 'raw';
  v: 1;
  id?: string;
  tags?: Readonly<Record<string, string>>;
  delaySeconds?: number;
  envelope: Envelope;
  /** The message; when it comes from `source`, its header section only (through the empty line, CRLF line ends). */
  message: string;
  /** The message read from a file as it is sent (a raw job offloaded to S3, checked as it was read; set by the delivery, never from JSON). */
  source?: RawMessageSource;
}

/** A raw message checked and written to a file, CRLF line ends, ending with CRLF. */
export interface RawMessageSource {
  /** Octets `open()` yields: the SMTP SIZE of the message. */
  size: number;
  /** Holds octets over 127 (sent with BODY=8BITMIME). */
  eightBit: boolean;
  /** SHA-256 of those octets, hex. */
  sha256: string;
  /** The octets, as a new stream each call. */
  open(): Readable;
}

/** A mail job after {@link parseMailJob}: safe to compose and send. */
export type MailJob = ComposedMailJob | RawMailJob;

/** Settings that fill in what a job leaves out. */
export interface ComposeDefaults {
  /** Sender used when the job has no `from` (from configuration), in any {@link AddressInput} form. */
  from?: AddressInput;
  /** The Date header; @default the current time */
  date?: Date;
}

/** A message ready for {@link SmtpClient.send}. */
export interface ComposedMail {
  envelope: Envelope;
  /** The complete message, CRLF line ends; `message.byteLength` is the size to check against SMTP SIZE. */
  message: Uint8Array;
  /** The Message-ID header value, with angle brackets (absent for raw jobs). */
  messageId?: string;
}
