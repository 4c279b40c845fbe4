/**
 * Filling a dead-letter queue in the SQS emulator the way the real components do: the handler's
 * `QueueActions.deadLetter` on a record received from the mail queue (its attribute format), or
 * SQS's own redrive after `maxReceiveCount` receives.
 * @module
 */
import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { readRecord } from '../../lib/delivery/mailRecord.js';
import type { FailureReason } from '../../lib/delivery/outcome.js';
import { QueueActions } from '../../lib/delivery/QueueActions.js';
import type { MailQueues, SqsEmulator } from '../support/sqsQueues.js';

/** A composed job body. */
export function jobBody(id: string | undefined, to: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    v: 1,
    ...(id === undefined ? {} : { id }),
    from: 'shop@example.com',
    to,
    subject: `Order ${id ?? ''}`,
    text: 'Hello',
    ...extra,
  });
}

/** The reason the handler gives for a recipient refused for good. */
export const NO_SUCH_USER: FailureReason = {
  phase: 'rcpt',
  code: 550,
  enhancedCode: '5.1.1',
  message: '550 5.1.1 <nobody@example.org>: no such user',
  error: 'RecipientsRefusedError',
};

/** The reason the handler gives for a message refused after the data. */
export const SPAM: FailureReason = {
  phase: 'data',
  code: 554,
  enhancedCode: '5.7.1',
  message: '554 5.7.1 looks like spam',
  error: 'DataRefusedError',
};

/**
 * Publishes `body` to the mail queue, receives it, dead-letters it with `reason` through the
 * handler's `QueueActions`, and deletes it from the mail queue, as the handler does.
 * @returns the record's SQS message id on the mail queue
 */
export async function deadLetterByHandler(
  emulator: SqsEmulator,
  queues: MailQueues,
  body: string,
  reason: FailureReason,
  options: NonNullable<Parameters<QueueActions['deadLetter']>[2]> & { attributes?: Record<string, string>; groupId?: string } = {},
): Promise<string> {
  await queues.publish([body], {
    ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
    ...(options.groupId === undefined ? {} : { groupId: options.groupId }),
  });
  const [received] = await queues.receiveRecords(1);
  if (received === undefined) throw new Error('the job did not arrive');
  const record = readRecord(received);
  const { attributes: _attributes, groupId: _groupId, ...deadLetterOptions } = options;
  await new QueueActions(emulator.sqs, queues).deadLetter(record, reason, deadLetterOptions);
  await emulator.sqs.send(new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle: record.receiptHandle }));
  // The DLQ message's SentTimestamp orders the listing: keep sends a few milliseconds apart.
  await new Promise((resolve) => setTimeout(resolve, 5));
  return record.messageId;
}

/**
 * Publishes `body` and receives it until SQS's redrive moves it to the DLQ (the queue must have
 * been made with `maxReceiveCount: 1`).
 */
export async function deadLetterBySqs(emulator: SqsEmulator, queues: MailQueues, body: string, attributes?: Record<string, string>): Promise<void> {
  await queues.publish([body], attributes === undefined ? {} : { attributes });
  for (let receive = 0; receive < 2; receive++) {
    await emulator.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0 }),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
}
