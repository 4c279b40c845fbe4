/**
 * Reads an offloaded job's JSON (up to 40 MB, mostly base64 attachments) in bounded memory: a
 * streaming JSON reader that builds the job as `JSON.parse` would, except that each attachment's
 * `content` is base64-decoded as it arrives and written to a file, its place in the job taken by
 * `""` (Base64Spool.ts), and a raw job's `raw.message` is unescaped, checked and written to a file
 * with CRLF line ends, its place taken by a `StreamedRawMessage` (RawMessageSpool.ts). Memory holds
 * the rest of the job (at most `maxInMemoryBytes`), one chunk of the object and a raw message's
 * header section.
 *
 * Why files (Lambda's /tmp, 512 MB) and not the JSON held whole: a 40 MB JSON string, its parsed
 * copy and the decoded bytes are 2 to 3 times the object, past a 128 MB function. Why not read S3
 * twice (once to find the attachments, then each by range at send time): a producer's JSON may
 * escape `/` as `\/` (PHP does), so the base64 is not a plain byte range, and a file is one read.
 * @module
 */
import { join } from 'node:path';
import { Base64Spool } from './Base64Spool.js';
import { RawMessageSpool } from './RawMessageSpool.js';
import { BACKSLASH, failJson as fail, QUOTE } from './stringSpool.js';
import type { SpooledContent, StringSpool } from './stringSpool.js';

export type { SpooledContent } from './stringSpool.js';

/** The job as `JSON.parse` gives it, attachments' content `""`, a raw message a `StreamedRawMessage`, and where each content went. */
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

/**
 * Reads the JSON from `chunks`, writing attachments' content into files named
 * `<dir>/<prefix>-<index>-<n>` and a raw message into `<dir>/<prefix>-raw` (the caller removes them).
 * A raw message's own problems (no From, a Bcc field, a long line...) do not throw: they are the
 * `StreamedRawMessage`'s, reported by `parseMailJob` as for a message in the JSON.
 *
 * @throws {PayloadError} (permanent) when the object is not JSON, an attachment's content is not
 *   strict base64, a raw message is not a well-formed JSON string, or the rest of the job is larger than `maxInMemoryBytes`
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
  /** Inside a string read into a file (an attachment's content, a raw message). */
  #file: StringSpool | undefined;
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
      if (this.#file !== undefined) at = await this.#spoolString(this.#file, bytes, at);
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
    await this.#file?.close();
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
        if (this.#isAttachmentContent()) this.#file = await this.#startAttachment();
        else if (this.#isRawMessage()) this.#file = await RawMessageSpool.open(join(this.#dir, `${this.#prefix}-raw`));
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

  /** The string about to be read is `raw.message` of the job. */
  #isRawMessage(): boolean {
    const [root, raw] = this.#stack;
    return this.#stack.length === 2 && root?.kind === 'object' && root.key === 'raw' && raw?.kind === 'object' && raw.key === 'message';
  }

  async #startAttachment(): Promise<StringSpool> {
    const index = (this.#stack[1]?.value as unknown[]).length;
    const spool = await Base64Spool.open(join(this.#dir, `${this.#prefix}-${index}-${this.spooled.length}`), index);
    this.spooled.push(spool.entry);
    return spool;
  }

  /** The string's octets into its file; once it ends, its value takes its place. */
  async #spoolString(file: StringSpool, bytes: Buffer, start: number): Promise<number> {
    const { at, closed } = await file.take(bytes, start);
    if (closed) {
      this.#file = undefined;
      this.#put(await file.finish());
    }
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
