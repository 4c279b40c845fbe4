/**
 * SQS events and Lambda contexts for the send-mail tests: a record factory for hand-made events,
 * and a converter from messages really received from the SQS emulator (real receipt handles and
 * receive counts), so that visibility changes can be checked in the emulator.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Message } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';

/** The ARN used by hand-made records. */
export const TEST_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:mail';

/** Overrides of {@link sqsRecordFactory}; `attributes` are merged into the defaults. */
export type SqsRecordOverrides = Partial<Omit<SQSRecord, 'attributes'>> & { attributes?: Partial<SQSRecordAttributes> };

/**
 * One SQS record with `body` and sensible defaults (a fresh message id, receive count 1).
 * @example
 * const record = sqsRecordFactory(JSON.stringify(job), { attributes: { ApproximateReceiveCount: '3' } });
 */
export function sqsRecordFactory(body: string, overrides: SqsRecordOverrides = {}): SQSRecord {
  const { attributes, ...rest } = overrides;
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: `handle-${randomUUID()}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: now,
      SenderId: '000000000000',
      ApproximateFirstReceiveTimestamp: now,
      ...attributes,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: TEST_QUEUE_ARN,
    awsRegion: 'us-east-1',
    ...rest,
  };
}

/** An SQS event of these records. */
export function sqsEvent(records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** The record Lambda would build from a message received from SQS (receive with all attributes). */
export function recordFromMessage(message: Message, queueArn: string): SQSRecord {
  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
      stringListValues: [],
      binaryListValues: [],
    };
  }
  const attributes = (message.Attributes ?? {}) as Partial<SQSRecordAttributes>;
  return sqsRecordFactory(message.Body ?? '', {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSourceARN: queueArn,
  });
}

/**
 * A Lambda context whose remaining time comes from `remainingMs` (60 s unless given), so a test
 * decides when time runs short without waiting for it.
 */
export function lambdaContext(remainingMs: () => number = () => 60_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'send-mail',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:send-mail',
    memoryLimitInMB: '128',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/send-mail',
    logStreamName: 'test',
    getRemainingTimeInMillis: remainingMs,
    // The Context type still requires the legacy callbacks (deprecated for the handler's promise).
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by the Context type; nothing calls it
    done: () => undefined,
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by the Context type; nothing calls it
    fail: () => undefined,
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- required by the Context type; nothing calls it
    succeed: () => undefined,
  };
}
