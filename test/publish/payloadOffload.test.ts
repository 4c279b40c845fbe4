import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentJobId, InvalidJobError, parseMailJob, type MailJobInput } from '../../lib/message/index.js';
import { parsePayloadPointer } from '../../lib/message/payloadPointer.js';
import { createMailQueue, JobWithFiles, PublishError } from '../../lib/publish/index.js';
import { credentials, startFauxqs, type Fauxqs } from './fauxqs.js';

let sqs: Fauxqs;
let s3: S3Client;
let dir: string;
const bucket = 'mail-payloads';
beforeAll(async () => {
  sqs = await startFauxqs();
  s3 = new S3Client({ endpoint: sqs.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  dir = await mkdtemp(path.join(tmpdir(), 'offload-test-'));
});
afterAll(async () => {
  s3.destroy();
  await sqs.close();
  await rm(dir, { recursive: true, force: true });
});

const POINTER =
  /^\["software\.amazon\.payloadoffloading\.PayloadS3Pointer",\{"s3BucketName":"mail-payloads","s3Key":"payloads\/([0-9a-f-]{36})"\}\]$/;

/** A job whose JSON is exactly `bytes` octets (an attachment of base64 `A`s, and a few octets of text). */
function jobOfSize(bytes: number, extra: Partial<MailJobInput> = {}): MailJobInput {
  const base = { v: 1, id: 'big-1', to: 'ann@example.com', subject: 'Report', ...extra } as MailJobInput;
  const withContent = (text: string, content: string) =>
    ({ ...base, text, attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content }] }) as MailJobInput;
  const pad = bytes - Buffer.byteLength(JSON.stringify(withContent('', '')));
  return withContent('x'.repeat(pad % 4), 'A'.repeat(pad - (pad % 4)));
}

async function receiveAll(queueUrl: string): Promise<Message[]> {
  const { Messages = [] } = await sqs.client.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
  );
  return Messages;
}

async function objectText(key: string): Promise<string> {
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await Body?.transformToString('utf8')) ?? '';
}

async function keys(): Promise<string[]> {
  const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return Contents.map((o) => o.Key ?? '');
}

describe('createMailQueue: claim check', () => {
  it('puts a job over the threshold in S3 and sends the Extended Client pointer with ExtendedPayloadSize', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3 });
    const job = jobOfSize(300_000);
    const sent = await queue.send(job);
    const [message, ...rest] = await receiveAll(queueUrl);
    expect(rest).toEqual([]);
    expect(sent).toMatchObject({ ok: true, jobId: 'big-1', messageId: message?.MessageId });
    const key = `payloads/${POINTER.exec(message?.Body ?? '')?.[1] ?? 'no pointer'}`;
    expect(message?.Body).toBe(`["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"mail-payloads","s3Key":"${key}"}]`);
    expect(message?.MessageAttributes).toEqual({ ExtendedPayloadSize: { DataType: 'Number', StringValue: '300000' } });
    expect(await objectText(key)).toBe(JSON.stringify(job));
  });

  it('sends a job of exactly the threshold inline, one octet more through S3 (threshold configurable)', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3, offloadThresholdBytes: 10_000 });
    const results = await queue.sendBatch([jobOfSize(10_000, { id: 'at' }), jobOfSize(10_001, { id: 'over' })]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    const messages = await receiveAll(queueUrl);
    const byBody = messages.map((m) => (m.Body?.startsWith('{') ? (JSON.parse(m.Body) as { id: string }).id : 'pointer'));
    expect(byBody.sort()).toEqual(['at', 'pointer']);
    const inline = messages.find((m) => m.Body?.startsWith('{'));
    expect(inline?.MessageAttributes).toBeUndefined();
    const pointer = messages.find((m) => m.Body?.startsWith('['));
    expect(pointer?.MessageAttributes?.ExtendedPayloadSize?.StringValue).toBe('10001');
  });

  it('refuses a job over maxMessageBytes with the figures, uploading and sending nothing', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const before = await keys();
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3, maxMessageBytes: 2_000_000 });
    const error = await queue.send(jobOfSize(2_000_001)).catch((e: unknown) => e);
    expect(error).toEqual(
      new InvalidJobError([{ path: '', message: 'is 2000001 octets as JSON; this queue takes at most 2000000 octets per job (maxMessageBytes)' }]),
    );
    await expect(queue.send(jobOfSize(2_000_000))).resolves.toMatchObject({ ok: true });
    expect((await keys()).length).toBe(before.length + 1);
    expect(await receiveAll(queueUrl)).toHaveLength(1);
  });

  it('without a payload bucket refuses a 2 MB job and names the option', async () => {
    const queue = createMailQueue({ queueUrl: await sqs.createQueue('mail'), client: sqs.client });
    const error = (await queue.send(jobOfSize(2_000_000)).catch((e: unknown) => e)) as InvalidJobError;
    expect(error.issues).toEqual([
      {
        path: '',
        message:
          'is 2000000 octets as JSON; SQS takes at most 1048576 octets per message: give the queue a payloadBucket ' +
          '(mail-queue: --payload-bucket) to send larger jobs through S3, up to 41943040 octets',
      },
    ]);
  });

  it('on a FIFO queue, keeps the deduplication id of the job (its id, else the id derived from its content), not of the pointer', async () => {
    const queueUrl = await sqs.createQueue('mail.fifo');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3, offloadThresholdBytes: 1000 });
    const anonymous = { ...jobOfSize(5000), id: undefined };
    delete anonymous.id;
    await queue.send(jobOfSize(5000, { id: 'order-7' }));
    await queue.send(anonymous);
    const messages: Message[] = [];
    for (let i = 0; i < 2; i += 1) messages.push(...(await sqs.drain(queueUrl)));
    expect(messages.every((m) => POINTER.test(m.Body ?? ''))).toBe(true);
    expect(messages.map((m) => m.Attributes?.MessageDeduplicationId)).toEqual(['order-7', contentJobId(parseMailJob(anonymous))]);
  });

  it('fails with PayloadUploadFailed when S3 does not take the body, and sends nothing', async () => {
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: 'no-such-bucket', s3Client: s3 });
    const error = await queue.send(jobOfSize(300_000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error).toMatchObject({ code: 'PayloadUploadFailed', senderFault: true });
    const [result] = await queue.sendBatch([jobOfSize(300_000)]);
    expect(result).toMatchObject({ ok: false, index: 0, error: { code: 'PayloadUploadFailed' } });
    expect(await receiveAll(queueUrl)).toEqual([]);
  });
});

describe('JobWithFiles', () => {
  const file = Buffer.from(Array.from({ length: 3_000_001 }, (_, n) => (n * 31 + (n >> 8)) % 256));
  const base = { v: 1 as const, id: 'files-1', to: 'ann@example.com', subject: 'Files', text: 'Attached.' };

  it('streams a job with a file attachment into S3: the object is the job JSON with the file in base64', async () => {
    const filePath = path.join(dir, 'report.bin');
    await writeFile(filePath, file);
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3 });
    const job = await JobWithFiles.of(base, [{ path: filePath, filename: 'report.bin', contentType: 'application/octet-stream' }]);
    const expected = JSON.stringify({
      ...base,
      attachments: [{ filename: 'report.bin', contentType: 'application/octet-stream', content: file.toString('base64') }],
    });
    expect(job.bytes).toBe(Buffer.byteLength(expected));
    await queue.send(job);
    const [message] = await receiveAll(queueUrl);
    const key = `payloads/${POINTER.exec(message?.Body ?? '')?.[1] ?? 'no pointer'}`;
    expect(message?.MessageAttributes?.ExtendedPayloadSize?.StringValue).toBe(String(job.bytes));
    expect(await objectText(key)).toBe(expected);
  });

  it('uploads one over 8 MiB in parts (S3 emulators cap a request at 11 MiB): the object is still exactly the JSON', async () => {
    const big = Buffer.alloc(7_000_000, 0xa5);
    const filePath = path.join(dir, 'big.bin');
    await writeFile(filePath, big);
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3 });
    const job = await JobWithFiles.of(base, [{ path: filePath, filename: 'big.bin', contentType: 'application/octet-stream' }]);
    expect(job.bytes).toBeGreaterThan(8 * 1024 * 1024);
    await queue.send(job);
    const [message] = await receiveAll(queueUrl);
    const key = `payloads/${POINTER.exec(message?.Body ?? '')?.[1] ?? 'no pointer'}`;
    const text = await objectText(key);
    expect(Buffer.byteLength(text)).toBe(job.bytes);
    expect(text).toBe(
      JSON.stringify({ ...base, attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: big.toString('base64') }] }),
    );
  });

  it('sends a small one inline, and checks the job before reading the file', async () => {
    const filePath = path.join(dir, 'note.txt');
    await writeFile(filePath, 'hello');
    const queueUrl = await sqs.createQueue('mail');
    const queue = createMailQueue({ queueUrl, client: sqs.client, payloadBucket: bucket, s3Client: s3 });
    const small = await JobWithFiles.of(base, [{ path: filePath, filename: 'note.txt', contentType: 'text/plain', contentId: 'n@x' }]);
    await queue.send(small);
    const [message] = await receiveAll(queueUrl);
    expect(JSON.parse(message?.Body ?? '')).toEqual({
      ...base,
      attachments: [{ filename: 'note.txt', contentType: 'text/plain', content: 'aGVsbG8=', contentId: 'n@x' }],
    });
    const bad = await JobWithFiles.of({ ...base, to: 'not an address' }, [{ path: filePath, filename: 'note.txt', contentType: 'text/plain' }]);
    await expect(queue.send(bad)).rejects.toBeInstanceOf(InvalidJobError);
  });
});

describe('pointers of the official libraries', () => {
  it('reads the pointer exactly as amazon-sqs-python-extended-client writes it (json.dumps: spaces after , and :)', () => {
    // sqs_extended_client/client.py: dumps([MESSAGE_POINTER_CLASS, {"s3BucketName": bucket, "s3Key": str(uuid4())}])
    const python =
      '["software.amazon.payloadoffloading.PayloadS3Pointer", {"s3BucketName": "mail-payloads", "s3Key": "0b6f7c9e-2f4d-4d7a-9a53-6c1e1f0b9a11"}]';
    expect(parsePayloadPointer(python)).toEqual({ bucket: 'mail-payloads', key: '0b6f7c9e-2f4d-4d7a-9a53-6c1e1f0b9a11' });
    // Java (payloadoffloading-common, Jackson): no spaces, the same fields.
    const java =
      '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"mail-payloads","s3Key":"payloads/0b6f7c9e-2f4d-4d7a-9a53-6c1e1f0b9a11"}]';
    expect(parsePayloadPointer(java)).toEqual({ bucket: 'mail-payloads', key: 'payloads/0b6f7c9e-2f4d-4d7a-9a53-6c1e1f0b9a11' });
  });
});
