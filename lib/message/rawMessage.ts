/**
 * Checks for the `raw` message of a raw job: a complete RFC 5322 message that is sent as it is.
 * @module
 */
import { MAX_LINE_OCTETS } from './headerRules.js';

/** Header fields that may occur at most once (RFC 5322 3.6). */
const SINGLE_FIELDS = ['date', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'message-id', 'in-reply-to', 'references', 'subject'];
/**
 * Header fields that show every recipient who got a blind copy: `Bcc` (RFC 5322 3.6.3) and
 * `Resent-Bcc` (3.6.6). Blind copies go in the envelope only.
 */
const BLIND_COPY_FIELDS: Record<string, string> = { bcc: 'Bcc', 'resent-bcc': 'Resent-Bcc' };
/** The header fields the checks count; others are not remembered (a header may have many thousands). */
const COUNTED_FIELDS: ReadonlySet<string> = new Set([...SINGLE_FIELDS, ...Object.keys(BLIND_COPY_FIELDS)]);
/** A field name and its colon, matched where a header line starts. */
const FIELD_START = /([\x21-\x39\x3b-\x7e]+)[ \t]*:/y;
/** Longest line, in UTF-16 units, that cannot exceed {@link MAX_LINE_OCTETS} octets (a unit is at most 3 octets of UTF-8). */
const SURELY_SHORT_LINE = Math.floor(MAX_LINE_OCTETS / 3);

/** The outcome of checking a raw message: its CRLF form, or every problem found. */
export type RawMessageResult = { ok: true; message: string } | { ok: false; problems: string[] };

/**
 * Checks a raw message and normalises its line ends to CRLF.
 * Refused: NUL, a CR that is not followed by LF, lines over 998 octets, no header section,
 * malformed header lines, no From, repeated single fields, and a `Bcc` or `Resent-Bcc` field (it
 * would show the blind copies to every recipient). The other resent fields (`Resent-From`,
 * `Resent-To`, `Resent-Cc`, `Resent-Sender`, `Resent-Date`, `Resent-Message-ID`) are taken: a raw
 * message is the producer's own, sent as it is (as its `To` and `Cc` are), and they show nothing a
 * recipient may not see.
 *
 * The message is read without splitting it into lines, so that a message of a million short lines
 * costs no more memory than its CRLF copy; each kind of problem is reported once (the first
 * malformed header line, with a count of the others).
 * @example
 * checkRawMessage('From: a@example.com\nSubject: hi\n\nHello\n'); // { ok: true, message: 'From: …\r\n…' }
 */
export function checkRawMessage(message: string): RawMessageResult {
  const problems: string[] = [];
  if (message === '') return { ok: false, problems: ['is empty'] };
  if (!message.isWellFormed()) problems.push('contains a lone surrogate (text that is not valid Unicode, so not valid UTF-8)');
  if (message.includes('\u0000')) problems.push('contains a NUL character');
  if (/\r(?!\n)/.test(message)) problems.push('contains a CR that is not followed by LF');
  const long = longLineNumber(message);
  if (long !== undefined) problems.push(`line ${long} is longer than ${MAX_LINE_OCTETS} octets`);
  problems.push(...headerSectionProblems(message));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, message: toCrlf(message) };
}

/**
 * `message` with every line ending as CRLF (a bare CR was refused before). Split and joined rather
 * than replaced by a regular expression: on a million short lines that takes a third of the memory.
 */
function toCrlf(message: string): string {
  if (!message.includes('\r')) return message.split('\n').join('\r\n');
  if (!/(?<!\r)\n/.test(message)) return message;
  return message.split(/\r?\n/).join('\r\n');
}

/** The number (from 1) of the first line over {@link MAX_LINE_OCTETS} octets, if any. */
function longLineNumber(message: string): number | undefined {
  let line = 1;
  for (let start = 0; ; line += 1) {
    const lf = message.indexOf('\n', start);
    const end = lf === -1 ? message.length : lf;
    const content = end > start && message.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    if (content - start > SURELY_SHORT_LINE && Buffer.byteLength(message.slice(start, content)) > MAX_LINE_OCTETS) return line;
    if (lf === -1) return undefined;
    start = lf + 1;
  }
}

function headerSectionProblems(message: string): string[] {
  const problems: string[] = [];
  const counts = new Map<string, number>();
  let malformed = 0;
  let firstMalformed = 0;
  let line = 0;
  for (let start = 0; start < message.length; ) {
    const lf = message.indexOf('\n', start);
    const end = lf === -1 ? message.length : lf;
    const content = end > start && message.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    line += 1;
    if (content === start) {
      if (line === 1) return ['has no header section (it must start with header fields such as From:)'];
      break; // the empty line that ends the header section
    }
    const first = message.charCodeAt(start);
    if (first === 0x20 || first === 0x09) {
      if (line === 1) problems.push('starts with a continuation line instead of a header field');
    } else {
      FIELD_START.lastIndex = start;
      const match = FIELD_START.exec(message);
      if (match === null || FIELD_START.lastIndex > content) {
        malformed += 1;
        if (malformed === 1) firstMalformed = line;
      } else {
        const name = match[1]!.toLowerCase();
        if (COUNTED_FIELDS.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
      }
    }
    if (lf === -1) break;
    start = lf + 1;
  }
  if (malformed > 0) {
    problems.push(`header line ${firstMalformed} is not a "Name: value" field${malformed > 1 ? ` (nor are ${malformed - 1} more lines)` : ''}`);
  }
  if (!counts.has('from')) problems.push('has no From field');
  for (const [name, shown] of Object.entries(BLIND_COPY_FIELDS)) {
    if (counts.has(name)) problems.push(`has a ${shown} field, which every recipient would see: put blind copies in the envelope only`);
  }
  for (const name of SINGLE_FIELDS) {
    if ((counts.get(name) ?? 0) > 1) problems.push(`has more than one ${name} field`);
  }
  return problems;
}
