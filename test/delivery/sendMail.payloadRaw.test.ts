/**
 * Raw jobs through the claim check (issue 11): a producer's ready-made 20 MB message in a raw job,
 * offloaded to S3 (fauxqs), goes through the send-mail handler to smtp-server byte for byte (its
 * line ends made CRLF), read from its spool file as it is sent; an offloaded raw job that breaks a
 * rule is refused for good with exactly the reason the same job gets inline.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseMailJob } from '../../lib/message/index.js';
import { offloadPayload, payloadOfText } from '../../lib/publish/payloadOffload.js';
import { useClaimCheckRig } from '../support/claimCheckRig.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';
import { bigRawMessage, crlf, rawJob } from './rawMessages.js';

const emulator = useSqsEmulator();
const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'payload-raw-test-' });
const { exists, run: runBodies } = claimChecks;

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

const setUp = (): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle; bucket: string }> =>
  claimChecks.handler('mail-payloads-raw', { server: { size: 64 * 1024 * 1024 } });

/** Offloads a job's JSON as the producer does (multipart over 8 MiB) and returns the queue body and attribute. */
async function offload(bucket: string, job: unknown): Promise<{ body: string; size: number; key: string }> {
  const json = JSON.stringify(job);
  const { body } = await offloadPayload({ bucket, s3Client: claimChecks.s3 }, payloadOfText(json));
  const key = (JSON.parse(body) as [string, { s3Key: string }])[1].s3Key;
  return { body, size: Buffer.byteLength(json), key };
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
    expect(await readdir(join(claimChecks.spool, 'mail-spool')).then((entries) => entries.length)).toBe(0);
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
