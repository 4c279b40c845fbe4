import { SendMessageBatchCommand, SQSClient, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidJobError, type JobIssue } from '../message/InvalidJobError.js';
import type { MailJobInput } from '../message/types.js';
import { PublishError } from './PublishError.js';
import { packBatches, toQueueMessage, type FifoPolicy, type QueueMessage } from './queueMessage.js';
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
        messages.push(toQueueMessage(job, index, fifoPolicy, `[${index}]`));
      } catch (error) {
        if (error instanceof InvalidJobError) issues.push(...error.issues);
        else throw error;
      }
    });
    if (issues.length > 0) throw new InvalidJobError(issues);
    const results = new Array<PublishResult>(jobs.length);
    for (const batch of packBatches(messages)) await sendWithRetry(batch, results);
    return results;
  }

  async function send(job: MailJobInput): Promise<PublishedJob> {
    const message = toQueueMessage(job, 0, fifoPolicy);
    const results: PublishResult[] = [];
    await sendWithRetry([message], results);
    const result = results[0];
    if (result === undefined) throw new PublishError('SQS did not report on this entry', { code: 'MissingResult', senderFault: false });
    if (!result.ok) throw result.error;
    return result;
  }

  return { queueUrl, fifo, send, sendBatch };
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
