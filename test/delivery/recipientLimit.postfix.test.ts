/**
 * Recipient limits against a real MTA: Postfix with `smtpd_recipient_limit = 10`, which answers
 * `452 4.5.3 Error: too many recipients` past 10 recipients in a transaction, with CHUNKING (the
 * whole batch streamed as BDAT) and without. A 100-recipient job reaches all 100 in one invocation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { startPostfix } from '../support/postfix.js';
import type { PostfixServer } from '../support/postfix.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const everyone = Array.from({ length: 100 }, (_, i) => `r${String(i).padStart(3, '0')}@example.test`);

describe.each([
  { chunking: true, name: 'with CHUNKING (BDAT)' },
  { chunking: false, name: 'without CHUNKING (DATA)' },
])('recipient limit of Postfix $name', ({ chunking }) => {
  let postfix: PostfixServer | undefined;
  const emulator = useSqsEmulator();
  beforeAll(async () => {
    postfix = await startPostfix({ chunking, recipientLimit: 10 });
  });
  afterAll(async () => {
    await postfix?.stop();
  });

  it('a 100-recipient job and a small one: all 101 recipients get exactly one copy, in 11 transactions', async () => {
    // Prepare
    if (postfix === undefined) throw new Error('Postfix did not start');
    const settings: SmtpSettings = { host: postfix.host, port: postfix.port, security: 'starttls', username: postfix.user, password: postfix.pass };
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: postfix.ca });
    const big = mailJob(1, { from: 'sender@example.test', to: everyone.slice(0, 50), cc: everyone.slice(50, 80), bcc: everyone.slice(80) });
    // Act
    const { response } = await rig.run([big, mailJob(2, { from: 'sender@example.test', to: ['small@example.test'] })]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const delivered = await postfix.waitForMessages(101, 20_000);
    expect(delivered.map((m) => m.recipient).sort()).toEqual([...everyone, 'small@example.test'].sort());
    const ids = new Set(
      delivered.filter((m) => m.recipient !== 'small@example.test').map((m) => /^Message-ID: (.*)$/im.exec(m.raw.toString('latin1'))?.[1]),
    );
    expect(ids.size).toBe(1);
    // Postfix's queue manager logs each transaction's recipient count.
    const counts = [...postfix.logTail(2000).matchAll(/nrcpt=(\d+)/g)].map((match) => Number(match[1]));
    expect(counts.sort((a, b) => a - b)).toEqual([1, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    const queue = await rig.queues.contents(rig.queues.queueName);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect([...queue.ready, ...queue.delayed, ...dead.ready, ...dead.delayed]).toEqual([]);
  });
});
