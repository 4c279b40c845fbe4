/**
 * What the delivery does on SQS besides answering the batch: dead-letter a job at once, put
 * recipients refused for now back on the queue, and stretch a failed job's visibility timeout.
 * @module
 */
import { createHash } from 'node:crypto';
import { ChangeMessageVisibilityBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import type { FailureReason } from './outcome.js';
import type { MailRecord } from './mailRecord.js';
import { REQUEUE_COUNT_ATTRIBUTE } from './mailRecord.js';

/** SQS's limit for one message: the body and the attributes together. */
const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** Dead-letter attributes, most useful first: with a job near the size limit the last ones go first. */
const ATTRIBUTE_PRIORITY = [
  'FailurePhase',
  'FailureKind',
  'Attempts',
  'JobForm',
  'PendingRecipients',
  'DeliveredRecipients',
  'FailureCode',
  'FailureEnhancedCode',
  'FailureError',
  'SourceMessageId',
  'SourceReceiveCount',
  'JobId',
  'Tags',
  'FailureMessage',
];
/** SQS takes at most this many message attributes per message. */
export const MAX_MESSAGE_ATTRIBUTES = 10;
/**
 * Which attributes go first when a dead letter has more than {@link MAX_MESSAGE_ATTRIBUTES}: the
 * ones said elsewhere too (the receive count by `Attempts` or the record, the error class and
 * enhanced code by the failure's text).
 */
const DROPPED_FIRST = ['FailureError', 'SourceReceiveCount', 'FailureEnhancedCode', 'DeliveredRecipients', 'Attempts'];
/** Longest server text kept in a dead-letter attribute. */
const MAX_REASON_TEXT = 1024;
/** Characters SQS refuses in attribute values (outside XML 1.0's character range). */
const NOT_XML = /[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu;

/**
 * Why the handler put a job in the dead-letter queue (its `FailureKind` attribute): `invalid`, the
 * body is not a valid mail job; `permanent`, the relay refused it for good (or recipients refused
 * for now could be kept nowhere else); `last-receive`, it failed for now on the queue's last receive
 * (`MAIL_MAX_RECEIVES`), where SQS would have moved it without a reason. A dead letter without the
 * attribute (and without `FailurePhase`) was moved by SQS's own redrive.
 */
export type FailureKind = 'invalid' | 'permanent' | 'last-receive';

/** Where the queues are. */
export interface QueueUrls {
  queueUrl: string;
  dlqUrl: string;
}

/**
 * A dead-letter copy that holds only part of the job's recipients: the ones not yet delivered
 * (`JobForm`, `PendingRecipients` and `DeliveredRecipients` attributes). `'original'` is the
 * record's own body, kept when no narrower copy could be made: then `DeliveredRecipients` warns
 * that a redrive sends it again to that many recipients who have it.
 */
export interface DeadLetterPart {
  form: 'raw' | 'narrowed' | 'original';
  /** Recipients this copy is for. */
  pending: number;
  /** Recipients who took the message already. */
  delivered: number;
  /** Which of several copies for one record (they need distinct FIFO deduplication ids). @default 0 */
  copy?: number;
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
   * {@link DeadLetterPart}). At most {@link MAX_MESSAGE_ATTRIBUTES} (SQS's limit), see {@link fitAttributes}.
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
    options: {
      body?: string;
      jobId?: string;
      part?: DeadLetterPart;
      kind?: FailureKind;
      attempts?: number;
      tags?: Readonly<Record<string, string>>;
      signal?: AbortSignal;
    } = {},
  ): Promise<void> {
    const attributes: Record<string, MessageAttributeValue> = {
      FailurePhase: text(reason.phase),
      FailureKind: text(options.kind ?? (reason.phase === 'job' ? 'invalid' : 'permanent')),
      FailureMessage: text(clean(reason.message).slice(0, MAX_REASON_TEXT) || '(none)'),
      SourceMessageId: text(record.messageId),
      SourceReceiveCount: { DataType: 'Number', StringValue: String(record.receiveCount) },
    };
    if (reason.code !== undefined) attributes['FailureCode'] = { DataType: 'Number', StringValue: String(reason.code) };
    if (reason.enhancedCode !== undefined) attributes['FailureEnhancedCode'] = text(reason.enhancedCode);
    if (reason.error !== undefined) attributes['FailureError'] = text(reason.error);
    if (options.jobId !== undefined) attributes['JobId'] = text(clean(options.jobId));
    if (options.attempts !== undefined) attributes['Attempts'] = { DataType: 'Number', StringValue: String(options.attempts) };
    if (options.tags !== undefined && Object.keys(options.tags).length > 0) attributes['Tags'] = text(JSON.stringify(options.tags));
    const { part } = options;
    if (part !== undefined) {
      attributes['JobForm'] = text(part.form);
      attributes['PendingRecipients'] = { DataType: 'Number', StringValue: String(part.pending) };
      attributes['DeliveredRecipients'] = { DataType: 'Number', StringValue: String(part.delivered) };
    }
    const body = options.body ?? record.body;
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#urls.dlqUrl,
        MessageBody: body,
        MessageAttributes: fitAttributes(attributes, SQS_MAX_MESSAGE_BYTES - Buffer.byteLength(body, 'utf8')),
        ...fifoFields(this.#urls.dlqUrl, record, part?.copy ? `dead-${part.copy}` : 'dead', body),
      }),
      sendOptions(options.signal),
    );
  }

  /**
   * Puts a job (holding only the recipients refused for now) back on the mail queue, delayed, with
   * its re-enqueue count one higher. FIFO queues take no per-message delay.
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

/**
 * Keeps the attributes within `budget` bytes (SQS counts each one's name, data type and value
 * in the 1 MiB message limit): a job near the limit keeps its place in the DLQ and loses the
 * least useful attributes (the server text is cut first, then dropped), never the other way round.
 * And at most {@link MAX_MESSAGE_ATTRIBUTES} of them (SQS refuses the send otherwise): past that,
 * those said elsewhere too go first (`SourceReceiveCount`, `FailureError`, `FailureEnhancedCode`, ...).
 */
export function fitAttributes(attributes: Record<string, MessageAttributeValue>, budget: number): Record<string, MessageAttributeValue> {
  const over = Object.keys(attributes).length - MAX_MESSAGE_ATTRIBUTES;
  const dropped = new Set(over > 0 ? DROPPED_FIRST.filter((name) => name in attributes).slice(0, over) : []);
  const size = (name: string, value: MessageAttributeValue): number =>
    Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  const kept: Record<string, MessageAttributeValue> = {};
  let left = budget;
  for (const name of ATTRIBUTE_PRIORITY) {
    const value = attributes[name];
    if (value === undefined || dropped.has(name) || Object.keys(kept).length >= MAX_MESSAGE_ATTRIBUTES) continue;
    const needed = size(name, value);
    if (needed <= left) {
      kept[name] = value;
      left -= needed;
    } else if (name === 'FailureMessage') {
      const room = left - size(name, { ...value, StringValue: '' });
      if (room >= 16) {
        kept[name] = {
          ...value,
          StringValue: Buffer.from(value.StringValue ?? '', 'utf8')
            .subarray(0, room)
            .toString('utf8')
            .replace(/\uFFFD$/u, ''),
        };
        left -= size(name, kept[name]);
      }
    }
  }
  return kept;
}

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value };
}

function clean(value: string): string {
  return value.replace(NOT_XML, '?');
}
