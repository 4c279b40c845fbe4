/**
 * A relay answering 552 in the middle of a streamed message (a claim check's job), through the
 * handler: the job is permanent at once (the DLQ with the reply as its reason, its object kept for
 * a redrive), never retried as a protocol error; a job queued behind it on the same connection
 * only lost its connection and comes back. Scripted relay, SQS and S3 on fauxqs, the ledger in dynalite.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { useDynamoEmulator } from '../support/dynamoEmulator.js';
import { ledgerRig } from '../support/ledgerRig.js';
import type { LedgerRig } from '../support/ledgerRig.js';
import { mailJob } from '../support/sendMailHarness.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
const dynamo = useDynamoEmulator();
let running: LedgerRig | undefined;
let s3: S3Client;
let spool: string;

beforeEach(async () => {
  spool = await mkdtemp(join(tmpdir(), 'too-large-'));
  s3 = new S3Client({
    endpoint: emulator().endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterEach(async () => {
  await running?.relay.stop();
  running = undefined;
  s3.destroy();
  await rm(spool, { recursive: true, force: true });
});

describe('552 in the middle of a streamed message, through the handler', () => {
  it('the job goes to the DLQ at once as too large (phase data, 552, the reply), its object kept; the job behind it comes back', async () => {
    // Prepare: the relay answers the first DATA with its 354 and, at once, 552.
    const bucket = 'too-large-payloads';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    let datas = 0;
    running = await ledgerRig(emulator(), dynamo(), {
      payload: { bucket, forcePathStyle: true },
      deps: { s3, tmpDir: spool },
      onCommand: (command) => {
        if (command.verb !== 'DATA') return undefined;
        datas += 1;
        return datas === 1 ? ['354 go ahead', '552 5.3.4 Message size exceeds fixed maximum message size'] : undefined;
      },
    });
    const { rig, invoke, confirmed } = running;
    const job = mailJob(31, {
      attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: Buffer.alloc(1_500_000, 7).toString('base64') }],
    });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'payloads/job-31', Body: JSON.stringify(job) }));
    const pointer = payloadPointerBody({ bucket, key: 'payloads/job-31' });
    await rig.queues.publish([pointer, JSON.stringify(mailJob(32))]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
    expect(confirmed).toEqual([]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready).toHaveLength(1);
    const attributes = Object.fromEntries(Object.entries(dead.ready[0]!.messageAttributes).map(([name, value]) => [name, value.StringValue]));
    expect(dead.ready[0]!.body).toBe(pointer);
    expect(attributes).toMatchObject({ FailurePhase: 'data', FailureKind: 'permanent', FailureCode: '552' });
    expect(attributes['FailureMessage']).toContain('552 5.3.4 Message size exceeds fixed maximum message size');
    const behind = running.log.records().get(records[1]!.messageId)?.attributes;
    expect(behind?.['placement']).toBe('retry');
    expect(behind?.['outcome']).not.toBe('permanent');
    await expect(s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'payloads/job-31' }))).resolves.toBeDefined();
  });
});
