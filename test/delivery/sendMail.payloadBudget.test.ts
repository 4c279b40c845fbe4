/**
 * The function's limits on claim checks (issue 11), through the handler against fauxqs (SQS and
 * S3) and smtp-server: the batch's spool budget (`MAIL_SPOOL_BYTES`: pointer jobs past it are not
 * attempted and come back, as jobs the time budget did not reach) and the largest job
 * (`MAIL_MAX_MESSAGE_BYTES`: permanent at once, the figure in the reason, before any read).
 */
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { useClaimCheckRig } from '../support/claimCheckRig.js';
import type { ClaimCheckHandlerOptions } from '../support/claimCheckRig.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent, sqsRecordFactory } from '../support/sqsEvents.js';

const emulator = useSqsEmulator();
const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'payload-budget-' });
const { exists, receive } = claimChecks;

interface Setup {
  rig: SendMailRig;
  smtp: SmtpServerHandle;
  bucket: string;
}

const setUp = (options: Omit<ClaimCheckHandlerOptions, 'server'> = {}): Promise<Setup> => claimChecks.handler('budget-payloads', options);

/** A job with an attachment of `size` octets, offloaded to S3; its pointer body and the JSON's size. */
async function offloaded(bucket: string, n: number, size: number): Promise<{ body: string; bytes: number; key: string }> {
  const content = Buffer.alloc(size, n).toString('base64');
  const job = await claimChecks.putJob(
    bucket,
    `payloads/job-${n}`,
    mailJob(n, { attachments: [{ filename: `f${n}.bin`, contentType: 'application/octet-stream', content }] }),
  );
  return { body: job.body, bytes: job.size, key: job.key };
}

const attributesOf = (rig: SendMailRig, record: SQSRecord) => rig.log.records().get(record.messageId)?.attributes;

describe('MAIL_SPOOL_BYTES: the spool budget of a batch', () => {
  it('pointer jobs past the budget are not attempted (spoolBudget) and come back, their objects kept; the others are delivered', async () => {
    // Prepare: three offloaded jobs of ~270 KB of JSON each, room for two; the third's size from a HEAD (no attribute).
    const { rig, smtp, bucket } = await setUp({ payloadLimits: { spoolBytes: 600_000, maxMessageBytes: 40 * 1024 * 1024 } });
    const [a, b, c] = await Promise.all([offloaded(bucket, 1, 200_000), offloaded(bucket, 2, 200_000), offloaded(bucket, 3, 200_000)]);
    const records = await receive(rig, [
      { body: a.body, size: a.bytes },
      { body: b.body, size: b.bytes },
      { body: c.body },
      { body: JSON.stringify(mailJob(4)) },
    ]);
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[2]!.messageId }] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com'], ['rcpt4@example.com']]);
    expect(attributesOf(rig, records[2]!)).toMatchObject({ outcome: 'notAttempted', cause: 'spoolBudget', placement: 'retry' });
    expect((await rig.queues.contents(rig.queues.dlqName)).ready).toEqual([]);
    expect([await exists(bucket, a.key), await exists(bucket, b.key), await exists(bucket, c.key)]).toEqual([false, false, true]);
  });

  it('MAIL_MAX_RECEIVES: a job on its last receive is loaded before the others; one that still does not fit is dead-lettered as not attempted', async () => {
    // Prepare: room for one job; record 0 is on its first receive, 1 and 2 on their last (3).
    const { rig, smtp, bucket } = await setUp({ maxReceives: 3, payloadLimits: { spoolBytes: 300_000, maxMessageBytes: 40 * 1024 * 1024 } });
    const jobs = await Promise.all([offloaded(bucket, 5, 200_000), offloaded(bucket, 6, 200_000), offloaded(bucket, 7, 200_000)]);
    const received = await receive(
      rig,
      jobs.map((job) => ({ body: job.body, size: job.bytes })),
    );
    const records = received.map((record, n) => ({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: n === 0 ? '1' : '3' } }));
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess: job 6 (last receive, first in order) is delivered; job 5 comes back; job 7 is dead-lettered with why.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.messageId }] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt6@example.com']]);
    expect(attributesOf(rig, records[0]!)).toMatchObject({ outcome: 'notAttempted', cause: 'spoolBudget', placement: 'retry' });
    expect(attributesOf(rig, records[2]!)).toMatchObject({ outcome: 'notAttempted', cause: 'spoolBudget', placement: 'deadLettered' });
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(
      dead.ready.map((m) => [m.body, m.messageAttributes['FailureKind']?.StringValue, m.messageAttributes['FailureMessage']?.StringValue]),
    ).toEqual([
      [
        jobs[2].body,
        'last-receive',
        "not attempted on its last receive: the batch's spool space for offloaded jobs (MAIL_SPOOL_BYTES) was taken by other jobs",
      ],
    ]);
  });

  it('FIFO: a job past the budget comes back and holds its message group back; another group goes on', async () => {
    // Prepare
    const { rig, smtp, bucket } = await setUp({ fifo: true, payloadLimits: { spoolBytes: 300_000, maxMessageBytes: 40 * 1024 * 1024 } });
    const [a, b] = await Promise.all([offloaded(bucket, 8, 200_000), offloaded(bucket, 9, 200_000)]);
    // Records as the event source hands out a FIFO batch (the emulator gives one group per receive).
    const record = (body: string, group: string, size?: number): SQSRecord => ({
      ...sqsRecordFactory(body, { attributes: { MessageGroupId: group } }),
      ...(size === undefined
        ? {}
        : {
            messageAttributes: { ExtendedPayloadSize: { dataType: 'Number', stringValue: String(size), stringListValues: [], binaryListValues: [] } },
          }),
    });
    const records = [
      record(a.body, 'g1', a.bytes),
      record(b.body, 'g1', b.bytes),
      record(JSON.stringify(mailJob(10)), 'g1'),
      record(JSON.stringify(mailJob(11)), 'g2'),
    ];
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual([records[1]!.messageId, records[2]!.messageId].sort());
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt8@example.com'], ['rcpt11@example.com']]);
    expect(attributesOf(rig, records[1]!)).toMatchObject({ outcome: 'notAttempted', cause: 'spoolBudget' });
    expect(attributesOf(rig, records[2]!)).toMatchObject({ outcome: 'notAttempted', cause: 'fifoStopped' });
  });
});

describe('MAIL_MAX_MESSAGE_BYTES: the largest job the function takes', () => {
  const limits = { spoolBytes: 400 * 1024 * 1024, maxMessageBytes: 300_000 };

  it('by its ExtendedPayloadSize attribute: permanent at once, the figure in the reason, S3 not read (the object need not exist)', async () => {
    const { rig, smtp, bucket } = await setUp({ payloadLimits: limits });
    const pointer = payloadPointerBody({ bucket, key: 'payloads/never-written' });
    const records = await receive(rig, [{ body: pointer, size: 41_000_000 }, { body: JSON.stringify(mailJob(12)) }]);
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt12@example.com']]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(
      dead.ready.map((m) => [m.body, m.messageAttributes['FailureKind']?.StringValue, m.messageAttributes['FailureMessage']?.StringValue]),
    ).toEqual([
      [
        pointer,
        'permanent',
        `the job's object s3://${bucket}/payloads/never-written is 41000000 octets, over the 300000 a job may have (MAIL_MAX_MESSAGE_BYTES)`,
      ],
    ]);
  });

  it('without the attribute, by the object size (HEAD); with an attribute that understates it, the read stops past the limit', async () => {
    const { rig, smtp, bucket } = await setUp({ payloadLimits: limits });
    const [a, b] = await Promise.all([offloaded(bucket, 13, 400_000), offloaded(bucket, 14, 400_000)]);
    const records = await receive(rig, [{ body: a.body }, { body: b.body, size: 1000 }]);
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages).toEqual([]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    const reasons = new Map(dead.ready.map((m) => [m.body, m.messageAttributes['FailureMessage']?.StringValue]));
    expect(reasons.get(a.body)).toBe(
      `the job's object s3://${bucket}/${a.key} is ${a.bytes} octets, over the 300000 a job may have (MAIL_MAX_MESSAGE_BYTES)`,
    );
    expect(reasons.get(b.body)).toMatch(
      new RegExp(`^the job's object s3://${bucket}/${b.key} is at least \\d+ octets, over the 300000 a job may have \\(MAIL_MAX_MESSAGE_BYTES\\)$`),
    );
    expect([await exists(bucket, a.key), await exists(bucket, b.key)]).toEqual([true, true]);
  });
});
