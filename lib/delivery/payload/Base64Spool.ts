/**
 * An attachment's `content` in an offloaded job's JSON, base64-decoded into a file as it arrives.
 * @module
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { failJson, QUOTE, BACKSLASH } from './stringSpool.js';
import type { SpooledContent, StringSpool } from './stringSpool.js';

/** Base64's alphabet (without `=`), as a lookup by octet. */
const BASE64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64[c.charCodeAt(0)] = 1;
const SLASH = 0x2f;
const EQUALS = 0x3d;

/**
 * Decodes one JSON string of strict base64 into a file: base64 characters and `\/` (the only escape
 * base64 can need; PHP writes it) up to the closing quote; anything else is refused.
 */
export class Base64Spool implements StringSpool {
  readonly entry: SpooledContent;
  readonly #handle: FileHandle;
  readonly #hash = createHash('sha256');
  /** Base64 characters not yet decoded (fewer than 4). */
  #carry = '';
  #padding = 0;
  #length = 0;
  #escaped = false;

  private constructor(handle: FileHandle, entry: SpooledContent) {
    this.#handle = handle;
    this.entry = entry;
  }

  /** Opens the file for attachment `index`. */
  static async open(path: string, index: number): Promise<Base64Spool> {
    return new Base64Spool(await open(path, 'w'), { index, path, size: 0 });
  }

  async take(bytes: Buffer, start: number): Promise<{ at: number; closed: boolean }> {
    const index = this.entry.index;
    const notBase64 = (): never => failJson(`attachments[${index}].content must be base64 (A-Z, a-z, 0-9, +, / and = padding, no line breaks)`);
    let text = this.#carry;
    let at = start;
    let closed = false;
    while (at < bytes.length && !closed) {
      if (this.#escaped) {
        if (bytes[at] !== SLASH || this.#padding > 0) notBase64();
        this.#escaped = false;
        text += '/';
        this.#length += 1;
        at += 1;
        continue;
      }
      let run = at;
      while (run < bytes.length && BASE64[bytes[run] ?? 0] === 1) run += 1;
      if (run > at) {
        if (this.#padding > 0) notBase64();
        text += bytes.toString('latin1', at, run);
        this.#length += run - at;
        at = run;
        continue;
      }
      const byte = bytes[at];
      if (byte === BACKSLASH) this.#escaped = true;
      else if (byte === QUOTE) closed = true;
      else if (byte === EQUALS) {
        this.#padding += 1;
        this.#length += 1;
        if (this.#padding > 2) notBase64();
      } else notBase64();
      at += 1;
    }
    const whole = closed ? text.length : text.length - (text.length % 4);
    if (whole > 0) {
      const decoded = Buffer.from(text.slice(0, whole) + (closed ? '='.repeat(this.#padding) : ''), 'base64');
      await this.#handle.write(decoded);
      this.#hash.update(decoded);
      this.entry.size += decoded.length;
    }
    this.#carry = text.slice(whole);
    if (closed && this.#length % 4 !== 0) failJson(`attachments[${index}].content must be base64 (its length a multiple of 4)`);
    return { at, closed };
  }

  /** The content's place in the job: `""` (its bytes are in the file). */
  async finish(): Promise<string> {
    this.entry.sha256 = this.#hash.digest('hex');
    await this.close();
    return '';
  }

  async close(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
  }
}
