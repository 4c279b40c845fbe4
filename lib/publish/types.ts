import type { SQSClient } from '@aws-sdk/client-sqs';
import type { MailJobInput } from '../message/types.js';
import type { JobWithFiles } from './JobWithFiles.js';
import type { PublishError } from './PublishError.js';

/**
 * What the producer needs of an S3 client to offload a job: `send` of a `PutObjectCommand`. An
 * `S3Client` of `@aws-sdk/client-s3` is one (typed loosely so that this package does not need it).
 */
export interface S3ClientLike {
  send(command: never): Promise<unknown>;
}

/** Options of {@link createMailQueue}. */
export interface MailQueueOptions {
  /** The queue URL; a URL ending in `.fifo` is a FIFO queue. */
  readonly queueUrl: string;
  /** @default a new `SQSClient` from the environment (region, credentials; `AWS_ENDPOINT_URL_SQS` as its endpoint) */
  readonly client?: SQSClient;
  /**
   * FIFO queues only: the message group of a job. Jobs of one group are delivered in order,
   * one at a time; different groups go in parallel.
   * @default 'mail' (one group: strict order)
   */
  readonly messageGroupId?: string | ((job: MailJobInput) => string);
  /**
   * The claim-check bucket (the stack's payload bucket): a job whose JSON is over
   * `offloadThresholdBytes` is put there under `payloads/` and the queue carries a pointer in the
   * AWS SQS Extended Client's format. Without it, a job over 1 MiB (SQS's limit) is refused.
   * Needs `@aws-sdk/client-s3` installed, unless `s3Client` is given.
   */
  readonly payloadBucket?: string;
  /** @default a new `S3Client` from the environment (`AWS_ENDPOINT_URL_S3` as its endpoint, path-style), made on the first offload */
  readonly s3Client?: S3ClientLike;
  /** A job whose JSON (with its message attributes) is over this many octets goes through S3. @default 262144 (256 KiB) */
  readonly offloadThresholdBytes?: number;
  /** The largest job's JSON taken at all, in octets; a larger one is refused before anything is sent. @default 41943040 (40 MiB) */
  readonly maxMessageBytes?: number;
  /** Retries of entries SQS failed on its side (`SenderFault: false`). */
  readonly retry?: {
    /** Tries per entry, the first included. @default 4 */
    readonly attempts?: number;
    /** Backoff before the n-th retry: a random delay up to `min(maxDelayMs, baseDelayMs * 2^(n-1))`. @default 100 */
    readonly baseDelayMs?: number;
    /** @default 2000 */
    readonly maxDelayMs?: number;
  };
}

/** SQS took the job. */
export interface PublishedJob {
  ok: true;
  /** Position of the job in the list given to {@link MailQueue.sendBatch}. */
  index: number;
  /**
   * The job's `id`: its own, or, for a job published without one, the id derived from its content
   * (`content.<32 hex digits>`), which the producer set in the job. Delivery logs, the ledger, the
   * Message-ID and the DLQ's `JobId` name the job by it.
   */
  jobId?: string;
  /** The SQS message id. */
  messageId: string;
  /** FIFO queues: the sequence number SQS gave the message. */
  sequenceNumber?: string;
  /** How many SendMessageBatch calls it took. */
  attempts: number;
}

/** SQS did not take the job. */
export interface FailedJob {
  ok: false;
  index: number;
  /** As {@link PublishedJob.jobId}. */
  jobId?: string;
  error: PublishError;
  attempts: number;
}

/** The outcome of one job of a {@link MailQueue.sendBatch}. */
export type PublishResult = PublishedJob | FailedJob;

/** The producer's handle on a mail queue. */
export interface MailQueue {
  readonly queueUrl: string;
  readonly fifo: boolean;
  /**
   * Checks and publishes one job: a job over the offload threshold goes through S3 first (a
   * {@link JobWithFiles} is streamed from its files, never whole in memory).
   * @throws {InvalidJobError} when the job is invalid or larger than this queue takes (nothing is sent).
   * @throws {PublishError} when SQS did not take it, or S3 its body (code `PayloadUploadFailed`).
   */
  send(job: MailJobInput | JobWithFiles): Promise<PublishedJob>;
  /**
   * Checks every job, then publishes them in SendMessageBatch calls of at most 10 entries and
   * 1 MiB, retrying entries SQS failed on its side. Resolves with one result per job, in order.
   * @throws {InvalidJobError} when any job is invalid or too large; paths start with the job's
   * position (`[3].to`), and nothing is sent.
   */
  sendBatch(jobs: readonly MailJobInput[]): Promise<PublishResult[]>;
  /**
   * Checks a job as `send` would (valid, within the size this queue takes), sending nothing.
   * @throws {InvalidJobError} as `send` does.
   */
  check(job: MailJobInput): void;
}
