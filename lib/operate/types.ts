/**
 * What the operator tools tell about the dead-letter queue and the mail queue.
 * @module
 */
import type { ClaimCheck } from './claimCheck.js';

/** Why the handler dead-lettered a job, read from the DLQ message's `Failure*` attributes. */
export interface DeadLetterReason {
  /** `FailurePhase`: the SMTP phase (`rcpt`, `data`, ...) or `job`, `compose`, `secret`, `unknown`. */
  phase: string;
  /** `FailureCode`: the server's reply code. */
  code?: number;
  /** `FailureEnhancedCode`, e.g. `5.1.1`. */
  enhancedCode?: string;
  /** `FailureMessage`: the server's text or a description (may quote addresses). */
  message?: string;
  /** `FailureError`: the error class, e.g. `RecipientsRefusedError`. */
  error?: string;
}

/**
 * Who put the message in the DLQ: `handler` when it carries a `FailurePhase` attribute (the
 * function dead-lettered it with its reason), `sqs` when it does not (SQS moved it after the
 * queue's `maxReceiveCount` receives, with nothing attached).
 */
export type DeadLetterSource = 'handler' | 'sqs';

/** One message of the dead-letter queue, summarised (the body itself is not kept). */
export interface DeadLetter {
  /** The SQS message id in the DLQ. */
  messageId: string;
  /** The producer's job id: the `JobId` attribute, else the body's `id`. */
  jobId?: string;
  /**
   * When it reached the DLQ: the DLQ message's `SentTimestamp`. For a message SQS moved
   * (`source: 'sqs'`) SQS keeps the time the job was first sent, so it is that instead.
   */
  sentAt: Date;
  source: DeadLetterSource;
  /** `FailureKind` (`permanent`, `last-receive`, `invalid`) when the handler set it. */
  kind?: string;
  /** The handler's reason; absent when SQS moved the message. */
  reason?: DeadLetterReason;
  /** Receives of the job on the mail queue: `Attempts`, else `SourceReceiveCount`; absent when SQS moved it. */
  receives?: number;
  /** Recipient domains of the job, sorted, without duplicates (the addresses themselves are not listed). */
  recipientDomains: string[];
  /** The body is not a valid mail job (`FailureKind` `invalid`, phase `job`, or refused by `parseMailJob`): redriven only by id. */
  invalid: boolean;
  /** `SourceMessageId`: the job's SQS message id on the mail queue. */
  sourceMessageId?: string;
  /** `JobForm`, `PendingRecipients`, `DeliveredRecipients`: a copy holding only the recipients not yet delivered. */
  part?: { form: string; pending?: number; delivered?: number };
  /** FIFO DLQ: the message group. */
  messageGroupId?: string;
  /** The job's `tags`: the `Tags` attribute the handler writes, else the body's own (a job SQS moved). */
  tags?: Record<string, string>;
  /**
   * The body is a claim check (the job is in S3, issue 11): where the job is and what reading it
   * gave. Read, the job gives the letter its recipient domains, job id, tags, validity and subject.
   */
  claimCheck?: ClaimCheck;
  /** A claim check's job's subject (an inline job's subject is in its body: `dlq show`). */
  subject?: string;
  /** The body's size in octets. */
  bodyBytes: number;
  /** Every message attribute, as strings. */
  attributes: Record<string, string>;
}

/** Which dead letters a command acts on; every given criterion must hold. */
export interface DeadLetterFilter {
  /** A case-insensitive substring of the reason: phase, codes, server text, error name and kind. */
  reason?: string;
  /** The reply code (`550`) or the enhanced code (`5.1.1`), exactly; or a class such as `5xx`. */
  code?: string;
  /** The job id, exactly. */
  job?: string;
  /** The job's tags: every pair given must be among them, exactly (keys and values case-sensitive). */
  tags?: Readonly<Record<string, string>>;
  /** Only messages that reached the DLQ at or after this time. */
  since?: Date;
}

/** What a redrive did (or, with `dryRun`, would do). */
export interface RedriveSummary {
  /** Messages of the DLQ looked at. */
  examined: number;
  /** Messages that matched the filter or ids. */
  matched: number;
  /** Sent to the mail queue and deleted from the DLQ. */
  redriven: number;
  /** Matched but not redriven because the body is not a valid job (give the id to redrive one). */
  skippedInvalid: DeadLetter[];
  /** Sent to the mail queue but not deleted from the DLQ: now in both (a visible duplicate, never a loss). */
  notDeleted: { letter: DeadLetter; reason: string }[];
  /** Not taken by the mail queue: still in the DLQ only. */
  notSent: { letter: DeadLetter; reason: string }[];
  /** Ids asked for that were not found in the DLQ. */
  notFound: string[];
  /** Every matched letter that was (or would be, with `dryRun`) redriven. */
  letters: DeadLetter[];
  dryRun: boolean;
}

/** Depths of one queue, from `GetQueueAttributes`. */
export interface QueueDepth {
  /** `ApproximateNumberOfMessages`: ready to be received. */
  ready: number;
  /** `ApproximateNumberOfMessagesNotVisible`: received, not yet deleted (being delivered). */
  inFlight: number;
  /** `ApproximateNumberOfMessagesDelayed`: sent with a delay not yet over. */
  delayed: number;
}

/** The state of the mail queue and its DLQ. */
export interface QueueStats {
  queueUrl: string;
  queue: QueueDepth;
  dlqUrl?: string;
  dlq?: QueueDepth;
  /**
   * Age in seconds of the oldest message of the DLQ, from the `SentTimestamp` of the messages a
   * peek saw (every message for a DLQ of up to `peekLimit` messages); absent when empty.
   */
  oldestDeadLetterAgeSeconds?: number;
  /** How many DLQ messages the peek saw; when less than the depth, the age is a lower bound. */
  deadLettersSeen?: number;
}
