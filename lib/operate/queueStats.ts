/**
 * How full the mail queue and its dead-letter queue are, from what SQS's API tells.
 * @module
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { QueueAttributeName, SQSClient } from '@aws-sdk/client-sqs';
import { releaseMessages, scanQueue } from './scanQueue.js';
import type { QueueDepth, QueueStats } from './types.js';

/** Options of {@link queueStats}. */
export interface QueueStatsOptions {
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl?: string;
  /**
   * DLQ messages to peek at for the age of the oldest (0: no peek). The mail queue is never
   * peeked: a receive there would hide jobs from the function and count as one of their receives.
   * @default 100
   */
  peekLimit?: number;
  /** Long polling of the peek's receives. @default 1 */
  waitSeconds?: number;
}

/**
 * The depths of the mail queue and the DLQ (`GetQueueAttributes`), and the age of the oldest
 * dead letter. SQS's API gives no age for a queue's oldest message (that is the CloudWatch metric
 * `ApproximateAgeOfOldestMessage`, on the stack's dashboard); for the DLQ, which nothing consumes,
 * a peek at up to `peekLimit` messages (received, then made visible again) reads their
 * `SentTimestamp`s: exact when the DLQ holds no more than that, a lower bound otherwise.
 *
 * @throws the SQS client's error when a queue cannot be read
 * @example
 * const stats = await queueStats({ sqs, queueUrl, dlqUrl });
 * console.log(stats.queue.ready, stats.dlq?.ready);
 */
export async function queueStats(options: QueueStatsOptions): Promise<QueueStats> {
  const stats: QueueStats = { queueUrl: options.queueUrl, queue: await depthOf(options.sqs, options.queueUrl) };
  if (options.dlqUrl === undefined) return stats;
  stats.dlqUrl = options.dlqUrl;
  stats.dlq = await depthOf(options.sqs, options.dlqUrl);
  const limit = options.peekLimit ?? 100;
  if (limit > 0 && stats.dlq.ready > 0) {
    const oldest = await oldestSentAt(options.sqs, options.dlqUrl, limit, options.waitSeconds);
    stats.deadLettersSeen = oldest.seen;
    if (oldest.sentAt !== undefined) stats.oldestDeadLetterAgeSeconds = Math.max(0, Math.round((Date.now() - oldest.sentAt) / 1000));
  }
  return stats;
}

/**
 * The depths of one queue.
 * @throws the SQS client's error (e.g. `QueueDoesNotExist`)
 */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  return depthOf(sqs, queueUrl);
}

async function depthOf(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const reply = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const value = (name: QueueAttributeName) => Number(reply.Attributes?.[name] ?? 0);
  return {
    ready: value('ApproximateNumberOfMessages'),
    inFlight: value('ApproximateNumberOfMessagesNotVisible'),
    delayed: value('ApproximateNumberOfMessagesDelayed'),
  };
}

async function oldestSentAt(
  sqs: SQSClient,
  dlqUrl: string,
  limit: number,
  waitSeconds: number | undefined,
): Promise<{ sentAt?: number; seen: number }> {
  const held = [];
  let sentAt: number | undefined;
  try {
    for await (const batch of scanQueue(sqs, dlqUrl, { visibilitySeconds: 30, max: limit, ...(waitSeconds === undefined ? {} : { waitSeconds }) })) {
      held.push(...batch);
      for (const message of batch) {
        const sent = Number(message.Attributes?.SentTimestamp);
        if (Number.isFinite(sent) && sent > 0 && (sentAt === undefined || sent < sentAt)) sentAt = sent;
      }
    }
  } finally {
    await releaseMessages(sqs, dlqUrl, held);
  }
  return sentAt === undefined ? { seen: held.length } : { sentAt, seen: held.length };
}
