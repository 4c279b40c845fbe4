/**
 * `mail-queue dlq list` and `dlq show` on dead letters whose body is a claim check (the job is in
 * S3): the job is read from the object (fauxqs serves S3 too) for its recipient domains, subject
 * and parts; where it is and its size are shown; a missing or unreadable object is said as such,
 * and the listing goes on.
 */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { useAwsTestEnvironment, useSqsEmulator, type MailQueues } from '../support/sqsQueues.js';
import { deadLetterByHandler, NO_SUCH_USER } from '../operate/deadLetterQueue.js';
import { runCli, stable } from './runCli.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();

const BUCKET = 'mail-payloads';
const REPORT = Buffer.from(Array.from({ length: 3_000_000 }, (_, n) => (n * 13 + (n >> 9)) % 256));
const JOB = JSON.stringify({
  v: 1,
  id: 'big-1',
  from: 'Billing <billing@example.com>',
  to: ['ann@example.com', 'Bob <bob@example.org>'],
  subject: 'Quarterly report',
  text: 'Attached.',
  attachments: [{ filename: 'report.pdf', contentType: 'application/pdf', content: REPORT.toString('base64') }],
});

let s3: S3Client;
let queues: MailQueues;
const ids: Record<string, string> = {};

beforeAll(async () => {
  s3 = new S3Client({ endpoint: emulator().endpoint, region: 'us-east-1', forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'payloads/big-1', Body: JOB }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'payloads/garbled', Body: '{"v":1,"to":' }));
  queues = await emulator().createMailQueues();
  const pointer = (key: string) => payloadPointerBody({ bucket: BUCKET, key });
  const size = (bytes: number) => ({ attributes: { ExtendedPayloadSize: String(bytes) } });
  ids['read'] = await deadLetterByHandler(emulator(), queues, pointer('payloads/big-1'), NO_SUCH_USER, { jobId: 'big-1', ...size(JOB.length) });
  ids['missing'] = await deadLetterByHandler(emulator(), queues, pointer('payloads/gone'), NO_SUCH_USER, size(1234));
  ids['garbled'] = await deadLetterByHandler(emulator(), queues, pointer('payloads/garbled'), NO_SUCH_USER, size(12));
});

afterAll(() => {
  s3.destroy();
});

const env = () => ({ AWS_ENDPOINT_URL_SQS: emulator().endpoint, AWS_ENDPOINT_URL_S3: emulator().endpoint });
const target = () => ['--queue-url', queues.queueUrl, '--dlq-url', queues.dlqUrl];

/** The DLQ message id of a letter, from the queue message id deadLetterByHandler returns. */
async function dlqIds(): Promise<Record<string, string>> {
  const run = await runCli(['dlq', 'list', '--json', ...target()], { env: env() });
  const letters = JSON.parse(run.stdout) as { messageId: string; sourceMessageId?: string }[];
  const byQueueId = new Map(letters.map((letter) => [letter.sourceMessageId, letter.messageId]));
  return Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, byQueueId.get(id) ?? '?']));
}

describe('dlq list, claim checks', () => {
  it("shows each job's recipient domains, and under the table where it is, its size and subject, or why it could not be read", async () => {
    const dlq = await dlqIds();

    const run = await runCli(['dlq', 'list', ...target()], { env: env() });

    expect(run.code).toBe(0);
    const rows = run.stdout.split('\n');
    expect(rows.find((row) => row.includes(dlq['read']!))).toMatch(/ {2}example\.com,example\.org$/);
    expect(rows.find((row) => row.includes(dlq['missing']!) && row.startsWith('20'))).toMatch(/ {2}-$/);
    // The reader's own words for a broken object are its own (lib/delivery/payload): only their gist is checked.
    const garbled = `  ${dlq['garbled']}  s3://${BUCKET}/payloads/garbled, 12 octets: UNREADABLE (PayloadError: `;
    expect(run.stdout).toMatch(new RegExp(`^${garbled.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[^\n]*the object ends before its JSON does\\)$`, 'm'));
    expect(run.stdout.slice(run.stdout.indexOf('claim checks')).replace(/^ {2}\S+ {2}s3:\/\/\S+\/payloads\/garbled, .*\n/m, '')).toBe(
      [
        'claim checks (the job is in S3):',
        `  ${dlq['missing']}  s3://${BUCKET}/payloads/gone: MISSING (NoSuchKey: The specified key does not exist.): a redrive would be dead-lettered again, permanent`,
        `  ${dlq['read']}  s3://${BUCKET}/payloads/big-1, ${JOB.length} octets  "Quarterly report"`,
        '3 dead letters (3 put there by the handler, 0 moved by SQS after too many receives)',
        '',
      ].join('\n'),
    );
  });

  it('gives the claim check and the subject in --json', async () => {
    const run = await runCli(['dlq', 'list', '--json', ...target()], { env: env() });

    const letters = JSON.parse(run.stdout) as Record<string, unknown>[];
    const read = letters.find((letter) => letter['jobId'] === 'big-1');
    expect(read).toMatchObject({
      recipientDomains: ['example.com', 'example.org'],
      invalid: false,
      subject: 'Quarterly report',
      claimCheck: { bucket: BUCKET, key: 'payloads/big-1', location: `s3://${BUCKET}/payloads/big-1`, bytes: JOB.length, state: 'read' },
    });
    expect(letters.map((letter) => (letter['claimCheck'] as { state: string }).state).sort()).toEqual(['missing', 'read', 'unreadable']);
  });
});

describe('dlq show, claim checks', () => {
  it("summarises the job read from S3: addresses, subject, the attachment's size, the headers it becomes", async () => {
    const run = await runCli(['dlq', 'show', 'big-1', ...target()], { env: env() });

    expect(run.code).toBe(0);
    const text = stable(run.stdout);
    expect(text).toContain(
      `  body              ${payloadPointerBody({ bucket: BUCKET, key: 'payloads/big-1' }).length} octets: a claim check (the job is in S3)\n`,
    );
    expect(text).toContain(`  job in S3         s3://${BUCKET}/payloads/big-1, ${JOB.length} octets\n`);
    expect(text).toContain(
      [
        'job (composed)',
        '  from              Billing <billing@example.com>',
        '  to                ann@example.com, Bob <bob@example.org>',
        '  subject           Quarterly report',
        '  text              9 octets',
        '  attachment        report.pdf (application/pdf), 3000000 octets',
      ].join('\n'),
    );
    expect(text).toContain('  Subject: Quarterly report\n');
  });

  it('says the job is missing, and does not call the pointer an invalid job', async () => {
    const dlq = await dlqIds();

    const run = await runCli(['dlq', 'show', dlq['missing']!, ...target()], { env: env() });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `  job in S3         s3://${BUCKET}/payloads/gone: MISSING (NoSuchKey: The specified key does not exist.): a redrive would be dead-lettered again, permanent\n`,
    );
    expect(run.stdout).toContain(`job (not read: it is in S3, s3://${BUCKET}/payloads/gone)\n`);
    expect(run.stdout).not.toContain('not a valid job');
  });
});
