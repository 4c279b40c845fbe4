/**
 * The message attributes of the copies the delivery sends to SQS: the reason a dead letter carries,
 * kept within SQS's limits (10 attributes, 1 MiB with the body), and the claim check's
 * `ExtendedPayloadSize`, carried from the received record onto every copy of a pointer (dead
 * letter, re-enqueued recipients) so that the AWS SQS Extended Client recognises the copy as a
 * pointer, and the function sizes a redriven copy without a HEAD of its object. Pure.
 * @module
 */
import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { PAYLOAD_SIZE_ATTRIBUTE, parsePayloadPointer } from '../message/payloadPointer.js';
import type { MailRecord } from './mailRecord.js';
import type { FailureReason } from './outcome.js';

/** SQS's limit for one message: the body and the attributes together. */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/**
 * Dead-letter attributes, most useful first: with a job near the size limit the last ones go first.
 * The claim check's size comes before all: without it the copy is no pointer to the Extended Client.
 */
const ATTRIBUTE_PRIORITY = [
  PAYLOAD_SIZE_ATTRIBUTE,
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
 * enhanced code by the failure's text). `ExtendedPayloadSize` is never among them.
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

/** What a dead letter says besides its reason (see `QueueActions.deadLetter`). */
export interface DeadLetterDetails {
  jobId?: string;
  part?: DeadLetterPart;
  kind?: FailureKind;
  attempts?: number;
  tags?: Readonly<Record<string, string>>;
}

/**
 * The attributes of a dead-letter copy of `record` holding `body`: the reason, where it came from,
 * the part of the job it holds, and the claim check's size (see {@link payloadSizeAttribute}); fitted
 * by {@link fitAttributes}.
 */
export function deadLetterAttributes(
  record: MailRecord,
  body: string,
  reason: FailureReason,
  details: DeadLetterDetails,
): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {
    ...payloadSizeAttribute(record, body),
    FailurePhase: text(reason.phase),
    FailureKind: text(details.kind ?? (reason.phase === 'job' ? 'invalid' : 'permanent')),
    FailureMessage: text(clean(reason.message).slice(0, MAX_REASON_TEXT) || '(none)'),
    SourceMessageId: text(record.messageId),
    SourceReceiveCount: number(record.receiveCount),
  };
  if (reason.code !== undefined) attributes['FailureCode'] = number(reason.code);
  if (reason.enhancedCode !== undefined) attributes['FailureEnhancedCode'] = text(reason.enhancedCode);
  if (reason.error !== undefined) attributes['FailureError'] = text(reason.error);
  if (details.jobId !== undefined) attributes['JobId'] = text(clean(details.jobId));
  if (details.attempts !== undefined) attributes['Attempts'] = number(details.attempts);
  if (details.tags !== undefined && Object.keys(details.tags).length > 0) attributes['Tags'] = text(JSON.stringify(details.tags));
  const { part } = details;
  if (part !== undefined) {
    attributes['JobForm'] = text(part.form);
    attributes['PendingRecipients'] = number(part.pending);
    attributes['DeliveredRecipients'] = number(part.delivered);
  }
  return fitAttributes(attributes, SQS_MAX_MESSAGE_BYTES - Buffer.byteLength(body, 'utf8'));
}

/**
 * `ExtendedPayloadSize` for a copy of `record` holding `body`: the size the record declared (its
 * `ExtendedPayloadSize` or the older `SQSLargePayloadSize`), when the copy is a pointer (a copy for
 * some recipients names the same object, so the same size). Empty otherwise: a job in the body has
 * no object, and a record that declared no size gives none.
 */
export function payloadSizeAttribute(record: MailRecord, body: string): Record<string, MessageAttributeValue> {
  if (record.payloadSize === undefined || parsePayloadPointer(body) === undefined) return {};
  return { [PAYLOAD_SIZE_ATTRIBUTE]: number(record.payloadSize) };
}

/**
 * Keeps the attributes within `budget` bytes (SQS counts each one's name, data type and value
 * in the 1 MiB message limit): a job near the limit keeps its place in the DLQ and loses the
 * least useful attributes (the server text is cut first, then dropped), never the other way round.
 * And at most {@link MAX_MESSAGE_ATTRIBUTES} of them (SQS refuses the send otherwise): past that,
 * those said elsewhere too go first (`FailureError`, `SourceReceiveCount`, `FailureEnhancedCode`, ...).
 * `ExtendedPayloadSize` is kept first and never dropped.
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

function number(value: number): MessageAttributeValue {
  return { DataType: 'Number', StringValue: String(value) };
}

function clean(value: string): string {
  return value.replace(NOT_XML, '?');
}
