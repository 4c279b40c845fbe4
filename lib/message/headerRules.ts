/**
 * Rules for the extra header fields a job may set through `headers`.
 * @module
 */
import { quoteValue, textProblem } from './characters.js';

/** Header fields the product writes itself; `headers` may not set them (compared case-insensitively). */
export const PRODUCT_HEADERS: ReadonlySet<string> = new Set([
  'from', 'sender', 'to', 'cc', 'bcc', 'reply-to', 'subject', 'date', 'message-id', 'mime-version', 'return-path',
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
  if (name.length > MAX_HEADER_NAME_LENGTH) return `header name is longer than ${MAX_HEADER_NAME_LENGTH} characters`;
  const lower = name.toLowerCase();
  if (PRODUCT_HEADERS.has(lower) || lower.startsWith('content-')) {
    return `${quoteValue(name)} is set by the product from the job's own fields and cannot be given in headers`;
  }
  return undefined;
}

/** Why `value` cannot be the value of header `name`, or `undefined`. */
export function headerValueProblem(name: string, value: string): string | undefined {
  const text = textProblem(value, 'line-with-tab');
  if (text !== undefined) return `the value ${text}`;
  const octets = Buffer.byteLength(name) + 2 + Buffer.byteLength(value);
  if (octets > MAX_LINE_OCTETS) return `the header line would be ${octets} octets; at most ${MAX_LINE_OCTETS} fit on a line`;
  return undefined;
}
