/**
 * The function's side of S3: reading offloaded job bodies (claim checks) and attachments named by
 * reference, and deleting a job's body once every recipient is done. Nothing else (the stack grants
 * `s3:GetObject` and `s3:DeleteObject` only).
 * @module
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { PassThrough, Readable } from 'node:stream';

/** An object in S3. */
export interface ObjectLocation {
  bucket: string;
  key: string;
}

/**
 * An object that could not be read. `permanent`: it is missing, or we may not read it (retrying
 * will not change that: S3 reads after writes are consistent); otherwise (throttling, a 5xx, the
 * network) the job is retried.
 */
export class PayloadError extends Error {
  override readonly name = 'PayloadError';
  readonly permanent: boolean;
  constructor(message: string, options: { permanent: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.permanent = options.permanent;
  }
}

/** S3 error names that retrying cannot cure. */
const PERMANENT_ERRORS = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'AccessDenied', 'Forbidden', 'InvalidObjectState', 'PreconditionFailed']);

/**
 * Reads and deletes objects, turning S3's errors into {@link PayloadError}s that say what is wrong
 * without quoting keys beyond the object's name (keys are the producer's, never addresses).
 * @example
 * const store = new PayloadStore(new S3Client({}));
 * const { size } = await store.head({ bucket, key });
 * const stream = store.open({ bucket, key }); // a Readable; errors arrive on it
 */
export class PayloadStore {
  readonly #s3: Pick<S3Client, 'send'>;
  constructor(s3: Pick<S3Client, 'send'>) {
    this.#s3 = s3;
  }

  /** The object's size in octets (and its ETag, to read exactly this version later). @throws {PayloadError} */
  async head(location: ObjectLocation, signal?: AbortSignal): Promise<{ size: number; etag?: string }> {
    try {
      const reply = await this.#s3.send(
        new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }),
        signal === undefined ? {} : { abortSignal: signal },
      );
      return { size: reply.ContentLength ?? 0, ...(reply.ETag === undefined ? {} : { etag: reply.ETag }) };
    } catch (error) {
      throw payloadError(location, error);
    }
  }

  /** The object's bytes as they arrive. @throws {PayloadError} when it cannot be read at all */
  async read(location: ObjectLocation, options: { etag?: string; signal?: AbortSignal } = {}): Promise<Readable> {
    try {
      const reply = await this.#s3.send(
        new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ...(options.etag === undefined ? {} : { IfMatch: options.etag }) }),
        options.signal === undefined ? {} : { abortSignal: options.signal },
      );
      const body = reply.Body;
      if (body instanceof Readable) return body;
      if (body === undefined) return Readable.from([]);
      return Readable.fromWeb((body as unknown as { transformToWebStream(): ReadableStream<Uint8Array> }).transformToWebStream() as never);
    } catch (error) {
      throw payloadError(location, error);
    }
  }

  /**
   * The object's bytes as a stream returned at once (nodemailer takes a stream, not a promise of
   * one): the read starts now, and its failure is the stream's error.
   */
  open(location: ObjectLocation, options: { etag?: string } = {}): Readable {
    const out = new PassThrough({ highWaterMark: 64 * 1024 });
    this.read(location, options).then(
      (body) => {
        body.on('error', (error) => out.destroy(error));
        body.pipe(out);
      },
      (error: unknown) => out.destroy(error as Error),
    );
    return out;
  }

  /** Deletes the object. @throws {PayloadError} */
  async delete(location: ObjectLocation, signal?: AbortSignal): Promise<void> {
    try {
      await this.#s3.send(
        new DeleteObjectCommand({ Bucket: location.bucket, Key: location.key }),
        signal === undefined ? {} : { abortSignal: signal },
      );
    } catch (error) {
      throw payloadError(location, error);
    }
  }
}

/** The object's name for a reason: `s3://bucket/…/last-part`. */
export function describeLocation(location: ObjectLocation): string {
  return `s3://${location.bucket}/${location.key}`;
}

function payloadError(location: ObjectLocation, error: unknown): PayloadError {
  if (error instanceof PayloadError) return error;
  const name = error instanceof Error ? error.name : 'Error';
  const status = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  const permanent = PERMANENT_ERRORS.has(name) || status === 404 || status === 403 || status === 412;
  const what =
    status === 404 || name === 'NoSuchKey' || name === 'NotFound'
      ? 'is missing'
      : `could not be read (${name}${status === undefined ? '' : ` ${status}`})`;
  return new PayloadError(`the object ${describeLocation(location)} ${what}`, { permanent, cause: error });
}
