import { describe, expect, it } from 'vitest';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';
import { deadLetterByHandler, deadLetterBySqs, jobBody, NO_SUCH_USER, SPAM } from '../operate/deadLetterQueue.js';
import { runCli, stable } from './runCli.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();

const PDF = Buffer.from('%PDF-1.7 secret figures').toString('base64');
const INVALID = '{"v":1,"id":"bad-1","to":"not an address","subject":"x","text":"y"}';

/** A DLQ holding, oldest first: order-1 (550 5.1.1), bad-1 (invalid), order-2 (554 5.7.1, an attachment), order-3 (moved by SQS). */
async function filled() {
  const queues = await emulator().createMailQueues({ maxReceiveCount: 1 });
  await deadLetterByHandler(emulator(), queues, jobBody('order-1', ['nobody@example.org', 'ann@example.com']), NO_SUCH_USER, { jobId: 'order-1' });
  await deadLetterByHandler(emulator(), queues, INVALID, { phase: 'job', message: 'invalid mail job: to: not an address' });
  const withAttachment = jobBody('order-2', ['bob@example.net'], {
    cc: 'Carol <carol@example.com>',
    html: '<p>Hi</p>',
    attachments: [{ filename: 'figures.pdf', contentType: 'application/pdf', content: PDF }],
  });
  await deadLetterByHandler(emulator(), queues, withAttachment, SPAM, { jobId: 'order-2' });
  await deadLetterBySqs(emulator(), queues, jobBody('order-3', ['dave@example.com']));
  const env = { AWS_ENDPOINT_URL_SQS: emulator().endpoint };
  return { queues, env, target: ['--queue-url', queues.queueUrl, '--dlq-url', queues.dlqUrl], withAttachment };
}

describe('mail-queue dlq list', () => {
  it('prints a table, newest first, and leaves the DLQ as it was', async () => {
    const { queues, env, target } = await filled();

    const run = await runCli(['dlq', 'list', ...target], { env });

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(stable(run.stdout)).toBe(
      [
        'FAILED (UTC)         JOB      SQS MESSAGE ID                        RECEIVES  PUT THERE BY             REASON                                                                    RECIPIENT DOMAINS',
        'TIME  order-3  UUID  -         SQS (too many receives)  moved by SQS after too many receives: no reason recorded                  example.com',
        'TIME  order-2  UUID  1         handler (permanent)      data 554 5.7.1 DataRefusedError: 554 5.7.1 looks like spam                example.com,example.net',
        'TIME  bad-1    UUID  1         handler (invalid)        job: invalid mail job: to: not an address                                 -',
        'TIME  order-1  UUID  1         handler (permanent)      rcpt 550 5.1.1 RecipientsRefusedError: 550 5.1.1 <nobody@example.org>: …  example.com,example.org',
        '4 dead letters (3 put there by the handler, 1 moved by SQS after too many receives)',
        '',
      ].join('\n'),
    );
    const dlq = await queues.contents(queues.dlqName);
    expect([dlq.ready.length, dlq.inflight.length]).toEqual([4, 0]);
  });

  it('prints JSON with --json, every field of the reason whole', async () => {
    const { env, target } = await filled();

    const run = await runCli(['dlq', 'list', '--json', ...target], { env });

    expect(run.code).toBe(0);
    const letters = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(letters.map((letter) => letter['jobId'])).toEqual(['order-3', 'order-2', 'bad-1', 'order-1']);
    expect(Object.keys(letters[3] ?? {})).toEqual([
      'messageId',
      'jobId',
      'sentAt',
      'source',
      'kind',
      'reason',
      'receives',
      'recipientDomains',
      'invalid',
      'bodyBytes',
      'attributes',
      'sourceMessageId',
    ]);
    expect(letters[3]).toMatchObject({
      sentAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
      source: 'handler',
      kind: 'permanent',
      reason: {
        phase: 'rcpt',
        code: 550,
        enhancedCode: '5.1.1',
        message: '550 5.1.1 <nobody@example.org>: no such user',
        error: 'RecipientsRefusedError',
      },
      receives: 1,
      recipientDomains: ['example.com', 'example.org'],
      invalid: false,
    });
    expect(letters[0]).toEqual({
      messageId: expect.any(String),
      jobId: 'order-3',
      sentAt: expect.any(String),
      source: 'sqs',
      recipientDomains: ['example.com'],
      invalid: false,
      bodyBytes: jobBody('order-3', ['dave@example.com']).length,
      attributes: {},
    });
  });

  it('filters by --code, --reason, --job and --since', async () => {
    const { env, target } = await filled();
    const jobs = async (...filters: string[]) => {
      const run = await runCli(['dlq', 'list', '--json', ...filters, ...target], { env });
      expect(run.stderr).toBe('');
      return (JSON.parse(run.stdout) as { jobId: string }[]).map((letter) => letter.jobId);
    };

    expect(await jobs('--code', '5xx')).toEqual(['order-2', 'order-1']);
    expect(await jobs('--code', '5.1.1')).toEqual(['order-1']);
    expect(await jobs('--reason', 'invalid')).toEqual(['bad-1']);
    expect(await jobs('--reason', 'moved by sqs')).toEqual(['order-3']);
    expect(await jobs('--job', 'order-2')).toEqual(['order-2']);
    expect(await jobs('--since', '1h', '--code', '554')).toEqual(['order-2']);
    expect(await jobs('--since', new Date(Date.now() + 60_000).toISOString())).toEqual([]);
  });

  it('refuses a --since it cannot read, and says so', async () => {
    const { env, target } = await filled();
    const run = await runCli(['dlq', 'list', '--since', 'yesterday', ...target], { env });
    expect(run).toEqual({ code: 2, stdout: '', stderr: 'mail-queue: --since takes a time ago (30m, 2h, 7d) or an ISO date, not "yesterday"\n' });
  });

  it('says when the DLQ holds more than it looked at', async () => {
    const { env, target } = await filled();
    const run = await runCli(['dlq', 'list', '--max', '2', ...target], { env });
    const lines = run.stdout.split('\n');
    expect(lines).toHaveLength(6);
    expect(lines.slice(-3)).toEqual([
      expect.stringMatching(/^2 dead letters \(\d put there by the handler, \d moved by SQS after too many receives\)$/),
      'looked at the first 2 messages of the DLQ only: give --max for more',
      '',
    ]);
  });
});

describe('mail-queue dlq show', () => {
  it('shows the attributes, the reason, the job summarised and its headers, not the attachment', async () => {
    const { env, target, withAttachment } = await filled();

    const run = await runCli(['dlq', 'show', 'order-2', ...target], { env });

    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(stable(run.stdout)).toBe(
      [
        'dead letter UUID (job order-2)',
        '  failed            TIME UTC',
        '  put there by      handler (permanent)',
        '  reason            data 554 5.7.1 DataRefusedError: 554 5.7.1 looks like spam',
        '  receives          1',
        '  queue message id  UUID',
        `  body              ${withAttachment.length} octets`,
        'attributes',
        '  FailureCode       554',
        '  FailureEnhancedCode 5.7.1',
        '  FailureError      DataRefusedError',
        '  FailureKind       permanent',
        '  FailureMessage    554 5.7.1 looks like spam',
        '  FailurePhase      data',
        '  JobId             order-2',
        '  SourceMessageId   UUID',
        '  SourceReceiveCount 1',
        'job (composed)',
        '  from              shop@example.com',
        '  to                bob@example.net',
        '  cc                Carol <carol@example.com>',
        '  subject           Order order-2',
        '  text              5 octets',
        '  html              9 octets',
        '  attachment        figures.pdf (application/pdf), 23 octets',
        'headers of the message it becomes (Date: when it is sent)',
        '  From: shop@example.com',
        '  To: bob@example.net',
        '  Cc: Carol <carol@example.com>',
        '  Subject: Order order-2',
        '  Message-ID: <order-2@example.com>',
        '  Date: DATE',
        '  MIME-Version: 1.0',
        '  Content-Type: multipart/mixed; boundary="B"',
        '',
      ].join('\n'),
    );
    expect(run.stdout).not.toContain(PDF);
  });

  it('prints the body as it is with --raw, attachment included', async () => {
    const { env, target, withAttachment } = await filled();
    const run = await runCli(['dlq', 'show', 'order-2', '--raw', ...target], { env });
    expect(run.stdout.endsWith(`body (as it is in the DLQ)\n${withAttachment}\n`)).toBe(true);
  });

  it('shows the problems of an invalid job, found by its SQS message id', async () => {
    const { env, target } = await filled();
    const listed = JSON.parse((await runCli(['dlq', 'list', '--json', '--job', 'bad-1', ...target], { env })).stdout) as { messageId: string }[];
    const id = listed[0]?.messageId ?? '';

    const run = await runCli(['dlq', 'show', id, ...target], { env });

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`dead letter ${id} (job bad-1)\n`);
    expect(run.stdout).toContain('  body              67 octets, not a valid job (redriven only when named by id)\n');
    expect(run.stdout.endsWith('job (not valid)\n  to: "not an address" contains spaces (a name must go before <address>)\n')).toBe(true);
  });

  it('prints JSON with --json, the job described', async () => {
    const { env, target } = await filled();
    const run = await runCli(['dlq', 'show', 'order-1', '--json', ...target], { env });
    const [shown] = JSON.parse(run.stdout) as { jobId: string; job: Record<string, unknown>; body?: string }[];
    expect(shown?.jobId).toBe('order-1');
    expect(shown?.body).toBeUndefined();
    expect(shown?.job).toMatchObject({
      form: 'composed',
      jobId: 'order-1',
      from: 'shop@example.com',
      to: ['nobody@example.org', 'ann@example.com'],
      parts: [{ kind: 'text', bytes: 5 }],
    });
  });

  it('exits 1 when no dead letter has that id', async () => {
    const { queues, env, target } = await filled();
    const run = await runCli(['dlq', 'show', 'order-9', ...target], { env });
    expect(run).toEqual({ code: 1, stdout: '', stderr: `mail-queue: no dead letter with job id or SQS message id order-9 in ${queues.dlqUrl}\n` });
  });
});
