import type { SQSClient } from '@aws-sdk/client-sqs';
import type { MailJobInput } from '../message/types.js';
import type { PublishError } from './PublishError.js';

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
  /** The job's own `id`, when it has one. */
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
   * Checks and publishes one job.
   * @throws {InvalidJobError} when the job is invalid or larger than SQS takes (nothing is sent).
   * @throws {PublishError} when SQS did not take it.
   */
  send(job: MailJobInput): Promise<PublishedJob>;
  /**
   * Checks every job, then publishes them in SendMessageBatch calls of at most 10 entries and
   * 1 MiB, retrying entries SQS failed on its side. Resolves with one result per job, in order.
   * @throws {InvalidJobError} when any job is invalid or too large; paths start with the job's
   * position (`[3].to`), and nothing is sent.
   */
  sendBatch(jobs: readonly MailJobInput[]): Promise<PublishResult[]>;
}
