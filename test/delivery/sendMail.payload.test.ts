/**
 * Claim checks and attachments by reference (issue 11), end to end: the send-mail handler against
 * fauxqs (SQS and S3 on one emulator) and smtp-server. Pointers are written in the AWS SQS Extended
 * Client libraries' exact format; the mailbox's attachment is compared by SHA-256.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { redriveDeadLetters } from '../../lib/operate/index.js';
import { useClaimCheckRig } from '../support/claimCheckRig.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';

const emulator = useSqsEmulator();
const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'payload-test-' });
const { exists, run: runBodies } = claimChecks;

/** The body the official Extended Client libraries write for an object. */
function officialPointer(bucket: string, key: string): string {
  return `["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"${bucket}","s3Key":"${key}"}]`;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function setUp(server: SmtpServerOptions = {}): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle; bucket: string; producerBucket: string }> {
  const { rig, smtp, bucket } = await claimChecks.handler('mail-payloads-test', { server });
  return { rig, smtp, bucket, producerBucket: await claimChecks.newBucket('producer-files') };
}

/** A job with a binary attachment of `size` octets inline (base64), as a producer offloads it. */
function bigJob(n: number, bytes: Buffer, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return mailJob(n, {
    attachments: [{ filename: `file-${n}.bin`, contentType: 'application/octet-stream', content: bytes.toString('base64') }],
    ...overrides,
  });
}

function pattern(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let at = 0; at < size; at += 1) bytes[at] = (at * 131 + seed + (at >> 10)) & 0xff;
  return bytes;
}

async function attachmentsOf(raw: Buffer): Promise<{ filename?: string; sha256: string; size: number }[]> {
  const parsed = await simpleParser(raw);
  return parsed.attachments.map((a) => ({
    ...(a.filename === undefined ? {} : { filename: a.filename }),
    sha256: sha256(a.content),
    size: a.content.length,
  }));
}

describe('claim checks (AWS SQS Extended Client format) and attachments by reference', () => {
  it('a pointer in the official format: the job is read from S3, delivered with its attachment intact, and the object deleted', async () => {
    // Prepare
    const { rig, smtp, bucket } = await setUp();
    const bytes = pattern(2_500_000, 1);
    const json = JSON.stringify(bigJob(1, bytes));
    await claimChecks.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'payloads/job-1', Body: json }));
    // Act
    const { response } = await runBodies(rig, [
      { body: officialPointer(bucket, 'payloads/job-1'), size: Buffer.byteLength(json) },
      { body: JSON.stringify(mailJob(2)) },
    ]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt2@example.com']]);
    expect(await attachmentsOf(smtp.messages[0]!.raw)).toEqual([{ filename: 'file-1.bin', sha256: sha256(bytes), size: bytes.length }]);
    expect(await exists(bucket, 'payloads/job-1')).toBe(false);
    expect(await readdir(join(claimChecks.spool, 'mail-spool')).then((entries) => entries.length)).toBe(0);
    const line = rig.log.records();
    expect([...line.values()].map((l) => l.attributes['outcome'])).toEqual(['delivered', 'delivered']);
  });

  it('an attachment by reference in a producer bucket: streamed from S3 into the message, the producer object kept', async () => {
    // Prepare
    const { rig, smtp, producerBucket } = await setUp();
    const bytes = pattern(1_200_001, 7);
    await claimChecks.s3.send(new PutObjectCommand({ Bucket: producerBucket, Key: 'reports/r.pdf', Body: bytes }));
    const job = mailJob(3, {
      attachments: [{ filename: 'r.pdf', contentType: 'application/pdf', s3: { bucket: producerBucket, key: 'reports/r.pdf' } }],
    });
    // Act
    const { response } = await runBodies(rig, [{ body: JSON.stringify(job) }]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await attachmentsOf(smtp.messages[0]!.raw)).toEqual([{ filename: 'r.pdf', sha256: sha256(bytes), size: bytes.length }]);
    expect(smtp.messages[0]!.raw.length).toBeGreaterThan((bytes.length * 4) / 3);
    expect(await exists(producerBucket, 'reports/r.pdf')).toBe(true);
  });

  it('a missing object: the record goes to the DLQ at once (permanent, phase payload) with its pointer body; its batch-mates are delivered', async () => {
    // Prepare
    const { rig, smtp, bucket } = await setUp();
    const missing = officialPointer(bucket, 'payloads/never-written');
    const badReference = mailJob(5, {
      attachments: [{ filename: 'x.pdf', contentType: 'application/pdf', s3: { bucket, key: 'payloads/gone.pdf' } }],
    });
    // Act
    const { records, response } = await runBodies(rig, [
      { body: JSON.stringify(mailJob(4)) },
      { body: missing, size: 1234 },
      { body: JSON.stringify(badReference) },
      { body: JSON.stringify(mailJob(6)) },
    ]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt4@example.com'], ['rcpt6@example.com']]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    const letters = [...dead.ready].sort((a, b) => a.body.localeCompare(b.body));
    expect(letters.map((m) => m.body).sort()).toEqual([JSON.stringify(badReference), missing].sort());
    for (const letter of letters) {
      expect(letter.messageAttributes['FailurePhase']?.StringValue).toBe('payload');
      expect(letter.messageAttributes['FailureKind']?.StringValue).toBe('permanent');
      expect(letter.messageAttributes['FailureError']?.StringValue).toBe('PayloadError');
    }
    const bySource = new Map(
      letters.map((m) => [m.messageAttributes['SourceMessageId']?.StringValue, m.messageAttributes['FailureMessage']?.StringValue]),
    );
    expect(bySource.get(records[1]!.messageId)).toBe(`the object s3://${bucket}/payloads/never-written is missing`);
    expect(bySource.get(records[2]!.messageId)).toBe(`the object s3://${bucket}/payloads/gone.pdf is missing`);
  });

  it('a redrive after the DLQ finds the object: refused for good first (5xx on the data), kept, then delivered and deleted', async () => {
    // Prepare: the relay refuses the first attempt's data for good.
    let refuse = true;
    const { rig, smtp, bucket } = await setUp({ onData: () => (refuse ? { code: 554, message: 'Rejected for now by policy' } : undefined) });
    const bytes = pattern(600_000, 3);
    const json = JSON.stringify(bigJob(7, bytes));
    await claimChecks.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'payloads/job-7', Body: json }));
    const pointer = officialPointer(bucket, 'payloads/job-7');
    // Act 1: dead-lettered with its pointer; the object stays.
    const first = await runBodies(rig, [{ body: pointer, size: Buffer.byteLength(json) }]);
    expect(first.response).toEqual({ batchItemFailures: [] });
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(
      dead.ready.map((m) => [m.body, m.messageAttributes['FailurePhase']?.StringValue, m.messageAttributes['FailureKind']?.StringValue]),
    ).toEqual([[pointer, 'data', 'permanent']]);
    expect(await exists(bucket, 'payloads/job-7')).toBe(true);
    // Act 2: redriven (lib/operate, as mail-queue dlq redrive), received again, delivered.
    refuse = false;
    const summary = await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: rig.queues.dlqUrl, queueUrl: rig.queues.queueUrl, all: true });
    expect(summary.redriven).toBe(1);
    const records = await rig.queues.receiveRecords(10);
    expect(records.map((r) => r.body)).toEqual([pointer]);
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages).toHaveLength(1);
    expect(await attachmentsOf(smtp.messages[0]!.raw)).toEqual([{ filename: 'file-7.bin', sha256: sha256(bytes), size: bytes.length }]);
    expect(await exists(bucket, 'payloads/job-7')).toBe(false);
  });

  it('recipients refused for now are re-enqueued as the same pointer naming them; the object stays until that copy is delivered', async () => {
    // Prepare
    let busy = true;
    const { rig, smtp, bucket } = await setUp({
      onRcptTo: (to) => (busy && to.startsWith('later') ? { code: 450, message: 'Mailbox busy' } : undefined),
    });
    const bytes = pattern(300_000, 9);
    const json = JSON.stringify(bigJob(8, bytes, { to: ['now@example.com', 'later@example.com'], bcc: ['hidden@example.com'] }));
    await claimChecks.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'payloads/job-8', Body: json }));
    // Act 1
    const first = await runBodies(rig, [{ body: officialPointer(bucket, 'payloads/job-8'), size: Buffer.byteLength(json) }]);
    // Assess 1
    expect(first.response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['now@example.com', 'hidden@example.com']]);
    const queue = await rig.queues.contents(rig.queues.queueName);
    const copies = [...queue.ready, ...queue.delayed];
    expect(copies.map((m) => m.body)).toEqual([
      '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"' +
        bucket +
        '","s3Key":"payloads/job-8","recipients":["later@example.com"]}]',
    ]);
    expect(await exists(bucket, 'payloads/job-8')).toBe(true);
    // Act 2: the copy comes back (made visible now) and goes to its one recipient.
    busy = false;
    const copy = copies[0]!;
    const record = {
      ...first.records[0]!,
      messageId: copy.messageId,
      body: copy.body,
      messageAttributes: { MailRequeueCount: { dataType: 'Number', stringValue: '1', stringListValues: [], binaryListValues: [] } },
    };
    const response = await rig.handler(sqsEvent([record]), lambdaContext());
    // Assess 2
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['now@example.com', 'hidden@example.com'], ['later@example.com']]);
    const [a, b] = await Promise.all(smtp.messages.map((m) => simpleParser(m.raw)));
    expect(b?.messageId).toBe(a?.messageId);
    expect(b?.headers.get('to')).toEqual(a?.headers.get('to'));
    expect(await exists(bucket, 'payloads/job-8')).toBe(false);
  });

  it('a pointer to a bucket other than MAIL_PAYLOAD_BUCKET is refused (permanent), and S3 is not asked', async () => {
    const { rig, smtp } = await setUp();
    const { response } = await runBodies(rig, [{ body: officialPointer('someone-elses', 'payloads/x') }]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages).toEqual([]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => m.messageAttributes['FailureMessage']?.StringValue)).toEqual([
      expect.stringMatching(/^the pointer names the bucket someone-elses, not this environment's/),
    ]);
  });
});
