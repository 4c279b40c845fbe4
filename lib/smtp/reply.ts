/**
 * SMTP replies: an incremental parser that turns bytes from the server into complete replies
 * (multi-line continuations, RFC 3463 enhanced status codes), and small predicates over them.
 * Pure: no I/O.
 * @module
 */
import { ProtocolError } from './errors.js';
import type { SmtpReply } from './types.js';

/** Longest reply line accepted, in octets. RFC 5321 allows 512; real servers send longer, garbage sends much longer. */
export const MAX_REPLY_LINE = 4096;
/** Most lines accepted in one multi-line reply (an EHLO reply has a few dozen at most). */
export const MAX_REPLY_LINES = 512;
/** Most octets accepted in one reply, all its lines together: what the parser holds at most. */
export const MAX_REPLY_OCTETS = 64 * 1024;

const REPLY_LINE = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s;
const ENHANCED_CODE = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

/**
 * Turns a stream of bytes into complete SMTP replies.
 *
 * Feed every chunk read from the socket to {@link ReplyParser.push}; it returns the replies that
 * became complete. Lines may end in CRLF or a bare LF. A line that is not a reply line, a
 * continuation with another code, an overlong line or an endless reply throws {@link ProtocolError}.
 * So whatever the server sends, the parser holds at most one line ({@link MAX_REPLY_LINE}) and one
 * reply ({@link MAX_REPLY_OCTETS}).
 */
export class ReplyParser {
  #partial = '';
  #lines: string[] = [];
  #octets = 0;
  #code = 0;

  /** Drops everything buffered (used after STARTTLS: nothing read before the handshake may count after it). */
  reset(): void {
    this.#partial = '';
    this.#lines = [];
    this.#octets = 0;
    this.#code = 0;
  }

  /** True while a reply has been started but not finished, or a line is half read. */
  get pending(): boolean {
    return this.#partial !== '' || this.#lines.length > 0;
  }

  /**
   * Parses one chunk.
   * @throws {ProtocolError} when the server sends something that is not an SMTP reply; its
   *   `replies` property holds the replies that were complete before the bad line.
   */
  push(chunk: Uint8Array | string): SmtpReply[] {
    let text = this.#partial + (typeof chunk === 'string' ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1'));
    const replies: SmtpReply[] = [];
    let start = 0;
    for (let lf = text.indexOf('\n'); lf !== -1; lf = text.indexOf('\n', start)) {
      const end = lf > start && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
      let reply: SmtpReply | undefined;
      try {
        reply = this.#line(text.slice(start, end));
      } catch (error) {
        // The replies completed before the bad line travel with the error.
        throw Object.assign(error as ProtocolError, { replies });
      }
      if (reply) replies.push(reply);
      start = lf + 1;
    }
    text = text.slice(start);
    if (text.length > MAX_REPLY_LINE) throw Object.assign(overlong(text.length), { replies });
    this.#partial = text;
    return replies;
  }

  #line(raw: string): SmtpReply | undefined {
    if (raw.length > MAX_REPLY_LINE) throw overlong(raw.length);
    const line = Buffer.from(raw, 'latin1').toString('utf8');
    const match = REPLY_LINE.exec(line);
    if (!match) throw new ProtocolError(`Malformed reply line from server: ${JSON.stringify(truncate(line))}`, { phase: 'connect', transient: true });
    const code = Number(match[1]);
    if (this.#lines.length > 0 && code !== this.#code) {
      throw new ProtocolError(`Reply continuation changed code from ${this.#code} to ${code}`, { phase: 'connect', transient: true });
    }
    this.#code = code;
    this.#lines.push(match[3] ?? '');
    this.#octets += raw.length + 2;
    if (this.#lines.length > MAX_REPLY_LINES)
      throw new ProtocolError(`Reply has more than ${MAX_REPLY_LINES} lines`, { phase: 'connect', transient: true });
    if (this.#octets > MAX_REPLY_OCTETS)
      throw new ProtocolError(`Reply is over ${MAX_REPLY_OCTETS} octets long`, { phase: 'connect', transient: true });
    if (match[2] === '-') return undefined;
    const reply = buildReply(code, this.#lines);
    this.#lines = [];
    this.#octets = 0;
    this.#code = 0;
    return reply;
  }
}

/**
 * Builds a reply from its code and text lines, lifting an enhanced status code (RFC 3463) out of
 * the text when every line starts with one whose class matches the reply's.
 */
export function buildReply(code: number, lines: string[]): SmtpReply {
  const first = ENHANCED_CODE.exec(lines[0] ?? '');
  if (first && Number(first[1]) === Math.floor(code / 100)) {
    const enhanced = `${first[1]}.${first[2]}.${first[3]}`;
    if (lines.every((line) => line.startsWith(enhanced))) {
      return { code, enhancedCode: enhanced, lines: lines.map((line) => line.slice(enhanced.length).trimStart()) };
    }
    return { code, enhancedCode: enhanced, lines: [(lines[0] ?? '').slice(enhanced.length).trimStart(), ...lines.slice(1)] };
  }
  return { code, lines: [...lines] };
}

/** 2xx: the command was accepted. */
export function isPositive(reply: SmtpReply): boolean {
  return reply.code >= 200 && reply.code < 300;
}

/** 3xx: the server waits for more (354 after DATA, 334 during AUTH). */
export function isIntermediate(reply: SmtpReply): boolean {
  return reply.code >= 300 && reply.code < 400;
}

/**
 * What a reader takes a reply for, by the reply classes its command can get (RFC 5321 s. 4.3.2):
 * - `'command'`: 2xx, 4xx or 5xx: the greeting, EHLO/HELO/LHLO, MAIL, RCPT, RSET, NOOP, QUIT,
 *   STARTTLS, BDAT, and the reply after the end of the data;
 * - `'DATA'`: 354, 4xx or 5xx (a 2xx to DATA cannot be: it is a stray, or replies are out of step);
 * - `'AUTH'`: 334, 2xx, 4xx or 5xx;
 * - `'any'`: whatever complete reply came (`command()` and `verify()`, like smtplib's `docmd`).
 */
export type ReplyRule = 'command' | 'DATA' | 'AUTH' | 'any';

/** Whether a reply with this code can answer a command read with `rule` (see {@link ReplyRule}). */
export function canAnswer(rule: ReplyRule, code: number): boolean {
  const kind = Math.floor(code / 100);
  const refused = kind === 4 || kind === 5;
  switch (rule) {
    case 'command':
      return kind === 2 || refused;
    case 'DATA':
      return code === 354 || refused;
    case 'AUTH':
      return code === 334 || kind === 2 || refused;
    case 'any':
      return true;
  }
}

/** What a reply read with `rule` may be, for error messages. */
export function describeRule(rule: Exclude<ReplyRule, 'any'>): string {
  switch (rule) {
    case 'command':
      return 'its command (only 2xx, 4xx or 5xx can)';
    case 'DATA':
      return 'DATA (only 354, 4xx or 5xx can)';
    case 'AUTH':
      return 'AUTH (only 334, 2xx, 4xx or 5xx can)';
  }
}

/** 4xx: refused for now; trying later may work. */
export function isTransient(reply: SmtpReply): boolean {
  return reply.code >= 400 && reply.code < 500;
}

/** The reply's text lines joined into one message. */
export function replyText(reply: SmtpReply): string {
  return reply.lines.join('\n');
}

function overlong(length: number): ProtocolError {
  return new ProtocolError(`Reply line from server is ${length} octets long, over the ${MAX_REPLY_LINE} accepted`, {
    phase: 'connect',
    transient: true,
  });
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
