/**
 * The attributes of the delivery's copies (lib/delivery/deadLetterAttributes.ts): the claim check's
 * `ExtendedPayloadSize` goes onto every copy of a pointer and is never one of those SQS's
 * 10-attribute limit drops. Pure.
 */
import { describe, expect, it } from 'vitest';
import { deadLetterAttributes, payloadSizeAttribute } from '../../lib/delivery/deadLetterAttributes.js';
import type { MailRecord } from '../../lib/delivery/mailRecord.js';
import { readRecord } from '../../lib/delivery/mailRecord.js';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { sqsRecordFactory } from '../support/sqsEvents.js';

const POINTER = payloadPointerBody({ bucket: 'mail-payloads', key: 'payloads/1' });
const record = (body: string, payloadSize?: number): MailRecord => ({
  messageId: 'm-1',
  receiptHandle: 'h-1',
  body,
  receiveCount: 4,
  requeueCount: 0,
  ...(payloadSize === undefined ? {} : { payloadSize }),
});
const SIZE = { ExtendedPayloadSize: { DataType: 'Number', StringValue: '2500123' } };

describe('payloadSizeAttribute', () => {
  it("gives a pointer copy the record's declared size, also one read from the older SQSLargePayloadSize", () => {
    const legacy = readRecord(
      sqsRecordFactory(POINTER, {
        messageAttributes: { SQSLargePayloadSize: { dataType: 'Number', stringValue: '2500123', stringListValues: [], binaryListValues: [] } },
      }),
    );
    expect(payloadSizeAttribute(legacy, POINTER)).toEqual(SIZE);
    const narrowed = payloadPointerBody({ bucket: 'mail-payloads', key: 'payloads/1', recipients: ['a@example.com'] });
    expect(payloadSizeAttribute(record(POINTER, 2_500_123), narrowed)).toEqual(SIZE);
  });

  it('gives nothing to a copy that is a job, or when the record declared no size', () => {
    expect(payloadSizeAttribute(record(POINTER, 2_500_123), '{"v":1,"to":"a@example.com","subject":"s","text":"t"}')).toEqual({});
    expect(payloadSizeAttribute(record(POINTER), POINTER)).toEqual({});
  });
});

describe('deadLetterAttributes', () => {
  it('a partial copy with every attribute (15) keeps 10: ExtendedPayloadSize stays, the five said elsewhere go', () => {
    const reason = { phase: 'rcpt', code: 550, enhancedCode: '5.1.1', message: '550 5.1.1 no such user', error: 'RecipientsRefusedError' } as const;
    const details = { jobId: 'order-9', attempts: 4, tags: { tenant: '7' }, part: { form: 'narrowed', pending: 1, delivered: 2 } } as const;

    const attributes = deadLetterAttributes(record(POINTER, 2_500_123), POINTER, reason, details);

    expect(Object.keys(attributes).sort()).toEqual(
      [
        'ExtendedPayloadSize',
        'FailureCode',
        'FailureKind',
        'FailureMessage',
        'FailurePhase',
        'JobForm',
        'JobId',
        'PendingRecipients',
        'SourceMessageId',
        'Tags',
      ].sort(),
    );
    expect(attributes['ExtendedPayloadSize']).toEqual(SIZE.ExtendedPayloadSize);
  });
});
