/**
 * Raw jobs through the claim check (issue 11): a producer's ready-made 20 MB message in a raw job,
 * offloaded to S3 (fauxqs), goes through the send-mail handler to smtp-server byte for byte (its
 * line ends made CRLF), read from its spool file as it is sent; an offloaded raw job that breaks a
 * rule is refused for good with exactly the reason the same job gets inline.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { parseMailJob } from '../../lib/message/index.js';
import { offloadPayload, payloadOfText } from '../../lib/publish/payloadOffload.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { bigRawMessage, crlf, rawJob } from './rawMessages.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | undefined;
let spool: string;
let s3: S3Client;
let buckets = 0;

beforeEach(async () => {
  spool = await mkdtemp(join(tmpdir(), 'payload-raw-test-'));
  s3 = new S3Client({
    endpoint: emulator().endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  s3.destroy();
  await rm(spool, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

async function setUp(): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle; bucket: string }> {
  buckets += 1;
  const bucket = `mail-payloads-raw-${buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  server = await startSmtpServer({ size: 64 * 1024 * 1024 });
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

/** Offloads a job's JSON as the producer does (multipart over 8 MiB) and returns the queue body and attribute. */
async function offload(bucket: string, job: unknown): Promise<{ body: string; size: number; key: string }> {
  const json = JSON.stringify(job);
  const { body } = await offloadPayload({ bucket, s3Client: s3 }, payloadOfText(json));
  const key = (JSON.parse(body) as [string, { s3Key: string }])[1].s3Key;
  return { body, size: Buffer.byteLength(json), key };
}

async function runBodies(rig: SendMailRig, bodies: { body: string; size?: number }[]) {
  for (const { body, size } of bodies)
    await rig.queues.publish([body], size === undefined ? {} : { attributes: { ExtendedPayloadSize: String(size) } });
  const records = await rig.queues.receiveRecords(10);
  expect(records).toHaveLength(bodies.length);
  const response = await rig.handler(sqsEvent(records), lambdaContext());
  return { records, response };
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe('raw jobs through the claim check', () => {
  it('a 20 MB raw message (LF line ends, 8-bit text) is delivered byte for byte as CRLF, with SIZE= and BODY=8BITMIME; the object is deleted', async () => {
    // Prepare
    const { rig, smtp, bucket } = await setUp();
    const message = bigRawMessage(20 * 1024 * 1024);
    const expected = crlf(message);
    const offloaded = await offload(bucket, rawJob(message, ['big@example.com'], { id: 'raw-big' }));
    expect(offloaded.size).toBeGreaterThan(20 * 1024 * 1024);
    // Act
    const { response } = await runBodies(rig, [offloaded, { body: JSON.stringify(mailJob(2)) }]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['big@example.com'], ['rcpt2@example.com']]);
    const received = smtp.messages[0]!;
    expect(received.raw.length).toBe(Buffer.byteLength(expected));
    expect(sha256(received.raw)).toBe(sha256(expected));
    expect(received.mailArgs).toMatchObject({ SIZE: String(Buffer.byteLength(expected)), BODY: '8BITMIME' });
    expect(await exists(bucket, offloaded.key)).toBe(false);
    expect(await readdir(join(spool, 'mail-spool')).then((entries) => entries.length)).toBe(0);
  }, 120_000);

  it('a raw message without a final line end: the CRLF the wire needs is counted in SIZE=', async () => {
    const { rig, smtp, bucket } = await setUp();
    const message = 'From: a@example.com\nSubject: plain\n\nno line end at the end';
    const offloaded = await offload(bucket, rawJob(message, ['plain@example.com']));
    const { response } = await runBodies(rig, [offloaded]);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages[0]?.raw.toString()).toBe('From: a@example.com\r\nSubject: plain\r\n\r\nno line end at the end\r\n');
    expect(smtp.messages[0]?.mailArgs['SIZE']).toBe(String(Buffer.byteLength(smtp.messages[0]?.raw ?? '')));
    expect(smtp.messages[0]?.mailArgs['BODY']).toBeUndefined();
  });

  it.each([
    ['a Bcc field', 'From: a@example.com\nBcc: hidden@example.com\n\nbody\n'],
    ['a header without From', 'Subject: no sender\n\nbody\n'],
    ['a NUL in a 5 MB body', `From: a@example.com\n\n${'x'.repeat(5_000_000)}\u0000\n`],
    ['a line of 999 octets after a million lines', `From: a@example.com\n\n${'line\n'.repeat(1_000_000)}${'y'.repeat(999)}\n`],
  ])(
    'an offloaded raw job with %s: dead-lettered at once with the reason the same job gets in memory; its batch-mates delivered',
    async (_, message) => {
      // Prepare: the job offloaded, and when it fits in a queue message, inline too.
      const { rig, smtp, bucket } = await setUp();
      const job = rawJob(message, ['victim@example.com'], { id: 'raw-bad' });
      const offloaded = await offload(bucket, job);
      const inline = offloaded.size < 200_000 ? [{ body: JSON.stringify(job) }] : [];
      const inMemory = (() => {
        try {
          parseMailJob(job);
          return 'accepted';
        } catch (error) {
          return (error as Error).message;
        }
      })();
      // Act
      const { records, response } = await runBodies(rig, [
        { body: JSON.stringify(mailJob(1)) },
        offloaded,
        ...inline,
        { body: JSON.stringify(mailJob(3)) },
      ]);
      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(smtp.messages.map((m) => m.to)).toEqual([['rcpt1@example.com'], ['rcpt3@example.com']]);
      const dead = await rig.queues.contents(rig.queues.dlqName);
      const letters = new Map(dead.ready.map((m) => [m.messageAttributes['SourceMessageId']?.StringValue, m]));
      expect(dead.ready).toHaveLength(1 + inline.length);
      const letter = letters.get(records[1]!.messageId);
      expect(letter?.body).toBe(offloaded.body);
      expect(letter?.messageAttributes['FailurePhase']?.StringValue).toBe('job');
      expect(letter?.messageAttributes['FailureKind']?.StringValue).toBe('invalid');
      expect(letter?.messageAttributes['FailureMessage']?.StringValue).toBe(inMemory);
      if (inline.length > 0) expect(letters.get(records[2]!.messageId)?.messageAttributes['FailureMessage']?.StringValue).toBe(inMemory);
      expect(await exists(bucket, offloaded.key)).toBe(true); // kept with its dead letter
    },
    60_000,
  );
});
