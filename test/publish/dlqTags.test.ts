/**
 * `mail-queue dlq list --tag key=value` (and the filter behind it, lib/operate): dead letters are
 * matched by the job's tags, from the handler's `Tags` attribute or, for a job SQS moved, its body.
 */
import { DeleteMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { readRecord } from '../../lib/delivery/mailRecord.js';
import { QueueActions } from '../../lib/delivery/QueueActions.js';
import { listDeadLetters } from '../../lib/operate/index.js';
import { useAwsTestEnvironment, useSqsEmulator } from '../support/sqsQueues.js';
import { deadLetterBySqs, jobBody, NO_SUCH_USER } from '../operate/deadLetterQueue.js';
import { runCli } from './runCli.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();

/** A DLQ holding: t-1 (tenant=acme, campaign=dec), t-2 (tenant=globex), t-3 (no tags), t-4 (tenant=acme, moved by SQS: tags only in its body). */
async function filled() {
  const queues = await emulator().createMailQueues({ maxReceiveCount: 1 });
  const byHandler = async (id: string, tags?: Record<string, string>) => {
    await queues.publish([jobBody(id, ['nobody@example.org'], tags === undefined ? {} : { tags })]);
    const [received] = await queues.receiveRecords(1);
    if (received === undefined) throw new Error('the job did not arrive');
    const record = readRecord(received);
    await new QueueActions(emulator().sqs, queues).deadLetter(record, NO_SUCH_USER, { jobId: id, ...(tags === undefined ? {} : { tags }) });
    await emulator().sqs.send(new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle: record.receiptHandle }));
    await new Promise((resolve) => setTimeout(resolve, 5));
  };
  await byHandler('t-1', { tenant: 'acme', campaign: 'dec' });
  await byHandler('t-2', { tenant: 'globex' });
  await byHandler('t-3');
  await deadLetterBySqs(emulator(), queues, jobBody('t-4', ['dave@example.com'], { tags: { tenant: 'acme' } }));
  const env = { AWS_ENDPOINT_URL_SQS: emulator().endpoint };
  return { queues, env, target: ['--queue-url', queues.queueUrl, '--dlq-url', queues.dlqUrl] };
}

describe('dead letters by tag', () => {
  it('listDeadLetters reads the tags (attribute, else body) and filters by every pair given', async () => {
    const { queues } = await filled();
    const all = await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl });
    expect(Object.fromEntries(all.map((letter) => [letter.jobId, letter.tags]))).toEqual({
      't-1': { tenant: 'acme', campaign: 'dec' },
      't-2': { tenant: 'globex' },
      't-3': undefined,
      't-4': { tenant: 'acme' },
    });
    const ids = async (tags: Record<string, string>) =>
      (await listDeadLetters({ sqs: emulator().sqs, dlqUrl: queues.dlqUrl, filter: { tags } })).map((letter) => letter.jobId);
    expect(await ids({ tenant: 'acme' })).toEqual(['t-4', 't-1']);
    expect(await ids({ tenant: 'acme', campaign: 'dec' })).toEqual(['t-1']);
    expect(await ids({ tenant: 'ACME' })).toEqual([]);
    expect(await ids({ constructor: 'x' })).toEqual([]);
  });

  it('mail-queue dlq list --tag tenant=acme --json lists the matching jobs, newest first', async () => {
    const { env, target } = await filled();
    const run = await runCli(['dlq', 'list', '--tag', 'tenant=acme', '--json', ...target], { env });
    expect(run).toMatchObject({ code: 0, stderr: '' });
    const letters = JSON.parse(run.stdout) as { jobId: string; tags?: unknown }[];
    expect(letters.map((letter) => [letter.jobId, letter.tags])).toEqual([
      ['t-4', { tenant: 'acme' }],
      ['t-1', { tenant: 'acme', campaign: 'dec' }],
    ]);
    const both = await runCli(['dlq', 'list', '--tag', 'tenant=acme', '--tag', 'campaign=dec', '--json', ...target], { env });
    expect((JSON.parse(both.stdout) as { jobId: string }[]).map((letter) => letter.jobId)).toEqual(['t-1']);
  });

  it('a --tag without = is a usage error (exit 2)', async () => {
    const { env, target } = await filled();
    const run = await runCli(['dlq', 'list', '--tag', 'tenant', ...target], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--tag "tenant" must look like key=value/);
  });
});
