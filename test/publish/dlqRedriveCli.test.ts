import { describe, expect, it } from 'vitest';
import { useAwsTestEnvironment, useSqsEmulator, type HeldMessage, type MailQueues } from '../support/sqsQueues.js';
import { deadLetterByHandler, deadLetterBySqs, jobBody, NO_SUCH_USER, SPAM } from '../operate/deadLetterQueue.js';
import { runCli, stable } from './runCli.js';

const emulator = useSqsEmulator();
useAwsTestEnvironment();

/** A DLQ holding order-1 (550 5.1.1), bad-1 (invalid), order-2 (554 5.7.1), order-3 (moved by SQS). */
async function filled() {
  const queues = await emulator().createMailQueues({ maxReceiveCount: 1 });
  await deadLetterByHandler(emulator(), queues, jobBody('order-1', ['nobody@example.org']), NO_SUCH_USER, { jobId: 'order-1' });
  await deadLetterByHandler(emulator(), queues, '{"v":1,"id":"bad-1","to":"not an address","subject":"x","text":"y"}', {
    phase: 'job',
    message: 'invalid mail job: to: not an address',
  });
  await deadLetterByHandler(emulator(), queues, jobBody('order-2', ['bob@example.net']), SPAM, { jobId: 'order-2' });
  await deadLetterBySqs(emulator(), queues, jobBody('order-3', ['dave@example.com']));
  return { queues, env: { AWS_ENDPOINT_URL_SQS: emulator().endpoint }, target: ['--queue-url', queues.queueUrl, '--dlq-url', queues.dlqUrl] };
}

const ids = (messages: HeldMessage[]) => messages.map((message) => (JSON.parse(message.body) as { id: string }).id).sort();
async function held(queues: MailQueues) {
  return { queue: ids((await queues.contents(queues.queueName)).ready), dlq: ids((await queues.contents(queues.dlqName)).ready) };
}

describe('mail-queue dlq redrive', () => {
  it('redrives what the filter picks and says how many', async () => {
    const { queues, env, target } = await filled();

    const run = await runCli(['dlq', 'redrive', '--code', '5xx', ...target], { env });

    expect(run).toEqual({ code: 0, stdout: `redrove 2 of 4 dead letters looked at to ${queues.queueUrl}\n`, stderr: '' });
    expect(await held(queues)).toEqual({ queue: ['order-1', 'order-2'], dlq: ['bad-1', 'order-3'] });
  });

  it('with --all leaves the invalid job and names it; by id it goes too; an unknown id exits 1', async () => {
    const { queues, env, target } = await filled();

    const all = await runCli(['dlq', 'redrive', '--all', ...target], { env });

    expect(stable(all.stdout)).toBe(
      [
        `redrove 3 of 4 dead letters looked at to ${queues.queueUrl}`,
        'left in the DLQ, body not a valid job (name it by id to redrive it anyway):',
        '  bad-1 UUID',
        '',
      ].join('\n'),
    );
    expect(all.code).toBe(0);
    expect(await held(queues)).toEqual({ queue: ['order-1', 'order-2', 'order-3'], dlq: ['bad-1'] });

    const byId = await runCli(['dlq', 'redrive', 'bad-1', 'order-9', ...target], { env });

    expect(byId).toEqual({
      code: 1,
      stdout: `redrove 1 of 1 dead letters looked at to ${queues.queueUrl}\nnot found in the DLQ:\n  order-9\n`,
      stderr: '',
    });
    expect(await held(queues)).toEqual({ queue: ['bad-1', 'order-1', 'order-2', 'order-3'], dlq: [] });
  });

  it('changes nothing with --dry-run and lists what it would redrive', async () => {
    const { queues, env, target } = await filled();

    const run = await runCli(['dlq', 'redrive', '--all', '--dry-run', ...target], { env });

    expect(stable(run.stdout)).toBe(
      [
        `dry run: would redrive 3 of 4 dead letters looked at to ${queues.queueUrl}`,
        '  order-3 UUID  moved by SQS after too many receives: no reason recorded',
        '  order-2 UUID  data 554 5.7.1 DataRefusedError: 554 5.7.1 looks like spam',
        '  order-1 UUID  rcpt 550 5.1.1 RecipientsRefusedError: 550 5.1.1 <nobody@example.org>: no such user',
        'left in the DLQ, body not a valid job (name it by id to redrive it anyway):',
        '  bad-1 UUID',
        '',
      ].join('\n'),
    );
    expect(await held(queues)).toEqual({ queue: [], dlq: ['bad-1', 'order-1', 'order-2', 'order-3'] });
  });

  it('prints the summary as JSON with --json', async () => {
    const { env, target } = await filled();
    const run = await runCli(['dlq', 'redrive', '--job', 'order-2', '--json', ...target], { env });
    expect(JSON.parse(run.stdout)).toMatchObject({
      examined: 4,
      matched: 1,
      redriven: 1,
      dryRun: false,
      letters: [{ jobId: 'order-2', sentAt: expect.any(String) }],
      skippedInvalid: [],
      notSent: [],
      notDeleted: [],
      notFound: [],
    });
  });

  it('warns about a whole job some recipients took already', async () => {
    const queues = await emulator().createMailQueues();
    await deadLetterByHandler(emulator(), queues, jobBody('order-5', ['a@example.com', 'b@example.org']), NO_SUCH_USER, {
      jobId: 'order-5',
      part: { form: 'original', pending: 1, delivered: 1 },
    });
    const run = await runCli(['dlq', 'redrive', 'order-5', '--dry-run', '--queue-url', queues.queueUrl, '--dlq-url', queues.dlqUrl], {
      env: { AWS_ENDPOINT_URL_SQS: emulator().endpoint },
    });
    expect(stable(run.stdout).split('\n').slice(-3)).toEqual([
      'whole jobs that some recipients took already (JobForm original): they get it again unless the delivery ledger knows them:',
      '  order-5 UUID: 1 delivered, 1 pending',
      '',
    ]);
  });

  it('refuses to run without ids, a filter or --all', async () => {
    const { queues, env, target } = await filled();
    const run = await runCli(['dlq', 'redrive', ...target], { env });
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'mail-queue: say what to redrive: job or message ids, a filter (--reason, --code, --job, --tag, --since), or --all\n',
    });
    expect(await held(queues)).toEqual({ queue: [], dlq: ['bad-1', 'order-1', 'order-2', 'order-3'] });
  });

  it('needs the mail queue, not only the DLQ', async () => {
    const { queues, env } = await filled();
    const run = await runCli(['dlq', 'redrive', '--all', '--dlq-url', queues.dlqUrl], { env });
    expect(run).toEqual({ code: 2, stdout: '', stderr: 'mail-queue: this command needs the mail queue: give --queue-url or --stack\n' });
  });
});

describe('mail-queue dlq purge', () => {
  it('refuses without --yes when stdin is not a terminal, and deletes nothing', async () => {
    const { queues, env, target } = await filled();
    const run = await runCli(['dlq', 'purge', ...target], { env });
    expect(run).toEqual({
      code: 2,
      stdout: '',
      stderr: 'mail-queue: purge deletes dead letters for good: give --yes (stdin is not a terminal to ask)\n',
    });
    expect((await held(queues)).dlq).toHaveLength(4);
  });

  it('with --yes deletes every dead letter and says how many', async () => {
    const { queues, env, target } = await filled();
    const run = await runCli(['dlq', 'purge', '--yes', ...target], { env });
    expect(run).toEqual({ code: 0, stdout: `removed 4 dead letters from ${queues.dlqUrl}\n`, stderr: '' });
    expect(await held(queues)).toEqual({ queue: [], dlq: [] });
  });

  it('deletes only what the filters pick', async () => {
    const { queues, env, target } = await filled();
    const run = await runCli(['dlq', 'purge', '--yes', '--reason', 'invalid', ...target], { env });
    expect(run.stdout).toBe(`removed 1 dead letter from ${queues.dlqUrl}, kept 3 not matching\n`);
    expect((await held(queues)).dlq).toEqual(['order-1', 'order-2', 'order-3']);
  });

  it('on a terminal, asks first: "y" deletes, anything else does not', async () => {
    const { queues, env, target } = await filled();

    const no = await runCli(['dlq', 'purge', ...target], { env, tty: true, stdin: 'n\n' });

    expect(no).toEqual({
      code: 1,
      stdout: '',
      stderr: `Delete every message (about 4) from ${queues.dlqUrl} for good? [y/N] mail-queue: nothing deleted\n`,
    });
    expect((await held(queues)).dlq).toHaveLength(4);

    const yes = await runCli(['dlq', 'purge', '--code', '550', ...target], { env, tty: true, stdin: 'y\n' });

    expect(yes).toEqual({
      code: 0,
      stdout: `removed 1 dead letter from ${queues.dlqUrl}, kept 3 not matching\n`,
      stderr: `Delete the dead letters matching the filters (of about 4) from ${queues.dlqUrl} for good? [y/N] `,
    });
    expect((await held(queues)).dlq).toEqual(['bad-1', 'order-2', 'order-3']);
  });
});
