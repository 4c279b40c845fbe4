/**
 * Message content on the wire: line endings made CRLF (bare LF and bare CR, as smtplib does),
 * dot-stuffing for DATA (RFC 5321 4.5.2), the 998-octet line limit (RFC 5322 2.1.1), 8-bit
 * detection. Pure; copies the message only when it must change it.
 * @module
 */
import { isAscii } from 'node:buffer';
import { ProtocolError } from './errors.js';

/** Longest line of a message, CRLF excluded (RFC 5322). */
export const MAX_LINE_OCTETS = 998;

/** A message ready for the wire. */
export interface WireContent {
  /** The bytes to send: CRLF line endings, ending with CRLF, dot-stuffed when prepared for DATA. */
  bytes: Uint8Array;
  /** Size of the message as RFC 1870 counts it (CRLF endings, without dot-stuffing). */
  size: number;
  /** Holds octets over 127: needs BODY=8BITMIME. */
  eightBit: boolean;
}

const CR = 13;
const LF = 10;
const DOT = 46;
const CRLF = Buffer.from('\r\n');
const DOT_ONLY = Buffer.from('.');

/**
 * Prepares a message for DATA (`dotStuff: true`) or BDAT (`dotStuff: false`).
 * @throws {ProtocolError} (phase 'data', permanent) when a line is over 998 octets.
 * @example
 * prepareContent('Subject: x\n\n.hidden\n', { dotStuff: true }).bytes.toString()
 * // => 'Subject: x\r\n\r\n..hidden\r\n'
 */
export function prepareContent(message: string | Uint8Array, options: { dotStuff: boolean }): WireContent {
  const input =
    typeof message === 'string'
      ? Buffer.from(message, 'utf8')
      : Buffer.isBuffer(message)
        ? message
        : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  const parts: Uint8Array[] = [];
  let changed = false;
  let size = 0;
  let start = 0;
  let lineNumber = 0;
  // Position of the next CR at or after `start` (-1: none left); searched again only once passed,
  // so a message without CRs is scanned once, not once per line.
  let nextCr = input.indexOf(CR);
  while (start < input.length) {
    if (nextCr !== -1 && nextCr < start) nextCr = input.indexOf(CR, start);
    lineNumber += 1;
    const lf = input.indexOf(LF, start);
    let end = lf === -1 ? input.length : lf;
    const crlf = lf !== -1 && end > start && input[end - 1] === CR;
    if (crlf) end -= 1;
    // A bare CR inside the line ends a line of its own.
    const cr = nextCr;
    if (cr !== -1 && cr < end) {
      end = cr;
      changed = true;
      pushLine(input, start, end, options.dotStuff, parts, lineNumber);
      size += end - start + 2;
      start = cr + 1;
      continue;
    }
    if (!crlf) changed = true;
    if (options.dotStuff && input[start] === DOT && end > start) changed = true;
    pushLine(input, start, end, options.dotStuff, parts, lineNumber);
    size += end - start + 2;
    start = lf === -1 ? input.length : lf + 1;
  }
  const bytes = changed ? Buffer.concat(parts) : input;
  return { bytes, size, eightBit: !isAscii(input) };
}

function pushLine(input: Buffer, start: number, end: number, dotStuff: boolean, parts: Uint8Array[], lineNumber: number): void {
  if (end - start > MAX_LINE_OCTETS) {
    throw new ProtocolError(
      `Message line ${lineNumber} is ${end - start} octets long; SMTP allows at most ${MAX_LINE_OCTETS} (encode the body as quoted-printable or base64)`,
      { phase: 'data', transient: false },
    );
  }
  if (dotStuff && input[start] === DOT && end > start) parts.push(DOT_ONLY);
  parts.push(input.subarray(start, end), CRLF);
}
