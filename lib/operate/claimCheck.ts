/**
 * Dead letters whose body is a claim check (the job is in S3, issue 11): the operator tools read
 * the job from the object so that `dlq list` and `dlq show` can tell whom it was for and what it
 * was, and say where it is. Read in bounded memory, as the function reads it: the object is
 * streamed through the function's own reader (`spoolJobJson`), which decodes each attachment's
 * content into a file of a temporary folder (removed at once) and holds only the rest of the job
 * (addresses, subject, at most 4 MiB). One object at a time. Reading never throws: a missing or
 * unreadable object is said as such.
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { spoolJobJson } from '../delivery/payload/spoolJobJson.js';
import type { PayloadPointer } from '../message/payloadPointer.js';

/** What reading a claim check's object gave. */
export type ClaimCheckState = 'read' | 'missing' | 'unreadable' | 'not read';

/** A dead letter's claim check: where the job is and what reading it gave. */
export interface ClaimCheck {
  bucket: string;
  key: string;
  /** `s3://bucket/key`. */
  location: string;
  /** The object's size in octets (its length when read, else the message's `ExtendedPayloadSize`). */
  bytes?: number;
  /** `read`; `missing` (no such object or bucket: a redrive is dead-lettered again); `unreadable` (refused, not JSON...); `not read` (over the listing's limit). */
  state: ClaimCheckState;
  /** Why it is missing or unreadable, in words (the S3 error's name and message). */
  problem?: string;
}

/** A claim check's job, read. */
export interface OffloadedJob {
  /** The job's JSON as `JSON.parse` gives it, each attachment's `content` `""` (its size is in {@link attachmentBytes}). */
  input: unknown;
  /** Decoded octets of each attachment's content, by its index in `attachments`. */
  attachmentBytes: ReadonlyMap<number, number>;
}

/** S3's answers that mean the object is not there. */
const MISSING = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket']);

/**
 * Reads the job a pointer names, in bounded memory (see the module's comment).
 * @returns the claim check (its state says whether the job could be read) and, when read, the job
 * @example
 * const { claimCheck, job } = await readClaimCheck(new S3Client({}), parsePayloadPointer(body)!);
 * if (claimCheck.state !== 'read') console.log(claimCheck.location, claimCheck.state, claimCheck.problem);
 */
export async function readClaimCheck(
  s3: Pick<S3Client, 'send'>,
  pointer: PayloadPointer,
  options: { tmpDir?: string; signal?: AbortSignal } = {},
): Promise<{ claimCheck: ClaimCheck; job?: OffloadedJob }> {
  const claimCheck: ClaimCheck = { ...pointerLocation(pointer), state: 'unreadable' };
  let spool: string | undefined;
  try {
    const reply = await s3.send(
      new GetObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }),
      options.signal === undefined ? {} : { abortSignal: options.signal },
    );
    if (reply.ContentLength !== undefined) claimCheck.bytes = reply.ContentLength;
    const body = reply.Body as AsyncIterable<Uint8Array> | undefined;
    if (body === undefined) return { claimCheck: { ...claimCheck, problem: 'S3 answered without a body' } };
    spool = await mkdtemp(path.join(options.tmpDir ?? tmpdir(), 'mail-queue-claim-check-'));
    const { input, spooled } = await spoolJobJson(body, spool, 'job');
    return {
      claimCheck: { ...claimCheck, state: 'read' },
      job: { input, attachmentBytes: new Map(spooled.map((entry) => [entry.index, entry.size])) },
    };
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const missing = MISSING.has(name) || status === 404;
    const message = error instanceof Error && error.message !== '' && error.message !== 'UnknownError' ? `: ${error.message}` : '';
    return { claimCheck: { ...claimCheck, state: missing ? 'missing' : 'unreadable', problem: `${name}${message}` } };
  } finally {
    if (spool !== undefined) await rm(spool, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Where a pointer points, before anything is read. */
export function pointerLocation(pointer: PayloadPointer): Pick<ClaimCheck, 'bucket' | 'key' | 'location'> {
  return { bucket: pointer.bucket, key: pointer.key, location: `s3://${pointer.bucket}/${pointer.key}` };
}
