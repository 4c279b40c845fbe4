/**
 * `mail-queue send|bulk --stack <name>`: the mail queue and the claim-check bucket read from the
 * stack's outputs (`QueueUrl`, `PayloadBucketName`) with DescribeStacks, so that `--attach` of a
 * large file against AWS needs no `--payload-bucket`. CloudFormation is our stand-in on 127.0.0.1;
 * SQS and S3 are fauxqs.
 */
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePayloadPointer } from '../../lib/message/payloadPointer.js';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../support/cloudFormationStandIn.js';
import { credentials, startFauxqs, type Fauxqs } from './fauxqs.js';
import { runCli } from './runCli.js';

const BUCKET = 'outboundmail-prod-payloads';
let sqs: Fauxqs;
let s3: S3Client;
let cloudFormation: CloudFormationStandIn;
let dir: string;
let queueUrl: string;
let oldQueueUrl: string;
const saved: Record<string, string | undefined> = {};
const VARIABLES = ['AWS_ENDPOINT_URL_CLOUDFORMATION', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

beforeAll(async () => {
  sqs = await startFauxqs();
  s3 = new S3Client({ endpoint: sqs.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  dir = await mkdtemp(path.join(tmpdir(), 'send-stack-'));
  queueUrl = await sqs.createQueue('mail');
  oldQueueUrl = await sqs.createQueue('mail-old');
  cloudFormation = await startCloudFormationStandIn({
    'OutboundMail-prod': { QueueUrl: queueUrl, DeadLetterQueueUrl: `${queueUrl}-dlq`, PayloadBucketName: BUCKET },
    // A stack deployed before the output existed.
    'OutboundMail-old': { QueueUrl: oldQueueUrl, DeadLetterQueueUrl: `${oldQueueUrl}-dlq` },
  });
  for (const name of VARIABLES) saved[name] = process.env[name];
  // The SDK reads these from the process's environment (the CLI's own env is given per run).
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  });
});

afterAll(async () => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = saved[name];
  }
  await cloudFormation.close();
  s3.destroy();
  await sqs.close();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ AWS_ENDPOINT_URL_SQS: sqs.endpoint, AWS_ENDPOINT_URL_S3: sqs.endpoint });

async function objectText(bucket: string, key: string): Promise<string> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await Body?.transformToString('utf8')) ?? '';
}

describe('mail-queue send --stack', () => {
  it("sends to the stack's queue and offloads a 2 MB --attach to its PayloadBucketName, with no --payload-bucket", async () => {
    const file = Buffer.from(Array.from({ length: 2_000_000 }, (_, n) => (n * 7 + (n >> 10)) % 256));
    await writeFile(path.join(dir, 'statement.pdf'), file);

    const run = await runCli(
      [
        'send',
        '--stack',
        'OutboundMail-prod',
        '--id',
        'st-1',
        '--to',
        'ann@example.com',
        '--subject',
        'Statement',
        '--text',
        'Attached.',
        '--attach',
        path.join(dir, 'statement.pdf'),
      ],
      { env: env() },
    );

    expect(run).toEqual({ code: 0, stdout: expect.stringMatching(/^sent job st-1 as SQS message [0-9a-f-]{36}\n$/), stderr: '' });
    const [message, ...rest] = await sqs.drain(queueUrl);
    expect(rest).toEqual([]);
    const pointer = parsePayloadPointer(message?.Body ?? '');
    expect(pointer).toEqual({ bucket: BUCKET, key: expect.stringMatching(/^payloads\/[0-9a-f-]{36}$/) });
    expect(JSON.parse(await objectText(BUCKET, pointer!.key))).toEqual({
      v: 1,
      id: 'st-1',
      to: 'ann@example.com',
      subject: 'Statement',
      text: 'Attached.',
      attachments: [{ filename: 'statement.pdf', contentType: 'application/pdf', content: file.toString('base64') }],
    });
    expect(cloudFormation.actions.at(-1)).toBe('DescribeStacks');
  });

  it("keeps --payload-bucket over the stack's bucket, and sends a small job inline", async () => {
    const other = 'another-payload-bucket';
    await s3.send(new CreateBucketCommand({ Bucket: other }));
    const large = await runCli(
      [
        'send',
        '--stack',
        'OutboundMail-prod',
        '--payload-bucket',
        other,
        '--to',
        'ann@example.com',
        '--subject',
        'Big',
        '--text',
        'x'.repeat(300_000),
      ],
      { env: env() },
    );
    const small = await runCli(
      ['send', '--stack', 'OutboundMail-prod', '--id', 'small-1', '--to', 'ann@example.com', '--subject', 'Small', '--text', 'Hi'],
      {
        env: env(),
      },
    );

    expect([large.code, large.stderr, small.code, small.stderr]).toEqual([0, '', 0, '']);
    const [first, second] = await sqs.drain(queueUrl);
    expect(parsePayloadPointer(first?.Body ?? '')?.bucket).toBe(other);
    expect(JSON.parse(second?.Body ?? '')).toMatchObject({ id: 'small-1', subject: 'Small' });
  });

  it('on a stack without PayloadBucketName sends small jobs and refuses a large one naming --payload-bucket; an unknown stack fails', async () => {
    const small = await runCli(['send', '--stack', 'OutboundMail-old', '--to', 'ann@example.com', '--subject', 'Small', '--text', 'Hi'], {
      env: env(),
    });
    await writeFile(path.join(dir, 'big.bin'), Buffer.alloc(1_200_000, 1));
    const large = await runCli(
      ['send', '--stack', 'OutboundMail-old', '--to', 'ann@example.com', '--subject', 'Big', '--text', 'x', '--attach', path.join(dir, 'big.bin')],
      { env: env() },
    );
    const missing = await runCli(['send', '--stack', 'OutboundMail-test', '--to', 'ann@example.com', '--subject', 's', '--text', 't'], {
      env: env(),
    });

    expect(small.code).toBe(0);
    expect(large.code).toBe(1);
    expect(large.stderr).toContain('(mail-queue: --payload-bucket) to send larger jobs through S3');
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'mail-queue: ValidationError: Stack with id OutboundMail-test does not exist\n' });
    expect((await sqs.drain(oldQueueUrl)).map((m) => (JSON.parse(m.Body ?? '') as { subject: string }).subject)).toEqual(['Small']);
  });
});

describe('mail-queue bulk --stack', () => {
  it("offloads a line over 256 KiB to the stack's bucket and sends the others inline", async () => {
    const lines = [
      JSON.stringify({ v: 1, id: 'b-1', to: 'ann@example.com', subject: 'One', text: 'Hi' }),
      JSON.stringify({ v: 1, id: 'b-2', to: 'bob@example.com', subject: 'Two', text: 'y'.repeat(300_000) }),
    ];

    const run = await runCli(['bulk', '--stack', 'OutboundMail-prod'], { env: env(), stdin: `${lines.join('\n')}\n` });

    expect(run).toEqual({ code: 0, stdout: 'sent 2 of 2 jobs, refused 0, failed 0\n', stderr: '' });
    const messages = await sqs.drain(queueUrl);
    const pointers = messages.map((m) => parsePayloadPointer(m.Body ?? '')).filter((p) => p !== undefined);
    expect(pointers).toHaveLength(1);
    expect(pointers[0]?.bucket).toBe(BUCKET);
    expect(JSON.parse(await objectText(BUCKET, pointers[0]!.key))).toMatchObject({ id: 'b-2', subject: 'Two' });
    expect(messages.filter((m) => parsePayloadPointer(m.Body ?? '') === undefined).map((m) => JSON.parse(m.Body ?? '') as unknown)).toEqual([
      JSON.parse(lines[0]!),
    ]);
  });
});
