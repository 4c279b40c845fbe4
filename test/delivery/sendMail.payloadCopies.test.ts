/**
 * The copies the function makes of a claim check keep its `ExtendedPayloadSize` attribute (issue 11):
 * the dead-letter copy, the copy re-enqueued for recipients refused for now, and so the copy an
 * operator redrives, which the function then sizes without a HEAD of the object. Through the
 * handler against fauxqs (SQS and S3, its S3 calls recorded) and smtp-server.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { redriveDeadLetters } from '../../lib/operate/index.js';
import { startAwsCallRecorder } from '../support/awsCallRecorder.js';
import type { AwsCallRecorder } from '../support/awsCallRecorder.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | undefined;
let recorder: AwsCallRecorder;
let spool: string;
let s3: S3Client;
let buckets = 0;

beforeEach(async () => {
  spool = await mkdtemp(join(tmpdir(), 'payload-copies-'));
  recorder = await startAwsCallRecorder(emulator().endpoint);
  // The function's S3 client goes through the recorder, so every S3 call it makes is seen.
  s3 = new S3Client({
    endpoint: recorder.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  s3.destroy();
  await recorder.stop();
  await rm(spool, { recursive: true, force: true });
});

async function setUp(serverOptions: SmtpServerOptions): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle; bucket: string }> {
  buckets += 1;
  const bucket = `copies-payloads-${buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startSmtpServer({ size: 10_000_000, ...serverOptions });
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
  const rig = await sendMailRig({
    emulator: emulator(),
    smtp: { kind: 'url', settings },
    tlsCa: server.ca,
    payload: { bucket, forcePathStyle: true },
    deps: { s3, tmpDir: spool },
  });
  return { rig, smtp: server, bucket };
}

/** Puts an offloaded job of ~300 KB in the bucket; its pointer body, key and JSON size. */
async function offloaded(bucket: string, n: number, overrides: Record<string, unknown> = {}): Promise<{ body: string; key: string; size: number }> {
  const content = Buffer.alloc(220_000, n).toString('base64');
  const json = JSON.stringify(
    mailJob(n, { attachments: [{ filename: `f${n}.bin`, contentType: 'application/octet-stream', content }], ...overrides }),
  );
  const key = `payloads/job-${n}`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: json }));
  return { body: payloadPointerBody({ bucket, key }), key, size: Buffer.byteLength(json) };
}

/** Publishes the pointer with its `ExtendedPayloadSize`, as the producer does, and runs the handler on the batch. */
async function publishAndRun(rig: SendMailRig, job: { body: string; size: number }) {
  await rig.queues.publish([job.body], { attributes: { ExtendedPayloadSize: String(job.size) } });
  const records = await rig.queues.receiveRecords(10);
  expect(records).toHaveLength(1);
  return rig.handler(sqsEvent(records), lambdaContext());
}

/** The S3 HEAD requests recorded (their paths). */
const heads = (): string[] => recorder.calls.filter((call) => call.method === 'HEAD').map((call) => call.path);

describe('copies of a claim check keep ExtendedPayloadSize', () => {
  it('the dead-letter copy carries it; redriven, the job is sized from it (no HEAD), delivered and its object deleted', async () => {
    // Prepare: the relay refuses the first attempt's data for good.
    let refuse = true;
    const { rig, smtp, bucket } = await setUp({ onData: () => (refuse ? { code: 554, message: 'Rejected by policy' } : undefined) });
    const job = await offloaded(bucket, 1);
    // Act 1: dead-lettered at once.
    expect(await publishAndRun(rig, job)).toEqual({ batchItemFailures: [] });
    // Assess 1
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => [m.body, m.messageAttributes['FailurePhase']?.StringValue, m.messageAttributes['ExtendedPayloadSize']])).toEqual([
      [job.body, 'data', { DataType: 'Number', StringValue: String(job.size) }],
    ]);
    // Act 2: redriven (as `mail-queue dlq redrive`), received again and handled.
    refuse = false;
    const summary = await redriveDeadLetters({ sqs: emulator().sqs, dlqUrl: rig.queues.dlqUrl, queueUrl: rig.queues.queueUrl, all: true });
    expect(summary.redriven).toBe(1);
    const records = await rig.queues.receiveRecords(10);
    expect(records.map((r) => [r.body, r.messageAttributes['ExtendedPayloadSize']?.stringValue])).toEqual([[job.body, String(job.size)]]);
    recorder.reset();
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess 2
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com']]);
    expect(heads()).toEqual([]);
    expect(recorder.calls.map((call) => `${call.method} ${call.path}`)).toEqual([
      `GET /${bucket}/${job.key}?x-id=GetObject`,
      `DELETE /${bucket}/${job.key}?x-id=DeleteObject`,
    ]);
  });

  it('the copy re-enqueued for recipients refused for now carries it, next to MailRequeueCount', async () => {
    // Prepare
    const { rig, smtp, bucket } = await setUp({ onRcptTo: (to) => (to.startsWith('later') ? { code: 450, message: 'Mailbox busy' } : undefined) });
    const job = await offloaded(bucket, 2, { to: ['now@example.com', 'later@example.com'] });
    // Act
    expect(await publishAndRun(rig, job)).toEqual({ batchItemFailures: [] });
    // Assess
    expect(smtp.messages.map((m) => m.to)).toEqual([['now@example.com']]);
    const queue = await rig.queues.contents(rig.queues.queueName);
    expect([...queue.ready, ...queue.delayed].map((m) => [m.body, m.messageAttributes])).toEqual([
      [
        payloadPointerBody({ bucket, key: job.key, recipients: ['later@example.com'] }),
        {
          MailRequeueCount: { DataType: 'Number', StringValue: '1' },
          ExtendedPayloadSize: { DataType: 'Number', StringValue: String(job.size) },
        },
      ],
    ]);
    expect(heads()).toEqual([]);
  });
});
