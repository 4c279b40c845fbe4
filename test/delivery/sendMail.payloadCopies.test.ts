/**
 * The copies the function makes of a claim check keep its `ExtendedPayloadSize` attribute (issue 11):
 * the dead-letter copy, the copy re-enqueued for recipients refused for now, and so the copy an
 * operator redrives, which the function then sizes without a HEAD of the object. Through the
 * handler against fauxqs (SQS and S3, its S3 calls recorded) and smtp-server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { redriveDeadLetters } from '../../lib/operate/index.js';
import { startAwsCallRecorder } from '../support/awsCallRecorder.js';
import type { AwsCallRecorder } from '../support/awsCallRecorder.js';
import { useClaimCheckRig } from '../support/claimCheckRig.js';
import type { OffloadedJob } from '../support/claimCheckRig.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';

const emulator = useSqsEmulator();
let recorder: AwsCallRecorder;
beforeEach(async () => {
  recorder = await startAwsCallRecorder(emulator().endpoint);
});
afterEach(async () => {
  await recorder.stop();
});
// The function's S3 client goes through the recorder, so every S3 call it makes is seen.
const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'payload-copies-', endpoint: () => recorder.endpoint });

const setUp = (server: SmtpServerOptions): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle; bucket: string }> =>
  claimChecks.handler('copies-payloads', { server });

/** Puts an offloaded job of ~300 KB in the bucket; its pointer body, key and JSON size. */
function offloaded(bucket: string, n: number, overrides: Record<string, unknown> = {}): Promise<OffloadedJob> {
  const content = Buffer.alloc(220_000, n).toString('base64');
  const job = mailJob(n, { attachments: [{ filename: `f${n}.bin`, contentType: 'application/octet-stream', content }], ...overrides });
  return claimChecks.putJob(bucket, `payloads/job-${n}`, job);
}

/** Publishes the pointer with its `ExtendedPayloadSize`, as the producer does, and runs the handler on the batch. */
async function publishAndRun(rig: SendMailRig, job: OffloadedJob) {
  return (await claimChecks.run(rig, [job])).response;
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
