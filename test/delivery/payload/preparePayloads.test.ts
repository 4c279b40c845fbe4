/**
 * preparePayloads reading a batch's claim checks from S3 (fauxqs): large objects one at a time,
 * small ones beside them. The S3 client is the real one; the test only counts the reads in flight
 * (from GetObject to the end of its body).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { MailRecord } from '../../../lib/delivery/mailRecord.js';
import { LOAD_ALONE_BYTES, preparePayloads } from '../../../lib/delivery/payload/preparePayloads.js';
import { PayloadReader } from '../../../lib/delivery/payload/PayloadReader.js';
import { PayloadStore } from '../../../lib/delivery/payload/PayloadStore.js';
import { payloadPointerBody } from '../../../lib/message/payloadPointer.js';
import { emulatorS3Client } from '../../support/claimCheckRig.js';
import { useSqsEmulator } from '../../support/sqsQueues.js';

const emulator = useSqsEmulator();
const bucket = 'prepare-payloads';
let s3: S3Client;
let spool: string;

beforeAll(async () => {
  s3 = emulatorS3Client(emulator().endpoint);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  spool = await mkdtemp(join(tmpdir(), 'prepare-payloads-'));
});
afterAll(async () => {
  s3.destroy();
  await rm(spool, { recursive: true, force: true });
});

/** Puts a job attaching `attachmentBytes` octets under `key` and returns its record (a pointer with its size). */
async function offloadedRecord(key: string, attachmentBytes: number): Promise<MailRecord> {
  const job = {
    v: 1,
    id: key,
    from: 's@example.com',
    to: 'a@example.com',
    subject: key,
    text: 'See attached.',
    attachments: [{ filename: `${key}.bin`, contentType: 'application/octet-stream', content: Buffer.alloc(attachmentBytes, 7).toString('base64') }],
  };
  const body = Buffer.from(JSON.stringify(job));
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `payloads/${key}`, Body: body }));
  return {
    messageId: key,
    receiptHandle: key,
    body: payloadPointerBody({ bucket, key: `payloads/${key}` }),
    receiveCount: 1,
    requeueCount: 0,
    payloadSize: body.length,
  };
}

it('reads claim checks over LOAD_ALONE_BYTES one at a time, and small ones beside them', async () => {
  // Prepare
  const records = [
    await offloadedRecord('large-1', 2 * LOAD_ALONE_BYTES),
    await offloadedRecord('large-2', 2 * LOAD_ALONE_BYTES),
    await offloadedRecord('small-1', 10_000),
    await offloadedRecord('small-2', 10_000),
  ];
  const reading = new Set<string>();
  let mostLarge = 0;
  let mostAtOnce = 0;
  const counting: Pick<S3Client, 'send'> = {
    send: (async (command: unknown, options?: unknown) => {
      if (!(command instanceof GetObjectCommand)) return s3.send(command as never, options as never);
      const key = command.input.Key ?? '';
      reading.add(key);
      mostAtOnce = Math.max(mostAtOnce, reading.size);
      mostLarge = Math.max(mostLarge, [...reading].filter((k) => k.includes('large')).length);
      const reply = await s3.send(command, options as never);
      (reply.Body as Readable).once('close', () => reading.delete(key));
      return reply;
    }) as S3Client['send'],
  };
  const reader = new PayloadReader(new PayloadStore(counting), { bucket, tmpDir: spool });
  // Act
  const prepared = await preparePayloads(records, reader);
  await reader.endBatch();
  // Assess
  expect(prepared.map((entry) => ('job' in entry ? entry.job.id : entry.invalid))).toEqual(['large-1', 'large-2', 'small-1', 'small-2']);
  expect(mostLarge).toBe(1);
  expect(mostAtOnce).toBe(2);
});
