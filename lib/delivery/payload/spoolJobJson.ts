/**
 * Reads an offloaded job's JSON (up to 40 MB, mostly base64 attachments) in bounded memory: a
 * streaming JSON reader that builds the job as `JSON.parse` would, except that each attachment's
 * `content` is base64-decoded as it arrives and written to a file, its place in the job taken by
 * `""`. Memory holds the rest of the job (at most `maxInMemoryBytes`) and one chunk of the object.
 *
 * Why files (Lambda's /tmp, 512 MB) and not the JSON held whole: a 40 MB JSON string, its parsed
 * copy and the decoded bytes are 2 to 3 times the object, past a 128 MB function. Why not read S3
 * twice (once to find the attachments, then each by range at send time): a producer's JSON may
 * escape `/` as `\/` (PHP does), so the base64 is not a plain byte range, and a file is one read.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PayloadError } from './PayloadStore.js';

/** An attachment's content, decoded into a file. */
export interface SpooledContent {
  /** Index of the attachment in the job's `attachments`. */
  index: number;
  path: string;
  /** Decoded octets. */
  size: number;
  /** SHA-256 of the decoded octets, hex (set when the content has been read to its end). */
  sha256?: string;
}

/** The job as `JSON.parse` gives it, attachments' content `""`, and where each content went. */
export interface SpooledJob {
  input: unknown;
  spooled: SpooledContent[];
}

/** Limits of the reader. */
export interface SpoolLimits {
  /** Octets of the job held in memory (everything but attachments' content). @default 4 MiB (a job's text and html are at most 1 MiB each) */
  maxInMemoryBytes?: number;
  /** Nesting depth. @default 16 (a valid job has 4) */
  maxDepth?: number;
}

type Container = { kind: 'object'; value: Record<string, unknown>; key?: string } | { kind: 'array'; value: unknown[] };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Base64's alphabet (without `=`), as a lookup by octet. */
const BASE64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64[c.charCodeAt(0)] = 1;

/**
 * Reads the JSON from `chunks`, writing attachments' content into files named
 * `<dir>/<prefix>-<index>` (the caller removes them).
 *
 * @throws {PayloadError} (permanent) when the object is not JSON, an attachment's content is not
 *   strict base64, or the rest of the job is larger than `maxInMemoryBytes`
 * @throws the stream's own error when reading fails (the caller classifies it)
 * @example
 * const { input, spooled } = await spoolJobJson(await store.read(pointer), '/tmp/mail-spool', 'job-1');
 */
export async function spoolJobJson(chunks: AsyncIterable<Uint8Array>, dir: string, prefix: string, limits: SpoolLimits = {}): Promise<SpooledJob> {
  const reader = new JsonSpooler(dir, prefix, limits);
  try {
    for await (const chunk of chunks) await reader.feed(chunk);
    return reader.end();
  } finally {
    await reader.closeFile();
  }
}

class JsonSpooler {
  readonly #dir: string;
  readonly #prefix: string;
  readonly #maxMemory: number;
  readonly #maxDepth: number;
  readonly #stack: Container[] = [];
  readonly spooled: SpooledContent[] = [];
  #memory = 0;
  #root: { value: unknown } | undefined;
  /** Expecting: a value, a key, a colon, a comma or end. */
  #expect: 'value' | 'key' | 'colon' | 'next' = 'value';
  /** Inside a string held in memory: its raw octets so far (escapes unresolved). */
  #string: Buffer[] | undefined;
  #stringIsKey = false;
  #escaped = false;
  /** Inside an attachment's content: the file, base64 characters not yet decoded, padding seen. */
  #file: { handle: FileHandle; entry: SpooledContent; carry: string; padding: number; length: number; hash: Hash } | undefined;
  /** A number or literal being read. */
  #token = '';

  constructor(dir: string, prefix: string, limits: SpoolLimits) {
    this.#dir = dir;
    this.#prefix = prefix;
    this.#maxMemory = limits.maxInMemoryBytes ?? 4 * 1024 * 1024;
    this.#maxDepth = limits.maxDepth ?? 16;
  }

  async feed(chunk: Uint8Array): Promise<void> {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let at = 0;
    while (at < bytes.length) {
      if (this.#file !== undefined) at = await this.#spoolString(bytes, at);
      else if (this.#string !== undefined) at = this.#readString(bytes, at);
      else at = await this.#structure(bytes, at);
    }
  }

  end(): SpooledJob {
    if (this.#token !== '') this.#endToken();
    if (this.#root === undefined || this.#stack.length > 0 || this.#string !== undefined || this.#file !== undefined)
      fail('the object ends before its JSON does');
    return { input: this.#root.value, spooled: this.spooled };
  }

  async closeFile(): Promise<void> {
    await this.#file?.handle.close();
    this.#file = undefined;
  }

  async #structure(bytes: Buffer, at: number): Promise<number> {
    const byte = bytes[at] ?? 0;
    const char = String.fromCharCode(byte);
    if (this.#token !== '' && !/[0-9a-zA-Z.+-]/.test(char)) this.#endToken();
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') return at + 1;
    if (this.#root !== undefined && this.#stack.length === 0) fail('the object holds more than one JSON value');
    switch (this.#expect) {
      case 'colon':
        if (char !== ':') fail(`expected ":" in the JSON, found ${JSON.stringify(char)}`);
        this.#expect = 'value';
        return at + 1;
      case 'next': {
        const top = this.#stack.at(-1);
        if (char === ',') {
          this.#expect = top?.kind === 'object' ? 'key' : 'value';
          return at + 1;
        }
        if ((char === '}' && top?.kind === 'object') || (char === ']' && top?.kind === 'array')) {
          this.#stack.pop();
          this.#put(top.value);
          return at + 1;
        }
        return fail(`expected "," or the end of a list or object in the JSON, found ${JSON.stringify(char)}`);
      }
      case 'key':
        if (char === '}' && this.#stack.at(-1)?.kind === 'object' && Object.keys(this.#stack.at(-1)?.value ?? {}).length === 0) {
          const top = this.#stack.pop() as Container;
          this.#put(top.value);
          return at + 1;
        }
        if (byte !== QUOTE) fail('expected a field name in the JSON');
        this.#string = [];
        this.#stringIsKey = true;
        return at + 1;
      case 'value':
        if (this.#token !== '' || /[0-9a-z-]/.test(char)) {
          this.#token += char;
          this.#count(1);
          return at + 1;
        }
        if (char === '{' || char === '[') {
          if (this.#stack.length >= this.#maxDepth) fail(`the JSON is nested deeper than ${this.#maxDepth} levels`);
          this.#stack.push(char === '{' ? { kind: 'object', value: {} } : { kind: 'array', value: [] });
          this.#expect = char === '{' ? 'key' : 'value';
          return at + 1;
        }
        if (char === ']' && this.#stack.at(-1)?.kind === 'array' && (this.#stack.at(-1)?.value as unknown[]).length === 0) {
          const top = this.#stack.pop() as Container;
          this.#put(top.value);
          return at + 1;
        }
        if (byte !== QUOTE) return fail(`unexpected ${JSON.stringify(char)} in the JSON`);
        if (this.#isAttachmentContent()) await this.#startFile();
        else {
          this.#string = [];
          this.#stringIsKey = false;
        }
        return at + 1;
    }
  }

  /** The string about to be read is `attachments[i].content` of the job. */
  #isAttachmentContent(): boolean {
    const [root, list, attachment] = this.#stack;
    return (
      this.#stack.length === 3 &&
      root?.kind === 'object' &&
      root.key === 'attachments' &&
      list?.kind === 'array' &&
      attachment?.kind === 'object' &&
      attachment.key === 'content'
    );
  }

  async #startFile(): Promise<void> {
    const index = (this.#stack[1]?.value as unknown[]).length;
    const path = join(this.#dir, `${this.#prefix}-${index}-${this.spooled.length}`);
    const handle = await open(path, 'w');
    const entry: SpooledContent = { index, path, size: 0 };
    this.spooled.push(entry);
    this.#file = { handle, entry, carry: '', padding: 0, length: 0, hash: createHash('sha256') };
  }

  /** Base64 characters up to the closing quote, decoded into the file; `\/` is the only escape base64 can need. */
  async #spoolString(bytes: Buffer, start: number): Promise<number> {
    const file = this.#file;
    if (file === undefined) return start;
    const notBase64 = (): never =>
      fail(`attachments[${file.entry.index}].content must be base64 (A-Z, a-z, 0-9, +, / and = padding, no line breaks)`);
    let text = file.carry;
    let at = start;
    let closed = false;
    while (at < bytes.length && !closed) {
      if (this.#escaped) {
        if (bytes[at] !== 0x2f || file.padding > 0) notBase64();
        this.#escaped = false;
        text += '/';
        file.length += 1;
        at += 1;
        continue;
      }
      let run = at;
      while (run < bytes.length && BASE64[bytes[run] ?? 0] === 1) run += 1;
      if (run > at) {
        if (file.padding > 0) notBase64();
        text += bytes.toString('latin1', at, run);
        file.length += run - at;
        at = run;
        continue;
      }
      const byte = bytes[at];
      if (byte === BACKSLASH) this.#escaped = true;
      else if (byte === QUOTE) closed = true;
      else if (byte === 0x3d) {
        file.padding += 1;
        file.length += 1;
        if (file.padding > 2) notBase64();
      } else notBase64();
      at += 1;
    }
    const whole = closed ? text.length : text.length - (text.length % 4);
    if (whole > 0) {
      const decoded = Buffer.from(text.slice(0, whole) + (closed ? '='.repeat(file.padding) : ''), 'base64');
      await file.handle.write(decoded);
      file.hash.update(decoded);
      file.entry.size += decoded.length;
    }
    file.carry = text.slice(whole);
    if (!closed) return at;
    if (file.length % 4 !== 0) fail(`attachments[${file.entry.index}].content must be base64 (its length a multiple of 4)`);
    file.entry.sha256 = file.hash.digest('hex');
    await this.closeFile();
    this.#put('');
    return at;
  }

  /** A string held in memory: its raw octets until the closing quote, then `JSON.parse` resolves the escapes. */
  #readString(bytes: Buffer, start: number): number {
    let at = start;
    for (; at < bytes.length; at += 1) {
      const byte = bytes[at] ?? 0;
      if (this.#escaped) this.#escaped = false;
      else if (byte === BACKSLASH) this.#escaped = true;
      else if (byte === QUOTE) break;
    }
    const part = Buffer.from(bytes.subarray(start, at)); // a copy: a short string must not keep the whole chunk
    this.#count(part.length);
    (this.#string as Buffer[]).push(part);
    if (at >= bytes.length) return at;
    const raw = Buffer.concat(this.#string as Buffer[]).toString('utf8');
    this.#string = undefined;
    let value: string;
    try {
      value = JSON.parse(`"${raw}"`) as string;
    } catch {
      return fail('the JSON holds a malformed string');
    }
    if (this.#stringIsKey) {
      (this.#stack.at(-1) as { key?: string }).key = value;
      this.#expect = 'colon';
    } else this.#put(value);
    return at + 1;
  }

  #endToken(): void {
    let value: unknown;
    try {
      value = JSON.parse(this.#token);
    } catch {
      fail(`the JSON holds a malformed value`);
    }
    this.#token = '';
    this.#put(value);
  }

  /** A complete value: into its container, or the root. */
  #put(value: unknown): void {
    const top = this.#stack.at(-1);
    if (top === undefined) this.#root = { value };
    else if (top.kind === 'array') top.value.push(value);
    else Object.defineProperty(top.value, top.key ?? '', { value, enumerable: true, writable: true, configurable: true });
    this.#expect = 'next';
  }

  #count(bytes: number): void {
    this.#memory += bytes;
    if (this.#memory > this.#maxMemory) fail(`the job without its attachments' content is larger than ${this.#maxMemory} octets`);
  }
}

function fail(message: string): never {
  throw new PayloadError(`the offloaded job is not valid: ${message}`, { permanent: true });
}
