/**
 * `npm start -- --demo`: a handful of sample jobs that between them show every outcome, thanks to
 * the local SMTP server's refusing recipients (RecipientRules.ts). The valid ones go through the
 * producer API, as any service would publish them; the invalid one is written to the queue
 * directly, because the producer refuses to publish it.
 * @module
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createMailQueue } from '../publish/index.js';
import type { MailJobInput } from '../publish/index.js';

/** One sample job and the outcome it shows. */
export interface DemoJob {
  shows: string;
  /** A job for the producer API, or a raw body (not a valid job) for the queue. */
  job: MailJobInput | { body: string };
}

/** The sample jobs, in the order they are published. */
export const DEMO_JOBS: readonly DemoJob[] = [
  {
    shows: 'delivered',
    job: {
      v: 1,
      id: 'demo-welcome',
      to: 'Ann Example <ann@example.com>',
      subject: 'Welcome to outbound-mail',
      text: 'Hello Ann,\n\nthis message went from the queue through the send-mail handler to the local SMTP server.\n',
      html: '<p>Hello Ann,</p><p>this message went from the <b>queue</b> through the send-mail handler to the local SMTP server.</p>',
    },
  },
  {
    shows: 'partly refused (550 for one recipient, the others take it)',
    job: {
      v: 1,
      id: 'demo-partly-refused',
      to: ['bob@example.com', 'refuse@example.com'],
      subject: 'Partly refused',
      text: 'refuse@ answers 550.\n',
    },
  },
  {
    shows: 'transient (450), retried after its backoff, then delivered',
    job: {
      v: 1,
      id: 'demo-transient',
      to: 'later@example.com',
      subject: 'Delivered on the second try',
      text: 'later@ answers 450 the first time.\n',
    },
  },
  {
    shows: 'partly refused for now: the 450 recipient is re-enqueued as a new job, then delivered',
    job: {
      v: 1,
      id: 'demo-requeued',
      to: ['carol@example.com', 'later+requeued@example.com'],
      subject: 'Re-enqueued for one recipient',
      text: 'carol@ takes it, later@ on the next try.\n',
    },
  },
  {
    shows: 'permanent (every recipient refused with 550): dead-lettered at once',
    job: { v: 1, id: 'demo-refused', to: 'refuse+for-good@example.com', subject: 'Refused for good', text: 'Nobody takes this one.\n' },
  },
  {
    shows: "suppressed where the environment has allowedRecipients (dev's: example.com): not sent, done",
    job: {
      v: 1,
      id: 'demo-suppressed',
      to: 'dan@example.org',
      subject: 'Outside the allow-list',
      text: 'The dev stack would not send this one either.\n',
    },
  },
  {
    shows: 'invalid job: dead-lettered at once',
    job: { body: JSON.stringify({ v: 1, id: 'demo-invalid', to: 'not an address', subject: 'Broken job' }) },
  },
];

/** A published sample job. */
export interface PublishedDemoJob {
  shows: string;
  messageId: string;
}

/**
 * Publishes {@link DEMO_JOBS} to the queue.
 * @throws the producer's or the SQS client's error when the queue does not take one
 */
export async function publishDemoJobs(sqs: SQSClient, queueUrl: string): Promise<PublishedDemoJob[]> {
  const queue = createMailQueue({ queueUrl, client: sqs });
  const published: PublishedDemoJob[] = [];
  for (const demo of DEMO_JOBS) {
    if ('body' in demo.job) {
      const fifo = queueUrl.endsWith('.fifo');
      const sent = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: demo.job.body,
          ...(fifo ? { MessageGroupId: 'mail', MessageDeduplicationId: `demo-invalid-${Date.now()}` } : {}),
        }),
      );
      published.push({ shows: demo.shows, messageId: sent.MessageId ?? '' });
    } else {
      const sent = await queue.send(demo.job);
      published.push({ shows: demo.shows, messageId: sent.messageId });
    }
  }
  return published;
}
