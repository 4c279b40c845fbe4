import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidJobError, type JobIssue } from '../message/InvalidJobError.js';
import type { MailJobInput } from '../message/types.js';
import { queueMessageBytes } from '../message/queueBody.js';
import { PublishError } from './PublishError.js';
import { JobWithFiles } from './JobWithFiles.js';
import { offloadPayload, payloadOfText, type JobPayload, type PayloadTarget } from './payloadOffload.js';
import {
  checkSize,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_OFFLOAD_THRESHOLD_BYTES,
  deduplicationId,
  packBatches,
  SQS_MAX_BYTES,
  toQueueMessage,
  type FifoPolicy,
  type QueueMessage,
  type SizeLimits,
} from './queueMessage.js';
import type { MailQueue, MailQueueOptions, PublishedJob, PublishResult } from './types.js';

const DEFAULT_GROUP = 'mail';

/**
 * The producer API: publishes mail jobs to the mail queue. Jobs are checked before they leave
 * the process, so that a bad job fails where the bug is, not in the Lambda.
 * @throws {TypeError} when `queueUrl` is not an http(s) URL.
 * @example
 * import { createMailQueue } from 'outbound-mail/publish';
 *
 * const queue = createMailQueue({ queueUrl: process.env.MAIL_QUEUE_URL! });
 * await queue.send({ v: 1, id: 'order-1234', to: 'ann@example.com', subject: 'Your order', text: 'Thanks!' });
 *
 * const results = await queue.sendBatch(jobs);
 * for (const r of results) if (!r.ok) console.error(`job ${r.index}: ${r.error.message}`);
 */
export function createMailQueue(options: MailQueueOptions): MailQueue {
  const { queueUrl } = options;
  if (!/^https?:\/\/[^/]+\/.+/.test(queueUrl))
    throw new TypeError(`queueUrl must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>), not ${JSON.stringify(queueUrl)}`);
  const client = options.client ?? defaultClient();
  const fifo = queueUrl.endsWith('.fifo');
  const group = options.messageGroupId ?? DEFAULT_GROUP;
  const fifoPolicy: FifoPolicy | undefined = fifo ? { groupId: typeof group === 'function' ? group : () => group } : undefined;
  const attempts = Math.max(1, options.retry?.attempts ?? 4);
  const baseDelayMs = options.retry?.baseDelayMs ?? 100;
  const maxDelayMs = options.retry?.maxDelayMs ?? 2000;
  const limits = sizeLimits(options);
  const target: PayloadTarget | undefined =
    options.payloadBucket === undefined ? undefined : { bucket: options.payloadBucket, ...(options.s3Client ? { s3Client: options.s3Client } : {}) };

  /** Sends one batch, retrying the entries SQS failed on its side; fills `results`. */
  async function sendWithRetry(batch: QueueMessage[], results: PublishResult[]): Promise<void> {
    let pending = batch;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1) await sleep(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 2)));
      const entries = pending.map((message, slot) => entry(message, slot));
      let response;
      try {
        response = await client.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      } catch (error) {
        const failure = callError(error);
        for (const message of pending) results[message.index] = failed(message, failure, attempt);
        return;
      }
      const retry: QueueMessage[] = [];
      const answered = new Set<string>();
      for (const ok of response.Successful ?? []) {
        const message = ok.Id === undefined ? undefined : pending[Number(ok.Id)];
        if (ok.Id === undefined || message === undefined) continue;
        answered.add(ok.Id);
        results[message.index] = {
          ok: true,
          index: message.index,
          messageId: ok.MessageId ?? '',
          attempts: attempt,
          ...(message.jobId === undefined ? {} : { jobId: message.jobId }),
          ...(ok.SequenceNumber === undefined ? {} : { sequenceNumber: ok.SequenceNumber }),
        };
      }
      for (const failure of response.Failed ?? []) {
        const message = failure.Id === undefined ? undefined : pending[Number(failure.Id)];
        if (failure.Id === undefined || message === undefined) continue;
        answered.add(failure.Id);
        const senderFault = failure.SenderFault === true;
        if (!senderFault && attempt < attempts) retry.push(message);
        else
          results[message.index] = failed(
            message,
            new PublishError(failure.Message ?? failure.Code ?? 'SQS refused the message', { code: failure.Code ?? 'Unknown', senderFault }),
            attempt,
          );
      }
      pending.forEach((message, slot) => {
        if (!answered.has(String(slot))) {
          results[message.index] = failed(
            message,
            new PublishError('SQS did not report on this entry', { code: 'MissingResult', senderFault: false }),
            attempt,
          );
        }
      });
      pending = retry;
    }
  }

  function entry(message: QueueMessage, slot: number): SendMessageBatchRequestEntry {
    return {
      Id: String(slot),
      MessageBody: message.body,
      ...(message.attributes === undefined ? {} : { MessageAttributes: message.attributes }),
      ...(message.delaySeconds === undefined ? {} : { DelaySeconds: message.delaySeconds }),
      ...(message.groupId === undefined ? {} : { MessageGroupId: message.groupId }),
      ...(message.deduplicationId === undefined ? {} : { MessageDeduplicationId: message.deduplicationId }),
    };
  }

  async function sendBatch(jobs: readonly MailJobInput[]): Promise<PublishResult[]> {
    const messages: QueueMessage[] = [];
    const issues: JobIssue[] = [];
    jobs.forEach((job, index) => {
      try {
        messages.push(toQueueMessage(job, index, fifoPolicy, `[${index}]`, limits));
      } catch (error) {
        if (error instanceof InvalidJobError) issues.push(...error.issues);
        else throw error;
      }
    });
    if (issues.length > 0) throw new InvalidJobError(issues);
    const results = new Array<PublishResult>(jobs.length);
    const ready: QueueMessage[] = [];
    for (const message of messages) {
      try {
        ready.push(await offloaded(message, message.body));
      } catch (error) {
        if (!(error instanceof PublishError)) throw error;
        results[message.index] = failed(message, error, 1);
      }
    }
    for (const batch of packBatches(ready)) await sendWithRetry(batch, results);
    return results;
  }

  /** The message as it goes on the queue: a pointer when its body must go through S3 (uploaded now). */
  async function offloaded(message: QueueMessage, json: string | JobPayload): Promise<QueueMessage> {
    if (message.offload !== true || target === undefined) return message;
    const { body, attributes, sha256 } = await offloadPayload(target, typeof json === 'string' ? payloadOfText(json) : json);
    const { offload: _done, ...rest } = message;
    return {
      ...rest,
      body,
      attributes,
      bytes: queueMessageBytes(body, attributes),
      ...(rest.deduplicationId === undefined ? {} : { deduplicationId: deduplicationId(rest.jobId, '', sha256) }),
    };
  }

  async function send(input: MailJobInput | JobWithFiles): Promise<PublishedJob> {
    let message: QueueMessage;
    if (input instanceof JobWithFiles) {
      const unlimited = { ...limits, offload: false, maxMessageBytes: Number.MAX_SAFE_INTEGER };
      // Valid and within the limits before its files are read for its id.
      toQueueMessage(input.checkJob, 0, fifoPolicy, '', unlimited);
      checkSize(input.bytes, limits, '');
      const job = await input.withContentId();
      message = toQueueMessage(job.checkJob, 0, fifoPolicy, '', unlimited);
      if (limits.offload && job.bytes > limits.offloadThresholdBytes) message = await offloaded({ ...message, offload: true }, job.payload());
      else message = toQueueMessage(await job.job(), 0, fifoPolicy, '', limits);
    } else {
      const inline = toQueueMessage(input, 0, fifoPolicy, '', limits);
      message = await offloaded(inline, inline.body);
    }
    const results: PublishResult[] = [];
    await sendWithRetry([message], results);
    const result = results[0];
    if (result === undefined) throw new PublishError('SQS did not report on this entry', { code: 'MissingResult', senderFault: false });
    if (!result.ok) throw result.error;
    return result;
  }

  function check(job: MailJobInput): void {
    toQueueMessage(job, 0, undefined, '', limits);
  }

  return { queueUrl, fifo, send, sendBatch, check };
}

/** The size limits of a queue with these options. */
function sizeLimits(options: MailQueueOptions): SizeLimits {
  const offloadThresholdBytes = options.offloadThresholdBytes ?? DEFAULT_OFFLOAD_THRESHOLD_BYTES;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(offloadThresholdBytes) || offloadThresholdBytes < 0 || offloadThresholdBytes > SQS_MAX_BYTES - 1024)
    throw new TypeError(`offloadThresholdBytes must be an integer from 0 to ${SQS_MAX_BYTES - 1024}, not ${offloadThresholdBytes}`);
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1)
    throw new TypeError(`maxMessageBytes must be a positive integer, not ${maxMessageBytes}`);
  return { offloadThresholdBytes, maxMessageBytes, offload: options.payloadBucket !== undefined };
}

/**
 * An SQS client from the environment. `AWS_ENDPOINT_URL_SQS` is passed as an explicit endpoint so
 * that it wins over the queue URL's host, which the SDK would otherwise prefer (and which, for a
 * local emulator, may not resolve).
 */
function defaultClient(): SQSClient {
  const endpoint = process.env.AWS_ENDPOINT_URL_SQS || process.env.AWS_ENDPOINT_URL;
  return new SQSClient(endpoint ? { endpoint } : {});
}

function failed(message: QueueMessage, error: PublishError, attempts: number): PublishResult {
  return { ok: false, index: message.index, error, attempts, ...(message.jobId === undefined ? {} : { jobId: message.jobId }) };
}

/** A whole SendMessageBatch call failed (after the SDK's own retries): every entry of it fails with this. */
function callError(error: unknown): PublishError {
  const sdk = error as { name?: string; message?: string; $fault?: string };
  return new PublishError(`SendMessageBatch failed: ${sdk.message ?? String(error)}`, {
    code: sdk.name ?? 'Error',
    senderFault: sdk.$fault === 'client',
    cause: error,
  });
}
