/**
 * A job published without `id` is named alike by the producer and the function: `mail-queue send`
 * prints the content-derived id (`sent job content.… as SQS message …`), `createMailQueue`'s `send`
 * returns it, and the function delivers the job under that same id (its log line's `jobId`, the
 * Message-ID `<content.…@domain>`), whether the job went inline or through S3 as a claim check.
 * The CLI and the send-mail handler against fauxqs (SQS and S3) and smtp-server.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { contentJobId, parseMailJob } from '../../lib/message/index.js';
import { parsePayloadPointer } from '../../lib/message/payloadPointer.js';
import { createMailQueue } from '../../lib/publish/index.js';
import { useClaimCheckRig } from '../support/claimCheckRig.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { runCli } from './runCli.js';

const emulator = useSqsEmulator();
// The CLI's SDK clients take their credentials from the process's environment.
useAwsTestEnvironment();
const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'send-job-id-' });

const setUp = (): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle; bucket: string }> => claimChecks.handler('job-id-payloads');

/** `mail-queue send` of a job without --id, to the rig's queue and bucket; the id it printed. */
async function sendFromCli(rig: SendMailRig, bucket: string, args: string[]): Promise<string> {
  const env = {
    AWS_ENDPOINT_URL_SQS: emulator().endpoint,
    AWS_ENDPOINT_URL_S3: emulator().endpoint,
  };
  const run = await runCli(['send', '--queue-url', rig.queues.queueUrl, '--payload-bucket', bucket, ...args], { env });
  expect([run.code, run.stderr]).toEqual([0, '']);
  const printed = /^sent job (content\.[0-9a-f]{32}) as SQS message [0-9a-f-]{36}\n$/.exec(run.stdout);
  expect(printed, run.stdout).not.toBeNull();
  return printed?.[1] ?? '';
}

/** Receives the queue's messages as one batch, runs the handler; the bodies, the jobIds it logged and the Message-IDs delivered. */
async function deliver(rig: SendMailRig, smtp: SmtpServerHandle) {
  const records = await rig.queues.receiveRecords(10);
  const response = await rig.handler(sqsEvent(records), lambdaContext());
  expect(response).toEqual({ batchItemFailures: [] });
  const logged = records.map((record) => rig.log.records().get(record.messageId)?.attributes['jobId']);
  const messageIds = await Promise.all(smtp.messages.map(async (message) => (await simpleParser(message.raw)).messageId));
  return { bodies: records.map((record) => record.body), logged, messageIds };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('the id of a job published without one', () => {
  it('inline: the CLI prints the id the function delivers it under (log, Message-ID), the id contentJobId gives the job', async () => {
    // Prepare
    const { rig, smtp, bucket } = await setUp();
    // Act
    const id = await sendFromCli(rig, bucket, [
      '--from',
      'shop@example.com',
      '--to',
      'ann@example.com',
      '--subject',
      'Your order',
      '--text',
      'Thanks',
    ]);
    const delivered = await deliver(rig, smtp);
    // Assess
    const job = { v: 1, from: 'shop@example.com', to: ['ann@example.com'], subject: 'Your order', text: 'Thanks' } as const;
    expect(id).toBe(contentJobId(parseMailJob(job)));
    expect(delivered.logged).toEqual([id]);
    expect(delivered.messageIds).toEqual([`<${id}@example.com>`]);
    expect(JSON.parse(delivered.bodies[0] ?? '')).toMatchObject({ id, subject: 'Your order' });
  });

  it('through S3 (--attach of 400 KB): the same; and the same id for the same job given with its file inline to createMailQueue', async () => {
    // Prepare
    const { rig, smtp, bucket } = await setUp();
    const file = Buffer.alloc(400_000);
    for (let at = 0; at < file.length; at += 1) file[at] = (at * 7 + (at >> 9)) & 0xff;
    await writeFile(join(claimChecks.spool, 'report.pdf'), file);
    const flags = ['--from', 'shop@example.com', '--to', 'ann@example.com', '--subject', 'Report', '--text', 'Attached.'];
    // Act
    const id = await sendFromCli(rig, bucket, [...flags, '--attach', join(claimChecks.spool, 'report.pdf')]);
    const queue = createMailQueue({ queueUrl: rig.queues.queueUrl, client: emulator().sqs, payloadBucket: bucket, s3Client: claimChecks.s3 });
    const attachments = [{ filename: 'report.pdf', contentType: 'application/pdf', content: file.toString('base64') }];
    const sent = await queue.send({ v: 1, from: 'shop@example.com', to: 'ann@example.com', subject: 'Report', text: 'Attached.', attachments });
    const delivered = await deliver(rig, smtp);
    // Assess
    expect(sent.jobId).toBe(id);
    expect(delivered.bodies.map((body) => parsePayloadPointer(body)?.bucket)).toEqual([bucket, bucket]);
    expect(delivered.logged).toEqual([id, id]);
    // The second is the same mail: the ledger-less rig delivers it again, under the same Message-ID.
    expect(delivered.messageIds).toEqual([`<${id}@example.com>`, `<${id}@example.com>`]);
    const parsed = await simpleParser(smtp.messages[0]?.raw ?? Buffer.alloc(0));
    expect(parsed.attachments.map((a) => [a.filename, sha256(a.content)])).toEqual([['report.pdf', sha256(file)]]);
  });

  it("createMailQueue: send and sendBatch return the derived id; a job's own id is kept as it is", async () => {
    const { rig } = await setUp();
    const queue = createMailQueue({ queueUrl: rig.queues.queueUrl, client: emulator().sqs });
    const job = { v: 1, to: 'bob@example.com', subject: 'Hi', text: 'Hello', tags: { tenant: '7' } } as const;

    const sent = await queue.send(job);
    const batch = await queue.sendBatch([
      { ...job, tags: { tenant: '8' } },
      { ...job, id: 'order-1' },
    ]);

    const derived = contentJobId(parseMailJob(job));
    expect([sent.jobId, ...batch.map((result) => result.jobId)]).toEqual([derived, derived, 'order-1']);
    const bodies = (await rig.queues.contents(rig.queues.queueName)).ready.map((m) => (JSON.parse(m.body) as { id?: string }).id);
    expect(bodies.sort()).toEqual([derived, derived, 'order-1'].sort());
  });
});
