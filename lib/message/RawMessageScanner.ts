/**
 * The checks of a raw message (see {@link checkRawMessage}) run over the message as it streams
 * past, for messages too large to hold as a string (a raw job offloaded to S3, up to 40 MB): the
 * text arrives in pieces, and what leaves is its UTF-8 bytes with every line ending in CRLF. Only
 * the header section (up to the first empty line, at most `MAX_RAW_HEADER_LENGTH` characters) and
 * the state that crosses a piece boundary are held.
 * @module
 */
import { MAX_LINE_OCTETS } from './headerRules.js';
import { headerSectionProblems, MAX_RAW_HEADER_LENGTH, MAX_RAW_MESSAGE_LENGTH, RAW_HEADER_TOO_LONG, RAW_MESSAGE_TOO_LONG } from './rawMessage.js';

/** What {@link RawMessageScanner.end} found. */
export type RawMessageScan =
  | {
      ok: true;
      /** The header section through its empty line (the whole message when it has none), CRLF line ends. */
      header: string;
      /** Octets written out, the final CRLF included: exactly what SMTP sends before dot-stuffing (RFC 1870's SIZE). */
      size: number;
      /** The message holds octets over 127. */
      eightBit: boolean;
    }
  | { ok: false; problems: string[] };

const LONE_LF = /(?<!\r)\n/g;
/** A CR that no LF follows, in a piece: one that ends the piece waits for the next. */
const CR_NOT_BEFORE_LF = /\r(?!\n|$)/;
const NOT_ASCII = /[^\x00-\x7f]/;
const HEADER_END = /\n\r?\n/;
const CRLF = Buffer.from('\r\n');
const CR = 0x0d;
const LF = 0x0a;

/**
 * Checks a raw message given in pieces of text, with the rules and the problem texts of
 * `checkRawMessage`, and the schema's length limit (`MAX_RAW_MESSAGE_LENGTH`): a message refused
 * (or accepted) whole is refused (or accepted) in pieces, wherever they are cut, with the same
 * problems. Past the length limit, nothing more is written out.
 * @example
 * const scanner = new RawMessageScanner();
 * const bytes = [scanner.push('From: a@example.com\n'), scanner.push('\nHello')];
 * const { scan, tail } = scanner.end(); // scan.ok, tail = CRLF (the last line had none)
 */
export class RawMessageScanner {
  #characters = 0;
  /** A high surrogate that ended the last piece: its pair may start the next one. */
  #highSurrogate = '';
  #loneSurrogate = false;
  #nul = false;
  #bareCr = false;
  /** The last piece ended with a CR: an LF must start the next one. */
  #endsWithCr = false;
  #endsWithLf = false;
  #line = 1;
  #lineOctets = 0;
  #longLine: number | undefined;
  #eightBit = false;
  #size = 0;
  /** The piece's UTF-8 octets, then their CRLF form: reused by every piece. */
  #encoded: Buffer = Buffer.alloc(0);
  #expanded: Buffer = Buffer.alloc(0);
  /** The header section, once its empty line was found. */
  #header = '';
  /** The pieces of text before that, and how many characters they hold; the last 2 of them. */
  #headerParts: string[] = [];
  #headerLength = 0;
  #headerTail = '';
  #headerComplete = false;
  #headerTooLong = false;

  /**
   * The CRLF form of one more piece, as UTF-8 octets, in a buffer of the scanner's own that the
   * next `push` overwrites (write them out first): a piece of the message allocates no memory
   * outside the heap. A lone surrogate is written as U+FFFD (the message is refused anyway).
   */
  push(text: string): Uint8Array {
    if (this.#characters > MAX_RAW_MESSAGE_LENGTH) return new Uint8Array(0);
    let piece = this.#highSurrogate + text;
    this.#highSurrogate = '';
    const last = piece.charCodeAt(piece.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) {
      this.#highSurrogate = piece.slice(-1);
      piece = piece.slice(0, -1);
    }
    if (piece === '') return new Uint8Array(0);
    this.#characters += piece.length;
    if (!this.#loneSurrogate && !piece.isWellFormed()) this.#loneSurrogate = true;
    if (!this.#nul && piece.includes('\u0000')) this.#nul = true;
    if (this.#endsWithCr && piece[0] !== '\n') this.#bareCr = true;
    if (!this.#bareCr && CR_NOT_BEFORE_LF.test(piece)) this.#bareCr = true;
    const ascii = !NOT_ASCII.test(piece);
    if (!ascii) this.#eightBit = true;
    this.#countLines(piece, ascii);
    this.#collectHeader(piece);
    this.#encoded = roomFor(this.#encoded, piece.length * 3);
    const written = this.#encoded.write(piece, ascii ? 'latin1' : 'utf8');
    this.#expanded = roomFor(this.#expanded, written * 2);
    const bytes = crlfOctets(this.#encoded.subarray(0, written), this.#endsWithCr, this.#expanded);
    this.#endsWithCr = piece.endsWith('\r');
    this.#endsWithLf = piece.endsWith('\n');
    this.#size += bytes.length;
    return bytes;
  }

  /** The verdict, and the octets that end the message: CRLF when its last line had none. */
  end(): { scan: RawMessageScan; tail: Uint8Array } {
    if (this.#highSurrogate !== '') {
      this.#loneSurrogate = true;
      this.#characters += 1;
      this.#countLines(this.#highSurrogate, false);
      this.#collectHeader(this.#highSurrogate);
    }
    if (this.#endsWithCr) this.#bareCr = true;
    this.#endLine(this.#endsWithCr);
    if (this.#characters > MAX_RAW_MESSAGE_LENGTH) return { scan: { ok: false, problems: [RAW_MESSAGE_TOO_LONG] }, tail: new Uint8Array(0) };
    if (this.#characters === 0) return { scan: { ok: false, problems: ['is empty'] }, tail: new Uint8Array(0) };
    const problems: string[] = [];
    if (this.#loneSurrogate) problems.push('contains a lone surrogate (text that is not valid Unicode, so not valid UTF-8)');
    if (this.#nul) problems.push('contains a NUL character');
    if (this.#bareCr) problems.push('contains a CR that is not followed by LF');
    if (this.#longLine !== undefined) problems.push(`line ${this.#longLine} is longer than ${MAX_LINE_OCTETS} octets`);
    problems.push(...(this.#headerTooLong ? [RAW_HEADER_TOO_LONG] : headerSectionProblems(this.#headerText())));
    if (problems.length > 0) return { scan: { ok: false, problems }, tail: new Uint8Array(0) };
    const tail = this.#endsWithLf ? new Uint8Array(0) : CRLF;
    this.#size += tail.byteLength;
    return { scan: { ok: true, header: this.#headerText().replace(LONE_LF, '\r\n'), size: this.#size, eightBit: this.#eightBit }, tail };
  }

  /** Line lengths in octets, lines ended by LF (a CR before it is not counted), as `checkRawMessage` measures them. */
  #countLines(piece: string, ascii: boolean): void {
    let start = 0;
    for (let lf = piece.indexOf('\n'); ; lf = piece.indexOf('\n', start)) {
      const end = lf === -1 ? piece.length : lf;
      // A line wholly inside the piece and short enough in UTF-16 units (3 octets each at most) need not be measured.
      const surelyShort = start > 0 && lf !== -1 && (end - start) * 3 <= MAX_LINE_OCTETS;
      if (this.#longLine === undefined && !surelyShort) this.#lineOctets += ascii ? end - start : Buffer.byteLength(piece.slice(start, end));
      if (lf === -1) return;
      this.#endLine(lf > 0 ? piece.charCodeAt(lf - 1) === 0x0d : this.#endsWithCr);
      start = lf + 1;
    }
  }

  #endLine(crBeforeEnd: boolean): void {
    if (this.#longLine === undefined && this.#lineOctets - (crBeforeEnd ? 1 : 0) > MAX_LINE_OCTETS) this.#longLine = this.#line;
    this.#line += 1;
    this.#lineOctets = 0;
  }

  /**
   * Keeps the text up to the first empty line (or a leading one). Pieces are kept apart and only
   * the new one (with the 2 characters before it) is searched, so that many small pieces cost no
   * more than one large one.
   */
  #collectHeader(piece: string): void {
    if (this.#headerComplete || this.#headerTooLong) return;
    const before = this.#headerTail;
    const searched = before + piece;
    this.#headerParts.push(piece);
    this.#headerLength += piece.length;
    this.#headerTail = searched.slice(-2);
    // A message that starts with an empty line has no header section (its own problem).
    const parts = this.#headerParts;
    const leading = parts.length <= 2 && /^\r?\n/.test(parts.slice(0, 2).join(''));
    const blank = leading ? null : HEADER_END.exec(searched);
    if (leading || blank !== null) {
      const whole = this.#headerParts.join('');
      const cut = blank === null ? whole.length : whole.length - searched.length + blank.index + blank[0].length;
      this.#header = whole.slice(0, cut);
      this.#headerParts = [];
      this.#headerComplete = true;
    } else if (this.#headerLength - 2 > MAX_RAW_HEADER_LENGTH) {
      // No empty line yet: the section is at least this long, less the 2 characters an empty line may start with.
      this.#headerTooLong = true;
      this.#headerParts = [];
    }
  }

  /** The header section: complete, or the whole message when it has no empty line. */
  #headerText(): string {
    return this.#headerComplete ? this.#header : this.#headerParts.join('');
  }
}

/**
 * `bytes` with a CR put before every LF that has none (`afterCr`: the octet before `bytes` was a
 * CR), in `out` (twice their length at least). Works on the octets: a regular expression's replace
 * on the text, then its UTF-8 encoding, took 10 times as long (~60 ms a MiB, measured).
 */
function crlfOctets(bytes: Buffer, afterCr: boolean, out: Buffer): Buffer {
  let lf = bytes.indexOf(LF);
  if (lf === -1) return bytes;
  let at = 0;
  let start = 0;
  for (; lf !== -1; lf = bytes.indexOf(LF, lf + 1)) {
    if (lf === 0 ? afterCr : bytes[lf - 1] === CR) continue;
    at += bytes.copy(out, at, start, lf);
    out[at++] = CR;
    start = lf;
  }
  at += bytes.copy(out, at, start);
  return out.subarray(0, at);
}

/** `buffer`, or a larger one when it holds fewer than `octets`. */
function roomFor(buffer: Buffer, octets: number): Buffer {
  return buffer.length >= octets ? buffer : Buffer.allocUnsafe(Math.max(octets, buffer.length * 2));
}
