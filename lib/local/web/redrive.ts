/**
 * The page's Redrive button in the local run: the operator library's `redriveDeadLetters`, the
 * same code as `mail-queue dlq redrive --job <id>` (sent to the mail queue first, deleted from the
 * DLQ only after), with the letters named by their DLQ message ids.
 * @module
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { redriveDeadLetters } from '../../operate/index.js';
import type { DeadLetterActions, RedriveOutcome } from './routes.js';

/** The queues a redrive reads and writes. */
export interface RedriveQueues {
  client: SQSClient;
  queueUrl: string;
  dlqUrl: string;
}

/**
 * What the page calls to redrive.
 * @example
 * await startWebPage({ port, mailbox, activity, deadLetters: operatorRedrive(sqs) });
 */
export function operatorRedrive(queues: RedriveQueues): DeadLetterActions {
  return {
    async redrive(ids: string[]): Promise<RedriveOutcome> {
      const summary = await redriveDeadLetters({ sqs: queues.client, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, ids, waitSeconds: 0 });
      return {
        redriven: summary.redriven,
        problems: [
          ...summary.notFound.map((id) => `${id}: no longer in the dead-letter queue`),
          ...summary.notSent.map(({ letter, reason }) => `${letter.jobId ?? letter.messageId}: not taken by the mail queue (${reason})`),
          ...summary.notDeleted.map(
            ({ letter, reason }) => `${letter.jobId ?? letter.messageId}: sent, but still in the dead-letter queue too (${reason})`,
          ),
        ],
      };
    },
  };
}
