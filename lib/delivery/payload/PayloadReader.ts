/**
 * The claim check on the function's side: a record whose body is a pointer
 * (lib/message/payloadPointer.ts) gets its job from S3, its attachments' content decoded into
 * files of a spool folder; attachments named by reference are looked up (size, version) so that
 * they can be streamed when the message is sent. Objects are deleted once their job is done.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailJob } from '../../message/types.js';
import { PAYLOAD_KEY_PREFIX } from '../../message/payloadPointer.js';
import type { PayloadPointer } from '../../message/payloadPointer.js';
import type { FailureReason } from '../outcome.js';
import { PayloadError, describeLocation } from './PayloadStore.js';
import type { ObjectLocation, PayloadStore } from './PayloadStore.js';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_SPOOL_BYTES } from './spoolBudget.js';
import { spoolJobJson } from './spoolJobJson.js';
import type { SpooledContent } from './spoolJobJson.js';

/** An offloaded job read: the JSON as parsed (attachments' content `""`) and where each content went. */
export interface LoadedPayload {
  input: unknown;
  spooled: SpooledContent[];
}

/** Settings of the reader. */
export interface PayloadReaderOptions {
  /** `MAIL_PAYLOAD_BUCKET`: the only bucket pointers may name (and the only one objects are deleted from). Absent: pointers are refused. */
  bucket?: string;
  /** The spool folder's parent. @default `/tmp` (Lambda's 512 MB of ephemeral storage) */
  tmpDir?: string;
  /** `MAIL_SPOOL_BYTES`: octets of offloaded jobs one batch loads (see `planSpool`). @default {@link DEFAULT_SPOOL_BYTES} */
  spoolBytes?: number;
  /** `MAIL_MAX_MESSAGE_BYTES`: a larger offloaded job is refused (permanent) before it is read. @default {@link DEFAULT_MAX_MESSAGE_BYTES} */
  maxMessageBytes?: number;
}

/**
 * Reads offloaded jobs and opens attachments by reference for one batch at a time.
 * @example
 * const payloads = new PayloadReader(new PayloadStore(s3), { bucket: config.payloadBucket });
 * await payloads.beginBatch();
 * const loaded = await payloads.load(pointer, signal); // or throws PayloadError
 * await payloads.endBatch(); // removes the batch's spool files
 */
export class PayloadReader {
  readonly #store: PayloadStore;
  readonly #bucket: string | undefined;
  readonly #root: string;
  #dir: string | undefined;
  /** `MAIL_SPOOL_BYTES`. */
  readonly spoolBytes: number;
  /** `MAIL_MAX_MESSAGE_BYTES`. */
  readonly maxMessageBytes: number;

  constructor(store: PayloadStore, options: PayloadReaderOptions = {}) {
    this.#store = store;
    this.#bucket = options.bucket;
    this.#root = join(options.tmpDir ?? '/tmp', 'mail-spool');
    this.spoolBytes = options.spoolBytes ?? DEFAULT_SPOOL_BYTES;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /**
   * The size of the job a pointer names, before anything of it is read: its `ExtendedPayloadSize`
   * attribute (`declared`) when the record has one, else the object's `ContentLength` (a HEAD).
   * @throws {PayloadError} permanent when the pointer names another bucket, the object is missing,
   *   or it is larger than `MAIL_MAX_MESSAGE_BYTES` (the figure in the message); transient when S3 failed for now
   */
  async sizeOf(pointer: PayloadPointer, declared: number | undefined, signal?: AbortSignal): Promise<number> {
    this.#checkBucket(pointer);
    const size = declared ?? (await this.#store.head(pointer, signal)).size;
    if (size > this.maxMessageBytes) throw this.#tooLarge(pointer, size);
    return size;
  }

  /**
   * Empties the spool folder (files left by an invocation that was killed: one invocation at a
   * time runs in an execution environment, so nothing there is in use) and makes this batch's.
   */
  async beginBatch(): Promise<void> {
    await rm(this.#root, { recursive: true, force: true });
    this.#dir = join(this.#root, randomUUID());
    await mkdir(this.#dir, { recursive: true });
  }

  /** Removes the batch's spool files. Never throws. */
  async endBatch(): Promise<void> {
    if (this.#dir === undefined) return;
    await rm(this.#dir, { recursive: true, force: true }).catch(() => undefined);
    this.#dir = undefined;
  }

  /**
   * The job a pointer names, read in bounded memory (see `spoolJobJson`).
   * @throws {PayloadError} permanent when the pointer names another bucket, the object is missing,
   *   unreadable or not JSON; transient when S3 failed for now
   */
  async load(pointer: PayloadPointer, signal?: AbortSignal): Promise<LoadedPayload> {
    this.#checkBucket(pointer);
    if (this.#dir === undefined) await this.beginBatch();
    const body = await this.#store.read(pointer, signal === undefined ? {} : { signal });
    // The size checked first may have been the producer's word (the attribute): the read stops past the limit.
    const limit = this.maxMessageBytes;
    const tooLarge = (read: number): PayloadError => this.#tooLarge(pointer, read, 'at least ');
    const limited = (async function* stopPastLimit(): AsyncGenerator<Uint8Array> {
      let read = 0;
      for await (const chunk of body as AsyncIterable<Uint8Array>) {
        read += chunk.byteLength;
        if (read > limit) throw tooLarge(read);
        yield chunk;
      }
    })();
    try {
      return await spoolJobJson(limited, this.#dir ?? this.#root, randomUUID());
    } catch (error) {
      if (error instanceof PayloadError) throw error;
      throw new PayloadError(
        `the object ${describeLocation(pointer)} could not be read to its end (${error instanceof Error ? error.name : 'error'})`,
        {
          permanent: false,
          cause: error,
        },
      );
    } finally {
      body.destroy();
    }
  }

  #checkBucket(pointer: PayloadPointer): void {
    if (this.#bucket === undefined) throw new PayloadError('the job is offloaded to S3 and MAIL_PAYLOAD_BUCKET is not set', { permanent: true });
    if (pointer.bucket !== this.#bucket)
      throw new PayloadError(`the pointer names the bucket ${pointer.bucket}, not this environment's (${this.#bucket})`, { permanent: true });
  }

  #tooLarge(pointer: PayloadPointer, size: number, qualifier = ''): PayloadError {
    return new PayloadError(
      `the job's object ${describeLocation(pointer)} is ${qualifier}${size} octets, over the ${this.maxMessageBytes} a job may have (MAIL_MAX_MESSAGE_BYTES)`,
      { permanent: true },
    );
  }

  /**
   * Gives the job's attachments their sources: spooled content (from {@link load}) as files,
   * attachments named by `s3` as the object, looked up now (its size, and its ETag so that exactly
   * this version is read when the message is sent).
   * @throws {PayloadError} when a referenced object is missing or unreadable
   */
  async attachSources(job: MailJob, spooled: readonly SpooledContent[], signal?: AbortSignal): Promise<void> {
    if (job.kind !== 'composed') return;
    for (const entry of spooled) {
      const attachment = job.attachments[entry.index];
      if (attachment !== undefined) attachment.source = { size: entry.size, open: () => createReadStream(entry.path, { highWaterMark: 64 * 1024 }) };
    }
    await Promise.all(
      job.attachments.map(async (attachment) => {
        if (attachment.s3 === undefined) return;
        const location: ObjectLocation = attachment.s3;
        const { size, etag } = await this.#store.head(location, signal);
        attachment.source = { size, open: () => this.#store.open(location, etag === undefined ? {} : { etag }) };
      }),
    );
  }

  /**
   * Deletes a done job's object: only in this environment's bucket, under `payloads/` (the
   * function's grant), never an attachment named by reference (the producer's file).
   * @returns why it was not deleted, if it was not (the lifecycle rule removes it later)
   */
  async release(pointer: PayloadPointer, signal?: AbortSignal): Promise<string | undefined> {
    if (pointer.bucket !== this.#bucket || !pointer.key.startsWith(PAYLOAD_KEY_PREFIX))
      return `the object is outside ${PAYLOAD_KEY_PREFIX} of this environment's bucket: kept`;
    try {
      await this.#store.delete(pointer, signal);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}

/** The failure reason of a payload problem: phase `payload`; the message names the object. */
export function payloadReason(error: unknown): FailureReason {
  if (error instanceof PayloadError) return { phase: 'payload', message: error.message, error: error.name };
  return {
    phase: 'payload',
    message: error instanceof Error ? error.message : String(error),
    ...(error instanceof Error ? { error: error.name } : {}),
  };
}
