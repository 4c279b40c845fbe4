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
/** The header fields the checks count; others are not looked at (a header may have many thousands). */
const COUNTED_FIELDS: readonly string[] = [...new Set([...SINGLE_FIELDS, ...Object.keys(BLIND_COPY_FIELDS)])];
/** A line of a header section that is neither a field (`Name:`) nor a continuation (starting with a space or tab). */
const MALFORMED_LINE = /^(?![ \t]|[\x21-\x39\x3b-\x7e]+[ \t]*:)(?=[^\n])/m;
/** Longest line, in UTF-16 units, that cannot exceed {@link MAX_LINE_OCTETS} octets (a unit is at most 3 octets of UTF-8). */
const SURELY_SHORT_LINE = Math.floor(MAX_LINE_OCTETS / 3);
/**
 * A line longer than {@link SURELY_SHORT_LINE}. Anchored at line starts: unanchored, the engine
 * would read each line again from every one of its characters (1.2 s for 1 MiB of 332-character lines).
 */
const POSSIBLY_LONG_LINE = new RegExp(`^[^\\r\\n]{${SURELY_SHORT_LINE + 1}}`, 'm');
/** An LF without a CR before it. */
const BARE_LF = /(?<!\r)\n/;
/** A character outside US-ASCII. */
const NOT_ASCII = /[^\x00-\x7f]/;
const CR = 0x0d;
const LF = 0x0a;

/**
 * Longest raw message, in characters: 40 MiB, the producer's default `maxMessageBytes` (a job over
 * it goes nowhere). A message given in a job's JSON on the queue is far shorter (SQS takes 1 MiB);
 * one offloaded to S3 is read into a file and checked as a stream (`RawMessageScanner`).
 */
export const MAX_RAW_MESSAGE_LENGTH = 41_943_040;
/** The problem of a message over {@link MAX_RAW_MESSAGE_LENGTH}. */
export const RAW_MESSAGE_TOO_LONG = `is longer than ${MAX_RAW_MESSAGE_LENGTH} characters`;
/**
 * Longest header section (up to its first empty line), in characters: it is what a streaming check
 * holds in memory of a message of any size. Real header sections are a few kilobytes (Postfix's
 * own limit is 100 KiB).
 */
export const MAX_RAW_HEADER_LENGTH = 1_048_576;
/** The problem of a header section over {@link MAX_RAW_HEADER_LENGTH}. */
export const RAW_HEADER_TOO_LONG = `has a header section longer than ${MAX_RAW_HEADER_LENGTH} characters (it ends at the first empty line)`;

/** The outcome of checking a raw message: its CRLF form, or every problem found. */
export type RawMessageResult = { ok: true; message: string } | { ok: false; problems: string[] };

/**
 * Checks a raw message and normalises its line ends to CRLF.
 * Refused: NUL, a CR that is not followed by LF, lines over 998 octets, no header section, a
 * header section over {@link MAX_RAW_HEADER_LENGTH} characters, malformed header lines, no From, repeated single fields, and a `Bcc` or `Resent-Bcc` field (it
 * would show the blind copies to every recipient). The other resent fields (`Resent-From`,
 * `Resent-To`, `Resent-Cc`, `Resent-Sender`, `Resent-Date`, `Resent-Message-ID`) are taken: a raw
 * message is the producer's own, sent as it is (as its `To` and `Cc` are), and they show nothing a
 * recipient may not see.
 *
 * Each kind of problem is reported once (the first long line, the first malformed header line).
 * The message is searched, never split into lines, so that a message of a million short lines or
 * a header of 200,000 fields costs a few milliseconds and no more heap than its CRLF copy.
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
 * The problems of a raw message's header section: `message` is the whole message, or any start of
 * it that holds its first empty line (the section ends there; without one, the whole message is
 * its header section). Shared by {@link checkRawMessage} and the streaming checks of a message
 * read from a file (`RawMessageScanner`), so that both refuse a header for the same reasons.
 */
export function headerSectionProblems(message: string): string[] {
  if (/^\r?\n/.test(message)) return ['has no header section (it must start with header fields such as From:)'];
  const blank = /\n\r?\n/.exec(message);
  const header = blank === null ? message : message.slice(0, blank.index);
  if (header.length > MAX_RAW_HEADER_LENGTH) return [RAW_HEADER_TOO_LONG];
  const problems: string[] = [];
  if (/^[ \t]/.test(header)) problems.push('starts with a continuation line instead of a header field');
  const malformed = MALFORMED_LINE.exec(header);
  if (malformed !== null) problems.push(`header line ${lineNumberAt(header, malformed.index)} is not a "Name: value" field`);
  const counts = countFields(header);
  if (!counts.has('from')) problems.push('has no From field');
  for (const [name, shown] of Object.entries(BLIND_COPY_FIELDS)) {
    if (counts.has(name)) problems.push(`has a ${shown} field, which every recipient would see: put blind copies in the envelope only`);
  }
  for (const name of SINGLE_FIELDS) {
    if ((counts.get(name) ?? 0) > 1) problems.push(`has more than one ${name} field`);
  }
  return problems;
}

/**
 * How often each of {@link COUNTED_FIELDS} occurs in `header`, counted up to what the checks need
 * (2 for the fields that may occur once, 1 for the others). One search runs over the header for
 * the names still undecided, narrowed as each is decided, so that a header of 200,000 `To:` lines
 * costs a few matches, not 200,000.
 */
function countFields(header: string): Map<string, number> {
  const counts = new Map<string, number>();
  const enough = (name: string): number => (SINGLE_FIELDS.includes(name) ? 2 : 1);
  let pending = [...COUNTED_FIELDS];
  let search = fieldSearch(pending);
  for (let match = search.exec(header); match !== null; match = search.exec(header)) {
    const name = (match[1] ?? '').toLowerCase();
    const count = (counts.get(name) ?? 0) + 1;
    counts.set(name, count);
    if (count < enough(name)) continue;
    pending = pending.filter((other) => other !== name);
    if (pending.length === 0) break;
    const from = search.lastIndex;
    search = fieldSearch(pending);
    search.lastIndex = from;
  }
  return counts;
}

/** Finds any of `names` (in any case) as a field at the start of a line. */
function fieldSearch(names: readonly string[]): RegExp {
  return new RegExp(`^(${names.join('|')})[ \\t]*:`, 'gim');
}

/** The number (from 1) of the first line over {@link MAX_LINE_OCTETS} octets, if any. */
function longLineNumber(message: string): number | undefined {
  // One pass of the regular expression engine rules out most messages without visiting each line.
  if (!POSSIBLY_LONG_LINE.test(message)) return undefined;
  let line = 1;
  for (let start = 0; ; line += 1) {
    const lf = message.indexOf('\n', start);
    const end = lf === -1 ? message.length : lf;
    const content = end > start && message.charCodeAt(end - 1) === CR ? end - 1 : end;
    if (content - start > SURELY_SHORT_LINE && Buffer.byteLength(message.slice(start, content)) > MAX_LINE_OCTETS) return line;
    if (lf === -1) return undefined;
    start = lf + 1;
  }
}

function lineNumberAt(text: string, offset: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) line += 1;
  return line;
}

/**
 * `message` with every line ending as CRLF (a bare CR was refused before, and so was a lone
 * surrogate, so the UTF-8 round trip is exact). Copied byte by byte into a buffer: on a million
 * short lines (`ab\n` × 349,000) a regular expression's replace allocates ~30 MB of heap and a
 * split and join takes ~25 ms; this takes a few milliseconds and buffers of 3 times the message's
 * size, outside the heap.
 */
function toCrlf(message: string): string {
  if (!BARE_LF.test(message)) return message;
  // ASCII text goes through Latin-1, which Node copies as it is (UTF-8 has to be decoded: ~3 ms a MiB).
  const encoding = NOT_ASCII.test(message) ? 'utf8' : 'latin1';
  const bytes = Buffer.from(message, encoding);
  const out = Buffer.allocUnsafe(bytes.length * 2);
  let at = 0;
  let previous = -1;
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index] ?? 0;
    if (byte === LF && previous !== CR) out[at++] = CR;
    out[at++] = byte;
    previous = byte;
  }
  return out.toString(encoding, 0, at);
}
