/**
 * What the delivery does on SQS besides answering the batch: dead-letter a job at once, put
 * recipients refused for now back on the queue, and stretch a failed job's visibility timeout.
 * @module
 */
import { createHash } from 'node:crypto';
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { deadLetterAttributes, payloadSizeAttribute } from './deadLetterAttributes.js';
import type { DeadLetterDetails } from './deadLetterAttributes.js';
import type { FailureReason } from './outcome.js';
import type { MailRecord } from './mailRecord.js';
import { REQUEUE_COUNT_ATTRIBUTE } from './mailRecord.js';

export { fitAttributes, MAX_MESSAGE_ATTRIBUTES } from './deadLetterAttributes.js';
export type { DeadLetterPart, FailureKind } from './deadLetterAttributes.js';

/** Where the queues are. */
export interface QueueUrls {
  queueUrl: string;
  dlqUrl: string;
}

/** One visibility change: the record and the seconds until it may be received again. */
export interface VisibilityChange {
  record: MailRecord;
  seconds: number;
}

/** A visibility change that did not take: the record's message id and why (SQS's code and message, or the call's error). */
export interface VisibilityFailure {
  messageId: string;
  reason: string;
}

/**
 * The delivery's SQS side effects. Each method either succeeds or throws; the caller turns a
 * failure into "report the record as failed" so nothing is lost.
 *
 * @example
 * const actions = new QueueActions(new SQSClient({}), { queueUrl: config.queueUrl, dlqUrl: config.dlqUrl });
 * await actions.deadLetter(record, { phase: 'rcpt', code: 550, message: '550 5.1.1 no such user' });
 */
export class QueueActions {
  readonly #sqs: Pick<SQSClient, 'send'>;
  readonly #urls: QueueUrls;

  constructor(sqs: Pick<SQSClient, 'send'>, urls: QueueUrls) {
    this.#sqs = sqs;
    this.#urls = urls;
  }

  /**
   * Sends the job to the dead-letter queue with the reason as message attributes
   * (`FailurePhase`, `FailureKind` (see {@link FailureKind}), `FailureCode`, `FailureEnhancedCode`,
   * `FailureError` (the error class), `FailureMessage`, `SourceMessageId`, `SourceReceiveCount`,
   * `Attempts` when given, `JobId` when known, and `Tags` (the job's tags as one JSON object) when it
   * has any; with `part`, also `JobForm`, `PendingRecipients` and `DeliveredRecipients`, see
   * {@link DeadLetterPart}); for a claim check, its `ExtendedPayloadSize` (see `payloadSizeAttribute`),
   * never dropped. At most {@link MAX_MESSAGE_ATTRIBUTES} (SQS's limit), see {@link fitAttributes}.
   *
   * @param body the job to keep; the record's own body unless only part of it failed
   * @param kind default: `invalid` for a reason of phase `job`, else `permanent`
   * @param attempts how many times the job was received (tried or not), for `last-receive`
   * @param signal cuts the call (retries included) at the invocation's deadline
   * @throws the SQS client's error when the message could not be sent (an `AbortError` when cut)
   */
  async deadLetter(
    record: MailRecord,
    reason: FailureReason,
    options: DeadLetterDetails & { body?: string; signal?: AbortSignal } = {},
  ): Promise<void> {
    const body = options.body ?? record.body;
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#urls.dlqUrl,
        MessageBody: body,
        MessageAttributes: deadLetterAttributes(record, body, reason, options),
        ...fifoFields(this.#urls.dlqUrl, record, options.part?.copy ? `dead-${options.part.copy}` : 'dead', body),
      }),
      sendOptions(options.signal),
    );
  }

  /**
   * Puts a job (holding only the recipients refused for now) back on the mail queue, delayed, with
   * its re-enqueue count one higher, and a claim check's `ExtendedPayloadSize` when the record had it.
   * FIFO queues take no per-message delay.
   *
   * @param signal cuts the call (retries included) at the invocation's deadline
   * @param copy which of several copies for one record (distinct FIFO deduplication ids); default 0
   * @throws the SQS client's error when the message could not be sent (an `AbortError` when cut)
   */
  async requeue(
    record: MailRecord,
    body: string,
    delaySeconds: number,
    { signal, copy }: { signal?: AbortSignal; copy?: number } = {},
  ): Promise<void> {
    const fifo = isFifoUrl(this.#urls.queueUrl);
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#urls.queueUrl,
        MessageBody: body,
        MessageAttributes: {
          [REQUEUE_COUNT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(record.requeueCount + 1) },
          ...payloadSizeAttribute(record, body),
        },
        ...(fifo ? {} : { DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))) }),
        ...fifoFields(this.#urls.queueUrl, record, `requeue-${record.requeueCount + 1}${copy ? `-${copy}` : ''}`, body),
      }),
      sendOptions(signal),
    );
  }

  /**
   * Sets the visibility timeout of records that come back (ten per request, the requests in
   * parallel), so they come back after their backoff rather than after the queue's default.
   *
   * A change SQS refuses comes back as a per-entry failure of the batch (e.g. `InvalidParameterValue`
   * for a visibility past 12 hours in flight): it is returned with SQS's code and message.
   *
   * @param signal cuts the calls (retries included) at the invocation's deadline
   * @returns the changes that failed, were refused or were cut (the records are retried anyway; only the delay differs)
   */
  async delay(changes: readonly VisibilityChange[], { signal }: { signal?: AbortSignal } = {}): Promise<VisibilityFailure[]> {
    const slices: (readonly VisibilityChange[])[] = [];
    for (let start = 0; start < changes.length; start += 10) slices.push(changes.slice(start, start + 10));
    const failed = await Promise.all(slices.map((slice) => this.#changeVisibility(slice, signal)));
    return failed.flat();
  }

  async #changeVisibility(slice: readonly VisibilityChange[], signal: AbortSignal | undefined): Promise<VisibilityFailure[]> {
    try {
      const reply = await this.#sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.#urls.queueUrl,
          Entries: slice.map((change, index) => ({
            Id: String(index),
            ReceiptHandle: change.record.receiptHandle,
            VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(change.seconds))),
          })),
        }),
        sendOptions(signal),
      );
      return (reply.Failed ?? []).flatMap((failure) => {
        const change = slice[Number(failure.Id)];
        const reason = `${failure.Code ?? 'refused'}: ${failure.Message ?? '(no message)'}`;
        return change === undefined ? [] : [{ messageId: change.record.messageId, reason }];
      });
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return slice.map((change) => ({ messageId: change.record.messageId, reason }));
    }
  }
}

/** The SDK's options for one call: the abort signal when there is one. */
function sendOptions(signal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return signal === undefined ? {} : { abortSignal: signal };
}

/** True when the queue URL names a FIFO queue. */
export function isFifoUrl(url: string): boolean {
  return url.endsWith('.fifo');
}

/**
 * A FIFO copy's group (the record's) and deduplication id: the purpose and a SHA-256 of the
 * record's id, the purpose and the copy's body. SQS drops a second send with the same id for
 * 5 minutes, which is right for the same copy sent again (a call cut by the deadline that still
 * went through, a record redelivered after a killed invocation) and would lose recipients for a
 * different one: a redelivered record whose recipients refused for now are not the same as the
 * first time makes another copy, and that copy must not be taken for the first.
 */
function fifoFields(url: string, record: MailRecord, purpose: string, body: string): { MessageGroupId?: string; MessageDeduplicationId?: string } {
  if (!isFifoUrl(url)) return {};
  const digest = createHash('sha256').update(`${record.messageId}\n${purpose}\n`).update(body).digest('hex');
  return { MessageGroupId: record.messageGroupId ?? 'mail', MessageDeduplicationId: `${purpose.slice(0, 60)}-${digest}` };
}
