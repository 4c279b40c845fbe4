/**
 * The producer's claim check for raw jobs: a ready-made message of many megabytes (from another mail
 * library) goes through S3 as any large job does, and one over `maxMessageBytes` is refused with
 * the figure, before anything is uploaded.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidJobError, type MailJobInput } from '../../lib/message/index.js';
import { parsePayloadPointer } from '../../lib/message/payloadPointer.js';
import { createMailQueue } from '../../lib/publish/index.js';
import { bigRawMessage } from '../delivery/rawMessages.js';
import { credentials, startFauxqs, type Fauxqs } from './fauxqs.js';

let sqs: Fauxqs;
let s3: S3Client;
const bucket = 'mail-payloads-raw';
beforeAll(async () => {
  sqs = await startFauxqs();
  s3 = new S3Client({ endpoint: sqs.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
});
afterAll(async () => {
  s3.destroy();
  await sqs.close();
});

const rawJob = (message: string): MailJobInput => ({
  v: 1,
  id: 'raw-1',
  raw: { envelope: { from: 'bounces@example.com', to: ['big@example.com'] }, message },
});
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function keys(): Promise<string[]> {
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return Contents.map((o) => o.Key ?? '');
}

describe('createMailQueue: raw jobs through the claim check', () => {
  it('a 12 MB raw message goes to S3 (in parts) and the queue carries the pointer with ExtendedPayloadSize', async () => {
    // Prepare
    const queueUrl = await sqs.createQueue('mail-raw');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3 });
    const job = rawJob(bigRawMessage(12 * 1024 * 1024));
    const json = JSON.stringify(job);
    // Act
    const sent = await queue.send(job);
    // Assess
    expect(sent).toMatchObject({ ok: true, jobId: 'raw-1' });
    const { Messages = [] } = await sqs.client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );
    expect(Messages).toHaveLength(1);
    expect(Messages[0]?.MessageAttributes).toEqual({ ExtendedPayloadSize: { DataType: 'Number', StringValue: String(Buffer.byteLength(json)) } });
    const pointer = parsePayloadPointer(Messages[0]?.Body ?? '');
    expect(pointer?.bucket).toBe(bucket);
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: pointer?.key ?? '' }));
    expect(sha256((await Body?.transformToString('utf8')) ?? '')).toBe(sha256(json));
  }, 60_000);

  it('refuses a raw job over maxMessageBytes with the figures, uploading and sending nothing', async () => {
    const queueUrl = await sqs.createQueue('mail-raw-limit');
    const before = await keys();
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3, maxMessageBytes: 3_000_000 });
    const job = rawJob(bigRawMessage(3_000_000));
    const bytes = Buffer.byteLength(JSON.stringify(job));
    const error = await queue.send(job).catch((e: unknown) => e);
    expect(error).toEqual(
      new InvalidJobError([{ path: '', message: `is ${bytes} octets as JSON; this queue takes at most 3000000 octets per job (maxMessageBytes)` }]),
    );
    expect(await keys()).toEqual(before);
  });

  it('refuses a large raw message that breaks a rule with the rule, before anything is uploaded', async () => {
    const queue = createMailQueue({ queueUrl: await sqs.createQueue('mail-raw-bad'), client: sqs.client, payloadBucket: bucket, s3Client: s3 });
    const before = await keys();
    const error = (await queue.send(rawJob(`Bcc: hidden@example.com\n${bigRawMessage(2_000_000)}`)).catch((e: unknown) => e)) as InvalidJobError;
    expect(error).toBeInstanceOf(InvalidJobError);
    expect(error.issues).toEqual([
      { path: 'raw.message', message: 'has a Bcc field, which every recipient would see: put blind copies in the envelope only' },
    ]);
    expect(await keys()).toEqual(before);
  });
});
