/**
 * The AWS side of the `large` bench: the fauxqs emulator (SQS and S3) in this process, a claim-check
 * bucket and a mail queue in it, and the producer (`createMailQueue` with `JobWithFiles`) publishing
 * each batch, so that large jobs reach the handler as SQS Extended Client pointers exactly as a
 * producer writes them. A batch is published once and received back from the queue; each run gets
 * an event of those records whose pointers name fresh server-side copies of the objects.
 * @module
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { Message } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { buildApp } from 'fauxqs';
import { PAYLOAD_KEY_PREFIX, parsePayloadPointer, payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { createMailQueue, JobWithFiles } from '../../lib/publish/index.js';
import type { ComposedMailJobInput, MailQueue } from '../../lib/publish/index.js';
import { recordFromMessage, sqsEvent } from '../../test/support/sqsEvents.js';

/** A file of random octets to attach, and its digest. */
export interface AttachmentFile {
  path: string;
  filename: string;
  size: number;
  /** SHA-256 of the file, hex. */
  sha256: string;
}

/** One job of a batch: a large one attaching a file (offloaded to S3), or a small one (inline on the queue). */
export type BenchJob = { kind: 'large'; file: AttachmentFile } | { kind: 'small' };

/** A published batch, as the handler will get it. */
export interface PublishedBatch {
  /** The Lambda event (JSON) of the batch's records. */
  eventFile: string;
  /** The event's records (pointers naming this run's copies). */
  records: SQSRecord[];
}

/** A running emulator with the bench's bucket and queues. */
export interface PayloadRig {
  endpoint: string;
  bucket: string;
  queueUrl: string;
  dlqUrl: string;
  /** The handler's settings for S3 and SQS (merged into its environment). */
  env: NodeJS.ProcessEnv;
  /** Publishes the jobs through the producer and receives them back as Lambda records (their objects stay as templates). */
  publish(jobs: readonly BenchJob[]): Promise<SQSRecord[]>;
  /**
   * Writes a run's event to `eventFile`: the records, each pointer naming a fresh server-side copy
   * of its object (the function deletes what it delivered, so every run needs its own objects).
   */
  eventFor(records: readonly SQSRecord[], eventFile: string): Promise<PublishedBatch>;
  /** Deletes the objects the records' pointers name (the function deletes them itself after delivery; nodemailer does not). */
  discard(records: readonly SQSRecord[]): Promise<void>;
  stop(): Promise<void>;
}

const BUCKET = 'bench-large-payloads';
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };

/**
 * Writes `size` random octets to `dir/filename` in 1 MiB writes and returns it with its SHA-256.
 * @throws the file system's error
 */
export async function writeAttachmentFile(dir: string, filename: string, size: number): Promise<AttachmentFile> {
  const file = path.join(dir, filename);
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  try {
    for (let left = size; left > 0; left -= 2 ** 20) {
      const chunk = randomBytes(Math.min(left, 2 ** 20));
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  return { path: file, filename, size, sha256: hash.digest('hex') };
}

/** The job of position `index` in a batch. */
function jobInput(index: number): ComposedMailJobInput {
  return {
    v: 1,
    from: 'Bench <bench@example.test>',
    to: [`rcpt${index + 1}@example.test`],
    subject: `Large message bench ${index + 1}`,
    text: 'The report is attached.\n'.repeat(40),
  };
}

/** A small job: a few KB of text and a 20 KB attachment, inline in the queue message. */
function smallJob(index: number): ComposedMailJobInput {
  return {
    ...jobInput(index),
    attachments: [{ filename: 'note.bin', contentType: 'application/octet-stream', content: randomBytes(20_000).toString('base64') }],
  };
}

/**
 * Starts fauxqs on 127.0.0.1 (port 0) with the claim-check bucket, a mail queue and its DLQ.
 * @throws when the emulator does not start
 * @example
 * const rig = await startPayloadRig();
 * const records = await rig.publish([{ kind: 'large', file }]);
 * await rig.eventFor(records, '/tmp/event.json'); // once per run
 */
export async function startPayloadRig(): Promise<PayloadRig> {
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  const region = 'us-east-1';
  const s3 = new S3Client({ endpoint, forcePathStyle: true, region, credentials, requestChecksumCalculation: 'WHEN_REQUIRED' });
  const sqs = new SQSClient({ endpoint, region, credentials });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'bench-large-dlq' }))).QueueUrl ?? '';
  const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'bench-large' }))).QueueUrl ?? '';
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = Attributes?.QueueArn ?? 'arn:aws:sqs:us-east-1:000000000000:bench-large';
  const queue: MailQueue = createMailQueue({ queueUrl, client: sqs, payloadBucket: BUCKET, s3Client: s3 });

  const receive = async (count: number): Promise<Message[]> => {
    const all: Message[] = [];
    while (all.length < count) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 600,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if (Messages.length === 0) throw new Error(`the queue handed out ${all.length} of ${count} published jobs`);
      all.push(...Messages);
      // Gone from the queue: the bench hands the batch to the handler itself, as the event source mapping would.
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
    return all;
  };

  return {
    endpoint,
    bucket: BUCKET,
    queueUrl,
    dlqUrl,
    env: { MAIL_PAYLOAD_BUCKET: BUCKET, AWS_ENDPOINT_URL_S3: endpoint, AWS_ENDPOINT_URL_SQS: endpoint, QUEUE_URL: queueUrl, DLQ_URL: dlqUrl },
    async publish(jobs) {
      for (const [index, job] of jobs.entries()) {
        if (job.kind === 'small') await queue.send(smallJob(index));
        else
          await queue.send(
            await JobWithFiles.of(jobInput(index), [{ path: job.file.path, filename: job.file.filename, contentType: 'application/octet-stream' }]),
          );
      }
      return (await receive(jobs.length)).map((message) => recordFromMessage(message, queueArn));
    },
    async eventFor(records, eventFile) {
      const copies: SQSRecord[] = [];
      for (const record of records) {
        const pointer = parsePayloadPointer(record.body);
        if (pointer === undefined) copies.push(record);
        else {
          const key = `${PAYLOAD_KEY_PREFIX}${randomUUID()}`;
          await s3.send(new CopyObjectCommand({ Bucket: pointer.bucket, Key: key, CopySource: `${pointer.bucket}/${pointer.key}` }));
          copies.push({ ...record, messageId: randomUUID(), body: payloadPointerBody({ bucket: pointer.bucket, key }) });
        }
      }
      await writeFile(eventFile, JSON.stringify(sqsEvent(copies)));
      return { eventFile, records: copies };
    },
    async discard(records) {
      for (const record of records) {
        const pointer = parsePayloadPointer(record.body);
        if (pointer !== undefined) await s3.send(new DeleteObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }));
      }
    },
    async stop() {
      s3.destroy();
      sqs.destroy();
      await app.close();
    },
  };
}
