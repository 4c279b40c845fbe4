/**
 * Checks for the `raw` message of a raw job: a complete RFC 5322 message that is sent as it is.
 * @module
 */
import { MAX_LINE_OCTETS } from './headerRules.js';

/** Header fields that may occur at most once (RFC 5322 3.6). */
const SINGLE_FIELDS = ['date', 'from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'message-id', 'in-reply-to', 'references', 'subject'];
const FIELD_LINE = /^([\x21-\x39\x3b-\x7e]+)[ \t]*:/;

/** The outcome of checking a raw message: its CRLF form, or every problem found. */
export type RawMessageResult = { ok: true; message: string } | { ok: false; problems: string[] };

/**
 * Checks a raw message and normalises its line ends to CRLF.
 * Refused: NUL, a CR that is not followed by LF, lines over 998 octets, no header section,
 * malformed header lines, no From, repeated single fields, and a Bcc field (it would show the
 * blind copies to every recipient).
 * @example
 * checkRawMessage('From: a@example.com\nSubject: hi\n\nHello\n'); // { ok: true, message: 'From: …\r\n…' }
 */
export function checkRawMessage(message: string): RawMessageResult {
  const problems: string[] = [];
  if (message === '') return { ok: false, problems: ['is empty'] };
  if (!message.isWellFormed()) problems.push('contains a lone surrogate (text that is not valid Unicode, so not valid UTF-8)');
  if (message.includes('\u0000')) problems.push('contains a NUL character');
  if (/\r(?!\n)/.test(message)) problems.push('contains a CR that is not followed by LF');
  const lines = message.split(/\r?\n/);
  const long = lines.findIndex((line) => Buffer.byteLength(line) > MAX_LINE_OCTETS);
  if (long !== -1) problems.push(`line ${long + 1} is longer than ${MAX_LINE_OCTETS} octets`);
  problems.push(...headerSectionProblems(lines));
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, message: lines.join('\r\n') };
}

function headerSectionProblems(lines: string[]): string[] {
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const end = lines.indexOf('');
  const header = end === -1 ? lines : lines.slice(0, end);
  if (header.length === 0) return ['has no header section (it must start with header fields such as From:)'];
  header.forEach((line, index) => {
    if (/^[ \t]/.test(line)) {
      if (index === 0) problems.push('starts with a continuation line instead of a header field');
      return;
    }
    const match = FIELD_LINE.exec(line);
    if (match === null) {
      problems.push(`header line ${index + 1} is not a "Name: value" field`);
      return;
    }
    const name = match[1]!.toLowerCase();
    seen.set(name, (seen.get(name) ?? 0) + 1);
  });
  if (!seen.has('from')) problems.push('has no From field');
  if (seen.has('bcc')) problems.push('has a Bcc field, which every recipient would see: put blind copies in the envelope only');
  for (const name of SINGLE_FIELDS) {
    if ((seen.get(name) ?? 0) > 1) problems.push(`has more than one ${name} field`);
  }
  return problems;
}
