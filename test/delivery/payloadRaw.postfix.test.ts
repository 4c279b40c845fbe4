/**
 * A producer's ready-made 20 MB raw message, offloaded to S3 (fauxqs), through the send-mail handler
 * to a real MTA: Postfix with `message_size_limit` raised to 64 MiB, with CHUNKING (BDAT in 1 MiB
 * chunks) and without (DATA, dot-stuffed). The message Postfix stores is ours byte for byte, after
 * the trace fields it puts on top (Maildir keeps LF line ends).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { offloadPayload, payloadOfText } from '../../lib/publish/payloadOffload.js';
import { emulatorS3Client } from '../support/claimCheckRig.js';
import { startPostfix } from '../support/postfix.js';
import type { PostfixServer } from '../support/postfix.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { bigRawMessage, crlf, rawJob } from './rawMessages.js';

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

describe.each([
  { chunking: true, name: 'with CHUNKING (BDAT)' },
  { chunking: false, name: 'without CHUNKING (DATA)' },
])('a 20 MB raw job through the claim check to Postfix $name', ({ chunking }) => {
  let postfix: PostfixServer | undefined;
  let spool: string | undefined;
  const emulator = useSqsEmulator();
  beforeAll(async () => {
    postfix = await startPostfix({ chunking, sizeLimit: 64 * 1024 * 1024 });
    spool = await mkdtemp(join(tmpdir(), 'payload-raw-postfix-'));
  });
  afterAll(async () => {
    await postfix?.stop();
    if (spool !== undefined) await rm(spool, { recursive: true, force: true });
  });

  it('is stored byte for byte (after the trace fields), and its batch-mate too', async () => {
    // Prepare
    if (postfix === undefined || spool === undefined) throw new Error('Postfix did not start');
    const s3 = emulatorS3Client(emulator().endpoint);
    const bucket = `raw-postfix-${chunking ? 'bdat' : 'data'}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const settings: SmtpSettings = { host: postfix.host, port: postfix.port, security: 'starttls', username: postfix.user, password: postfix.pass };
    const rig = await sendMailRig({
      emulator: emulator(),
      smtp: { kind: 'url', settings },
      tlsCa: postfix.ca,
      payload: { bucket, forcePathStyle: true },
      deps: { s3, tmpDir: spool },
    });
    const message = bigRawMessage(20 * 1024 * 1024, 'big@example.test');
    const json = JSON.stringify(rawJob(message, ['big@example.test'], { id: `raw-postfix-${String(chunking)}` }));
    const { body } = await offloadPayload({ bucket, s3Client: s3 }, payloadOfText(json));
    await rig.queues.publish([body], { attributes: { ExtendedPayloadSize: String(Buffer.byteLength(json)) } });
    await rig.queues.publish([JSON.stringify(mailJob(2, { from: 'sender@example.test', to: ['small@example.test'] }))]);
    const records = await rig.queues.receiveRecords(10);
    expect(records).toHaveLength(2);
    // Act
    const response = await rig.handler(sqsEvent(records), lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const delivered = await postfix.waitForMessages(2, 60_000);
    expect(delivered.map((m) => m.recipient).sort()).toEqual(['big@example.test', 'small@example.test']);
    const stored = delivered.find((m) => m.recipient === 'big@example.test')?.raw ?? Buffer.alloc(0);
    const ours = stored.subarray(stored.indexOf('From: Reports <reports@example.com>\n'));
    const expected = crlf(message).replaceAll('\r\n', '\n');
    expect(ours.length).toBe(Buffer.byteLength(expected));
    expect(sha256(ours)).toBe(sha256(expected));
    s3.destroy();
  }, 180_000);
});
