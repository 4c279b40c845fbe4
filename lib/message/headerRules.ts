/**
 * Rules for the extra header fields a job may set through `headers`.
 * @module
 */
import { quoteValue, textProblem } from './characters.js';

/** Header fields the product writes itself; `headers` may not set them (compared case-insensitively). */
export const PRODUCT_HEADERS: ReadonlySet<string> = new Set([
  'from',
  'sender',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'return-path',
]);

/**
 * The resent fields (RFC 5322 3.6.6, and `Resent-Reply-To` of RFC 822), none of which `headers`
 * may set, each for its own reason. A resent block says that a message was sent on again, by whom,
 * when and to whom; the product composes new messages, so such a block would be false. To resend a
 * message as it is, a producer sends it in a raw job, where all but `Resent-Bcc` are taken.
 * - `Resent-Bcc`: would show every recipient the addresses that got a blind copy (as `Bcc` would).
 * - `Resent-To`, `Resent-Cc`, `Resent-Reply-To`: addresses that get nothing from this job (they are
 *   not in the envelope) and that escape the address checks, shown as if they had.
 * - `Resent-From`, `Resent-Sender`: who resent it; readers show them as the sender, and the sender
 *   is the product's to set (as `From` and `Sender` are).
 * - `Resent-Date`, `Resent-Message-ID`: they start or name a resent block that the rest of the
 *   message does not have; date and message id are the product's (as `Date` and `Message-ID` are).
 * Any other `Resent-` name is refused too: RFC 5322 defines no more, and readers may take one.
 */
export const RESENT_FIELDS: ReadonlyMap<string, string> = new Map([
  ['resent-bcc', 'would show every recipient the addresses that got a blind copy: put blind copies in bcc'],
  ['resent-to', 'names recipients who get nothing from this job'],
  ['resent-cc', 'names recipients who get nothing from this job'],
  ['resent-reply-to', 'gives an address outside the checks of replyTo'],
  ['resent-from', "claims a sender; the product sets the sender from the job's from"],
  ['resent-sender', "claims a sender; the product sets the sender from the job's from"],
  ['resent-date', 'starts a resent block the message does not have; the product sets the date'],
  ['resent-message-id', 'names a resent block the message does not have; the product sets the message id'],
]);

/** Most extra header fields a job may carry. */
export const MAX_HEADERS = 50;
/** Longest header field name. */
export const MAX_HEADER_NAME_LENGTH = 76;
/** Longest header line, in octets, without its CRLF (RFC 5322 2.1.1). */
export const MAX_LINE_OCTETS = 998;

/** RFC 5322 field name: printable US-ASCII except colon. */
const FTEXT = /^[\x21-\x39\x3b-\x7e]+$/;

/** Why `name` cannot be an extra header field name, or `undefined`. */
export function headerNameProblem(name: string): string | undefined {
  if (name === '') return 'a header name cannot be empty';
  if (!FTEXT.test(name)) return `${quoteValue(name)} is not a valid header name (printable ASCII without spaces or colons)`;
  if (name.length > MAX_HEADER_NAME_LENGTH) return `the header name ${quoteValue(name)} is longer than ${MAX_HEADER_NAME_LENGTH} characters`;
  const lower = name.toLowerCase();
  if (lower.startsWith('resent-')) {
    const reason = RESENT_FIELDS.get(lower) ?? 'is not one RFC 5322 defines';
    if (lower === 'resent-bcc') return `${quoteValue(name)} ${reason}`;
    return `${quoteValue(name)} is one of the resent fields (RFC 5322 3.6.6), which tell that a message was sent on again; it ${reason}. To resend a message as it is, use a raw job`;
  }
  if (PRODUCT_HEADERS.has(lower) || lower.startsWith('content-')) {
    return `${quoteValue(name)} is set by the product from the job's own fields and cannot be given in headers`;
  }
  return undefined;
}

/** Why `value` cannot be the value of header `name`, or `undefined`; the message names the header. */
export function headerValueProblem(name: string, value: string): string | undefined {
  const text = textProblem(value, 'line-with-tab');
  if (text !== undefined) return `the value of ${quoteValue(name)} ${text}`;
  const octets = Buffer.byteLength(name) + 2 + Buffer.byteLength(value);
  if (octets > MAX_LINE_OCTETS) return `the header line of ${quoteValue(name)} would be ${octets} octets; at most ${MAX_LINE_OCTETS} fit on a line`;
  return undefined;
}
