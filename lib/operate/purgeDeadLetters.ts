/**
 * Emptying the dead-letter queue, counting what goes.
 * @module
 */
import { DeleteMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { matchesFilter, readDeadLetter } from './deadLetter.js';
import { releaseMessages, scanQueue } from './scanQueue.js';
import type { DeadLetterFilter } from './types.js';

/** Options of {@link purgeDeadLetters}. */
export interface PurgeOptions {
  sqs: SQSClient;
  dlqUrl: string;
  /** Delete only the letters that match it. @default every letter */
  filter?: DeadLetterFilter;
  /** Called after each batch with the messages deleted so far. */
  onProgress?: (removed: number) => void;
  /** Long polling of each receive. @default 1 */
  waitSeconds?: number;
}

/** What a purge removed. */
export interface PurgeSummary {
  /** Messages deleted from the DLQ. */
  removed: number;
  /** Messages whose deletion failed (they stay in the DLQ). */
  failed: number;
  /** Messages left because they did not match the filter, or reached the DLQ after the purge began. */
  kept: number;
}

/**
 * Deletes the messages the DLQ held when the purge began (those matching `filter`, when given)
 * by receiving and deleting them, ten at a time, so the count is exact. `PurgeQueue` is not used: SQS runs it in the
 * background (up to 60 s), allows it once a minute, and tells no count.
 *
 * @throws the SQS client's error when the DLQ cannot be read (what was deleted before is gone)
 * @example
 * const { removed } = await purgeDeadLetters({ sqs, dlqUrl });
 */
export async function purgeDeadLetters(options: PurgeOptions): Promise<PurgeSummary> {
  const summary: PurgeSummary = { removed: 0, failed: 0, kept: 0 };
  const held: Message[] = [];
  // Only what was in the DLQ when the purge began: with jobs still arriving it ends all the same.
  const startedAt = Date.now();
  try {
    const scan = scanQueue(options.sqs, options.dlqUrl, {
      visibilitySeconds: 60,
      ...(options.waitSeconds === undefined ? {} : { waitSeconds: options.waitSeconds }),
    });
    for await (const batch of scan) {
      const doomed = batch.filter((message) => {
        const letter = readDeadLetter(message);
        return letter.sentAt.getTime() <= startedAt && (options.filter === undefined || matchesFilter(letter, options.filter));
      });
      held.push(...batch.filter((message) => !doomed.includes(message)));
      summary.kept = held.length;
      if (doomed.length === 0) continue;
      try {
        const reply = await options.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.dlqUrl,
            Entries: doomed.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
          }),
        );
        const failed = reply.Failed?.length ?? 0;
        summary.failed += failed;
        summary.removed += doomed.length - failed;
      } catch {
        summary.failed += doomed.length;
      }
      options.onProgress?.(summary.removed);
    }
  } finally {
    await releaseMessages(options.sqs, options.dlqUrl, held);
  }
  return summary;
}
