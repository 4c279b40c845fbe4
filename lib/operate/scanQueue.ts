/**
 * Reading a queue's messages one batch at a time, holding what was received out of sight until
 * the caller lets it go: the only way SQS offers to look at a queue, since a received message is
 * hidden for its visibility timeout and a receive that returns nothing ends the look.
 * @module
 */
import { ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';

/** How a scan receives. */
export interface ScanOptions {
  /** Seconds each received message stays hidden, so the next receives return others. */
  visibilitySeconds: number;
  /**
   * Long polling of each receive. On AWS a short poll (0) samples a subset of the servers and
   * may answer "nothing" for a queue that holds a few messages, which would end the scan early;
   * a wait of 1 s asks them all. @default 1
   */
  waitSeconds?: number;
  /** Stop after this many messages. @default Infinity */
  max?: number;
}

/**
 * Receives the queue's messages in batches of up to 10, every message attribute and system
 * attribute included, and yields each batch of messages not seen before in this scan. It ends
 * when a receive returns nothing (or only messages seen before, which came back after their
 * visibility timeout: those are let go at once) or after `max` messages. The yielded messages
 * stay hidden for `visibilitySeconds`: delete them, or give them back with {@link releaseMessages}.
 * FIFO queues hand out no further message of a group while one of it is hidden, so a scan sees
 * the first message of each group that is not being received by someone else.
 */
export async function* scanQueue(sqs: SQSClient, queueUrl: string, options: ScanOptions): AsyncGenerator<Message[]> {
  const seen = new Set<string>();
  const max = options.max ?? Number.POSITIVE_INFINITY;
  while (seen.size < max) {
    const reply = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - seen.size),
        VisibilityTimeout: options.visibilitySeconds,
        WaitTimeSeconds: options.waitSeconds ?? 1,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['All'],
      }),
    );
    const messages = reply.Messages ?? [];
    const fresh = messages.filter((message) => message.MessageId !== undefined && !seen.has(message.MessageId));
    const again = messages.filter((message) => !fresh.includes(message));
    if (again.length > 0) await releaseMessages(sqs, queueUrl, again);
    if (fresh.length === 0) return;
    for (const message of fresh) seen.add(message.MessageId ?? '');
    yield fresh;
  }
}

/**
 * Makes received messages visible again at once (visibility timeout 0), ten per request.
 * Best effort: a message whose change fails comes back when its visibility timeout ends anyway.
 * @returns how many changes failed
 */
export async function releaseMessages(sqs: SQSClient, queueUrl: string, messages: readonly Message[]): Promise<number> {
  let failed = 0;
  for (let start = 0; start < messages.length; start += 10) {
    const slice = messages.slice(start, start + 10);
    try {
      const reply = await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: slice.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '', VisibilityTimeout: 0 })),
        }),
      );
      failed += reply.Failed?.length ?? 0;
    } catch {
      failed += slice.length;
    }
  }
  return failed;
}
