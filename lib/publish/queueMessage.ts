import { createHash } from 'node:crypto';
import { contentJobId } from '../message/contentJobId.js';
import { InvalidJobError, type JobIssue } from '../message/InvalidJobError.js';
import { parseMailJob } from '../message/parseMailJob.js';
import { SQS_MAX_MESSAGE_BYTES, queueJson } from '../message/queueBody.js';
import type { MailJob, MailJobInput } from '../message/types.js';

/** Largest message SQS takes, and largest SendMessageBatch payload, in octets. */
export const SQS_MAX_BYTES = SQS_MAX_MESSAGE_BYTES;
/** Most entries in one SendMessageBatch call. */
export const SQS_MAX_BATCH_ENTRIES = 10;
/** Longest FIFO deduplication id. */
const MAX_DEDUPLICATION_ID = 128;

/** A checked job, serialised as the body of one SQS message. */
export interface QueueMessage {
  index: number;
  /** The job's `id`: its own, or the one derived from its content ({@link contentJobId}), which `body` then carries. */
  jobId?: string;
  body: string;
  bytes: number;
  groupId?: string;
  deduplicationId?: string;
  /** The job's `delaySeconds`: the message's SQS `DelaySeconds` (standard queues only). */
  delaySeconds?: number;
  /** Message attributes (the claim check's `ExtendedPayloadSize`). */
  attributes?: Record<string, { DataType: 'Number'; StringValue: string }>;
  /** True while `body` is the job's JSON that must go to S3 before the message is sent. */
  offload?: true;
}

/** How large a job a queue takes, and from what size it goes through S3. */
export interface SizeLimits {
  /** A job's JSON over this goes through S3 (when `offload`). */
  offloadThresholdBytes: number;
  /** A job's JSON over this is refused. */
  maxMessageBytes: number;
  /** A payload bucket is configured. */
  offload: boolean;
}

/** Default {@link SizeLimits.offloadThresholdBytes}: 256 KiB, as the AWS SQS Extended Client libraries. */
export const DEFAULT_OFFLOAD_THRESHOLD_BYTES = 262_144;
/** Default {@link SizeLimits.maxMessageBytes}: 40 MiB, about the message size SES takes. */
export const DEFAULT_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** The limits of a queue without a payload bucket: SQS's 1 MiB per job. */
export const INLINE_LIMITS: SizeLimits = { offloadThresholdBytes: SQS_MAX_MESSAGE_BYTES, maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, offload: false };

/** How the FIFO ids of a message are chosen; absent for standard queues. */
export interface FifoPolicy {
  groupId: (job: MailJobInput) => string;
}

/**
 * Checks a job and turns it into a queue message: parsed (so that a bad job fails here, at the
 * producer), given its content-derived `id` when it has none ({@link contentJobId}, the id the
 * function would derive for it: set here, so that the producer, the function, its logs, the
 * ledger and the DLQ name the job alike whether it travels inline or through S3), serialised as
 * JSON, and checked against the size limits. On FIFO queues the deduplication id is the job's
 * `id` (hashed when longer than 128 characters).
 * @throws {InvalidJobError} with paths under `prefix`.
 */
export function toQueueMessage(
  job: MailJobInput,
  index: number,
  fifo: FifoPolicy | undefined,
  prefix = '',
  limits: SizeLimits = INLINE_LIMITS,
): QueueMessage {
  let parsed: MailJob;
  try {
    parsed = parseMailJob(job);
  } catch (error) {
    if (!(error instanceof InvalidJobError) || prefix === '') throw error;
    throw new InvalidJobError(error.issues.map((issue) => prefixed(issue, prefix)));
  }
  const jobId = job.id ?? contentJobId(parsed);
  const body = queueJson(job.id === undefined ? { ...job, id: jobId } : job); // U+FFFE and U+FFFF escaped: SQS refuses them
  const bytes = Buffer.byteLength(body);
  checkSize(bytes, limits, prefix);
  const message: QueueMessage = {
    index,
    jobId,
    body,
    bytes,
    ...(limits.offload && bytes > limits.offloadThresholdBytes ? { offload: true as const } : {}),
  };
  const delaySeconds = delayOf(job, fifo !== undefined, prefix);
  const delayed = delaySeconds === undefined ? message : { ...message, delaySeconds };
  if (fifo === undefined) return delayed;
  return { ...delayed, groupId: fifo.groupId(job), deduplicationId: deduplicationId(jobId, body) };
}

/**
 * Refuses a job's JSON of `bytes` octets that the queue cannot take: over `maxMessageBytes`, or
 * over SQS's 1 MiB without a payload bucket (the message names the option that lifts it).
 * @throws {InvalidJobError} with the figures, at `path`.
 */
export function checkSize(bytes: number, limits: SizeLimits, path: string): void {
  let message: string | undefined;
  if (limits.offload && bytes > limits.maxMessageBytes)
    message = `is ${bytes} octets as JSON; this queue takes at most ${limits.maxMessageBytes} octets per job (maxMessageBytes)`;
  else if (!limits.offload && bytes > SQS_MAX_BYTES)
    message =
      `is ${bytes} octets as JSON; SQS takes at most ${SQS_MAX_BYTES} octets per message: give the queue a payloadBucket ` +
      `(mail-queue: --payload-bucket) to send larger jobs through S3, up to ${limits.maxMessageBytes} octets`;
  if (message !== undefined) throw new InvalidJobError([{ path, message }]);
}

/** The FIFO deduplication id of a job: its `id` (hashed when longer than 128 characters), else the sha256 of its JSON. */
export function deduplicationId(jobId: string | undefined, body: string, bodySha256?: string): string {
  if (jobId === undefined && bodySha256 !== undefined) return bodySha256;
  if (jobId !== undefined && jobId.length <= MAX_DEDUPLICATION_ID) return jobId;
  return createHash('sha256')
    .update(jobId ?? body)
    .digest('hex');
}

/**
 * The job's `delaySeconds` for SQS, checked against the queue: a FIFO queue takes no per-message
 * delay (SQS refuses `DelaySeconds` on its messages), so a delay there is refused here, before
 * anything is sent; 0 (no delay) is left out there.
 * @throws {InvalidJobError} at `<prefix>.delaySeconds` for a delay on a FIFO queue
 */
function delayOf(job: MailJobInput, fifo: boolean, prefix: string): number | undefined {
  const { delaySeconds } = job;
  if (delaySeconds === undefined || (fifo && delaySeconds === 0)) return undefined;
  if (fifo) {
    throw new InvalidJobError([
      {
        path: prefix === '' ? 'delaySeconds' : `${prefix}.delaySeconds`,
        message:
          "cannot be used on a FIFO queue: SQS takes no per-message delay there (it would break the group's order); give the queue a DelaySeconds of its own, or publish to a standard queue",
      },
    ]);
  }
  return delaySeconds;
}

function prefixed(issue: JobIssue, prefix: string): JobIssue {
  if (issue.path === '') return { path: prefix, message: issue.message };
  return { path: issue.path.startsWith('[') ? `${prefix}${issue.path}` : `${prefix}.${issue.path}`, message: issue.message };
}

/**
 * Splits messages, in order, into SendMessageBatch calls of at most 10 entries and 1 MiB.
 * @example
 * packBatches(messages).length; // 3 for 25 small messages
 */
export function packBatches(messages: readonly QueueMessage[]): QueueMessage[][] {
  const batches: QueueMessage[][] = [];
  let current: QueueMessage[] = [];
  let size = 0;
  for (const message of messages) {
    if (current.length === SQS_MAX_BATCH_ENTRIES || (current.length > 0 && size + message.bytes > SQS_MAX_BYTES)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(message);
    size += message.bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
