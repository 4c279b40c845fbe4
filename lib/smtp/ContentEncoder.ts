/**
 * Message content on the wire, one chunk at a time: the same rules as {@link prepareContent}
 * (bare LF and bare CR made CRLF, dot-stuffing for DATA, the 998-octet line limit, 8-bit
 * detection), with the state that crosses a chunk boundary carried over: a CR that ends one chunk
 * (its LF may start the next), a line that starts with a dot at the start of a chunk, a line's
 * length so far. Pure; copies a chunk only when it must change it.
 * @module
 */
import { isAscii } from 'node:buffer';
import { MAX_LINE_OCTETS } from './content.js';
import { ProtocolError } from './errors.js';

const CR = 13;
const LF = 10;
const DOT = 46;
const CRLF = Buffer.from('\r\n');
const DOT_ONLY = Buffer.from('.');
const EMPTY = new Uint8Array(0);

/**
 * Encodes a message given in chunks for DATA (`dotStuff: true`) or BDAT (`dotStuff: false`). The
 * bytes of {@link push} for each chunk, then of {@link end}, are exactly `prepareContent` of the
 * whole message, wherever the chunks were cut.
 * @example
 * const encoder = new ContentEncoder({ dotStuff: true });
 * [encoder.push(Buffer.from('a\r')), encoder.push(Buffer.from('\n.b')), encoder.end()].map((b) => Buffer.from(b).toString());
 * // => ['a', '\r\n..b', '\r\n']
 */
export class ContentEncoder {
  readonly #dotStuff: boolean;
  /** The next octet starts a line (a dot there is stuffed). */
  #atLineStart = true;
  /** The last chunk ended with a CR: its line ended, and an LF first in the next chunk belongs to it. */
  #pendingCr = false;
  #lineOctets = 0;
  #lineNumber = 1;
  #eightBit = false;

  constructor(options: { dotStuff: boolean }) {
    this.#dotStuff = options.dotStuff;
  }

  /** True once a chunk held an octet over 127. */
  get eightBit(): boolean {
    return this.#eightBit;
  }

  /**
   * The wire bytes for one more chunk of the message: the chunk itself when nothing changes.
   * @throws {ProtocolError} (phase 'data', permanent) when a line is over 998 octets.
   */
  push(chunk: Uint8Array): Uint8Array {
    const n = chunk.byteLength;
    if (n === 0) return EMPTY;
    if (!this.#eightBit && !isAscii(chunk)) this.#eightBit = true;
    const parts: Uint8Array[] = [];
    let changed = false;
    let segment = 0;
    let i = 0;
    if (this.#pendingCr) {
      // The CR held back from the last chunk: CRLF whether or not an LF follows it here.
      this.#pendingCr = false;
      changed = true;
      parts.push(CRLF);
      if (chunk[0] === LF) i = segment = 1;
    }
    let cr = -2;
    let lf = -2;
    while (i < n) {
      if (this.#atLineStart && this.#dotStuff && chunk[i] === DOT) {
        parts.push(chunk.subarray(segment, i), DOT_ONLY);
        segment = i;
        changed = true;
      }
      if (cr !== -1 && cr < i) cr = chunk.indexOf(CR, i);
      if (lf !== -1 && lf < i) lf = chunk.indexOf(LF, i);
      const stop = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (stop === -1) {
        this.#addLineOctets(n - i);
        this.#atLineStart = false;
        break;
      }
      this.#addLineOctets(stop - i);
      if (chunk[stop] === CR && stop + 1 < n && chunk[stop + 1] === LF) {
        i = stop + 2;
      } else if (chunk[stop] === CR && stop + 1 === n) {
        parts.push(chunk.subarray(segment, stop));
        segment = n;
        changed = true;
        this.#pendingCr = true;
        i = n;
      } else {
        // A bare LF, or a CR that no LF follows: either ends its line with CRLF.
        parts.push(chunk.subarray(segment, stop), CRLF);
        segment = i = stop + 1;
        changed = true;
      }
      this.#endLine();
    }
    if (!changed) return chunk;
    parts.push(chunk.subarray(segment));
    return Buffer.concat(parts);
  }

  /** The bytes that end the message: CRLF when its last line has no line end yet, else none. */
  end(): Uint8Array {
    if (this.#pendingCr || !this.#atLineStart) {
      this.#pendingCr = false;
      this.#endLine();
      return CRLF;
    }
    return EMPTY;
  }

  #addLineOctets(octets: number): void {
    this.#lineOctets += octets;
    if (this.#lineOctets > MAX_LINE_OCTETS) {
      throw new ProtocolError(
        `Message line ${this.#lineNumber} is over ${MAX_LINE_OCTETS} octets long; SMTP allows at most ${MAX_LINE_OCTETS} (encode the body as quoted-printable or base64)`,
        { phase: 'data', transient: false },
      );
    }
  }

  #endLine(): void {
    this.#atLineStart = true;
    this.#lineOctets = 0;
    this.#lineNumber += 1;
  }
}
