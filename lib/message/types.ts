/**
 * Types of mail jobs: the JSON a producer writes ({@link MailJobInput}) and the checked,
 * normalised form that {@link parseMailJob} returns ({@link MailJob}).
 * @module
 */
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
  /** The bytes, base64-encoded (no line breaks). */
  content: string;
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
  raw?: undefined;
}

/** A job that carries a complete RFC 5322 message and its SMTP envelope, sent as it is. */
export interface RawMailJobInput {
  v: 1;
  id?: string;
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
  content: Uint8Array;
  contentId?: string;
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
}

/** A checked raw job: the message is normalised to CRLF line ends; envelope domains are A-labels. */
export interface RawMailJob {
  kind: 'raw';
  v: 1;
  id?: string;
  envelope: Envelope;
  message: string;
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
