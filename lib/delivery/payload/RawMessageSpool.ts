/**
 * A raw job's `raw.message` in an offloaded job's JSON, read into a file as it arrives: the JSON
 * string unescaped, checked by a {@link RawMessageScanner} (the rules of an in-memory raw message),
 * written as UTF-8 with CRLF line ends. Held at a time: one chunk of the object and its text, and
 * the message's header section.
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { RawMessageScanner } from '../../message/RawMessageScanner.js';
import { StreamedRawMessage } from '../../message/StreamedRawMessage.js';
import { BACKSLASH, failJson, QUOTE } from './stringSpool.js';
import type { StringSpool } from './stringSpool.js';

const LETTER_U = 0x75;
/**
 * Octets after the last place a piece may end (a character's first octet, outside an escape) past
 * which they can only be stray UTF-8 continuation octets: a sequence has at most 3 after its first.
 */
const LONGEST_CARRY = 8;
const EMPTY = Buffer.alloc(0);
/** Octets of the file read at a time when the message is sent. */
const READ_OCTETS = 64 * 1024;

/**
 * Reads one JSON string, the raw message, into a file. The string is cut into pieces where no
 * escape and no UTF-8 sequence is split, and each piece is unescaped by `JSON.parse` (so a piece
 * reads exactly as the whole string would, invalid UTF-8 and lone surrogate escapes included).
 */
export class RawMessageSpool implements StringSpool {
  readonly #path: string;
  readonly #handle: FileHandle;
  readonly #scanner = new RawMessageScanner();
  readonly #hash = createHash('sha256');
  /** Octets of the string not yet unescaped (the end of the last chunk). */
  #carry: Buffer = EMPTY;

  private constructor(path: string, handle: FileHandle) {
    this.#path = path;
    this.#handle = handle;
  }

  /** Opens the file. */
  static async open(path: string): Promise<RawMessageSpool> {
    return new RawMessageSpool(path, await open(path, 'w'));
  }

  async take(bytes: Buffer, start: number): Promise<{ at: number; closed: boolean }> {
    const carried = this.#carry.length;
    const data = carried === 0 ? bytes.subarray(start) : Buffer.concat([this.#carry, bytes.subarray(start)]);
    let escaped = false;
    let hexLeft = 0;
    let cut = 0;
    let at = 0;
    for (; at < data.length; at += 1) {
      const byte = data[at] ?? 0;
      if (escaped) {
        escaped = false;
        if (byte === LETTER_U) hexLeft = 4;
        continue;
      }
      if (hexLeft > 0) {
        hexLeft -= 1;
        continue;
      }
      // A character starts here, outside any escape: a piece may end before it.
      if ((byte & 0xc0) !== 0x80) cut = at;
      if (byte === BACKSLASH) escaped = true;
      else if (byte === QUOTE) break;
    }
    const closed = at < data.length;
    if (closed) cut = at;
    else if (!escaped && hexLeft === 0 && (data.length - cut > LONGEST_CARRY || cut + sequenceLength(data[cut] ?? 0) <= data.length))
      cut = data.length;
    await this.#write(data, cut);
    // Usually nothing is carried (the chunk ended between characters); else a copy of a few octets (the chunk is not kept).
    this.#carry = closed || cut === data.length ? EMPTY : Buffer.from(data.subarray(cut));
    return { at: closed ? start + at - carried + 1 : bytes.length, closed };
  }

  /** The message's place in the job: a {@link StreamedRawMessage} with the checks' verdict and the file. */
  async finish(): Promise<StreamedRawMessage> {
    const { scan, tail } = this.#scanner.end();
    if (tail.byteLength > 0) {
      await this.#handle.write(tail);
      this.#hash.update(tail);
    }
    await this.close();
    const path = this.#path;
    return new StreamedRawMessage(scan, { sha256: this.#hash.digest('hex'), open: () => createReadStream(path, { highWaterMark: READ_OCTETS }) });
  }

  async close(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
  }

  /** Unescapes `data[0, end)` and writes its CRLF form. */
  async #write(data: Buffer, end: number): Promise<void> {
    if (end === 0) return;
    let text: string;
    try {
      text = JSON.parse(`"${data.toString('utf8', 0, end)}"`) as string;
    } catch {
      return failJson('the JSON holds a malformed string');
    }
    const octets = this.#scanner.push(text);
    if (octets.byteLength === 0) return;
    this.#hash.update(octets);
    await this.#handle.write(octets);
  }
}

/** Octets of the UTF-8 sequence that `first` starts (1 for ASCII and for octets that start none). */
function sequenceLength(first: number): number {
  if (first >= 0xf0 && first <= 0xf7) return 4;
  if (first >= 0xe0) return first <= 0xef ? 3 : 1;
  return first >= 0xc0 ? 2 : 1;
}
