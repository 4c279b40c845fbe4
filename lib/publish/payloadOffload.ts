/**
 * The producer's side of the claim check: a job whose body is over the offload threshold is put in
 * S3 and the queue carries a pointer to it, exactly as the AWS SQS Extended Client libraries write
 * one (lib/message/payloadPointer.ts), with the message attribute `ExtendedPayloadSize`.
 *
 * `@aws-sdk/client-s3` is loaded only when a job is offloaded and no `s3Client` was given, so that a
 * producer that never sends large jobs needs nothing beyond `@aws-sdk/client-sqs` (in the producer
 * package, client-s3 is an optional peer dependency).
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { PAYLOAD_KEY_PREFIX, PAYLOAD_SIZE_ATTRIBUTE, payloadPointerBody } from '../message/payloadPointer.js';
import { PublishError } from './PublishError.js';
import type { S3ClientLike } from './types.js';

/** A job's JSON as octets to upload: in memory, or produced on the fly (a job with file attachments). */
export interface JobPayload {
  /** Exact octet count of what `chunks()` yields. */
  readonly bytes: number;
  /** The JSON, in order; called once per upload. */
  chunks(): AsyncIterable<Uint8Array>;
  /** The JSON when it is in memory anyway: sent as it is, so that the SDK may retry the upload. */
  readonly whole?: Uint8Array;
}

/** A job's body once offloaded: the pointer for the queue and its attribute. */
export interface OffloadedBody {
  body: string;
  attributes: Record<string, { DataType: 'Number'; StringValue: string }>;
  /** sha256 (hex) of the uploaded JSON: the FIFO deduplication id of a job without `id`. */
  sha256: string;
}

/** Where offloaded bodies go. */
export interface PayloadTarget {
  bucket: string;
  /** @default a new S3Client from the environment, loaded on first use */
  s3Client?: S3ClientLike;
}

/**
 * Puts a job's JSON at `payloads/<uuid>` in the bucket (PutObject with its exact length, streamed)
 * and returns the pointer body and attribute the queue carries instead.
 * @throws {PublishError} code `PayloadUploadFailed` when S3 did not take it (nothing is on the queue).
 */
export async function offloadPayload(target: PayloadTarget, payload: JobPayload): Promise<OffloadedBody> {
  const key = `${PAYLOAD_KEY_PREFIX}${randomUUID()}`;
  const hash = createHash('sha256');
  async function* hashed(): AsyncIterable<Uint8Array> {
    let sent = 0;
    for await (const chunk of payload.chunks()) {
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
    if (sent !== payload.bytes) throw new Error(`the job's JSON was ${sent} octets, not the ${payload.bytes} announced`);
  }
  if (payload.whole !== undefined) hash.update(payload.whole);
  try {
    const { PutObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
    const endpoint = process.env.AWS_ENDPOINT_URL_S3;
    // Path-style on a given endpoint: a local emulator has no bucket host names.
    const client: S3ClientLike = (target.s3Client ??= new S3Client({
      requestChecksumCalculation: 'WHEN_REQUIRED',
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    }));
    const send = client.send.bind(client) as (command: object) => Promise<unknown>;
    if (payload.bytes <= PART_BYTES)
      await send(
        new PutObjectCommand({
          Bucket: target.bucket,
          Key: key,
          Body: payload.whole ?? Readable.from(hashed(), { objectMode: false }),
          ContentLength: payload.bytes,
          ContentType: 'application/json',
        }),
      );
    else await uploadInParts(send, target.bucket, key, payload.whole === undefined ? hashed() : [payload.whole]);
  } catch (error) {
    if (error instanceof PublishError) throw error;
    const sdk = error as { name?: string; message?: string; $fault?: string };
    throw new PublishError(`S3 did not take the job's body (bucket ${target.bucket}): ${sdk.message ?? String(error)}`, {
      code: 'PayloadUploadFailed',
      senderFault: sdk.$fault === 'client',
      cause: error,
    });
  }
  return {
    body: payloadPointerBody({ bucket: target.bucket, key }),
    attributes: { [PAYLOAD_SIZE_ATTRIBUTE]: { DataType: 'Number', StringValue: String(payload.bytes) } },
    sha256: hash.digest('hex'),
  };
}

/** Bodies over this go up in parts of this size (one part in memory at a time; S3 emulators cap a request's size). */
const PART_BYTES = 8 * 1024 * 1024;

/** A multipart upload of `chunks` in parts of {@link PART_BYTES}; aborted when anything fails. */
async function uploadInParts(
  send: (command: object) => Promise<unknown>,
  bucket: string,
  key: string,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): Promise<void> {
  const s3 = await import('@aws-sdk/client-s3');
  const { UploadId } = (await send(new s3.CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/json' }))) as {
    UploadId?: string;
  };
  const parts: { ETag?: string; PartNumber: number }[] = [];
  try {
    let pending: Uint8Array[] = [];
    let size = 0;
    const flush = async () => {
      const PartNumber = parts.length + 1;
      const body = Buffer.concat(pending);
      pending = [];
      size = 0;
      const { ETag } = (await send(
        new s3.UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body: body, ContentLength: body.length }),
      )) as { ETag?: string };
      parts.push({ ETag, PartNumber });
    };
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length;) {
        const take = Math.min(PART_BYTES - size, chunk.length - at);
        pending.push(chunk.subarray(at, at + take));
        size += take;
        at += take;
        if (size === PART_BYTES) await flush();
      }
    }
    if (size > 0 || parts.length === 0) await flush();
    await send(new s3.CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    await send(new s3.AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    throw error;
  }
}

/** A body already in memory as a {@link JobPayload}. */
export function payloadOfText(body: string): JobPayload {
  const bytes = Buffer.from(body, 'utf8');
  return {
    bytes: bytes.length,
    whole: bytes,
    chunks: () => Readable.from([bytes]),
  };
}
