/**
 * Recipient limits (issue 13, item 3): a relay that refuses recipients past its limit with
 * "too many recipients" (452 4.5.3, or 552 5.5.3, RFC 5321 4.5.3.1.10) gets the rest in further
 * transactions on the same connection, and `MAIL_MAX_RECIPIENTS` splits a message before sending.
 * Against smtp-server (its own `maxRecipients`, or a hook) and the SQS emulator.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SmtpSettings } from '../../lib/config.js';
import { parseMailJob } from '../../lib/message/index.js';
import { DEFAULT_EXTENSIONS, startScriptedServer } from '../support/scriptedServer.js';
import type { ScriptedServerHandle } from '../support/scriptedServer.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle, SmtpServerOptions } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig, SendMailRigOptions } from '../support/sendMailHarness.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | ScriptedServerHandle | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function rigWith(
  serverOptions: SmtpServerOptions,
  rigOptions: Partial<SendMailRigOptions> = {},
): Promise<{ rig: SendMailRig; smtp: SmtpServerHandle }> {
  server = await startSmtpServer(serverOptions);
  const settings: SmtpSettings = { host: server.host, port: server.port, security: 'starttls', username: server.user, password: server.pass };
  const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: server.ca, ...rigOptions });
  return { rig, smtp: server };
}

/** 100 recipients: 40 in `to`, 30 in `cc`, 30 in `bcc` (the envelope lists them in that order). */
const everyone = Array.from({ length: 100 }, (_, i) => `r${String(i).padStart(3, '0')}@example.com`);
const bigJob = mailJob(1, { to: everyone.slice(0, 40), cc: everyone.slice(40, 70), bcc: everyone.slice(70) });

function messageIds(smtp: SmtpServerHandle): (string | undefined)[] {
  return smtp.messages.map((m) => /^Message-ID: (.*)$/im.exec(m.raw.toString('latin1'))?.[1]?.trim());
}

async function expectNothingLeft(rig: SendMailRig): Promise<void> {
  const queue = await rig.queues.contents(rig.queues.queueName);
  const dead = await rig.queues.contents(rig.queues.dlqName);
  expect([...queue.ready, ...queue.delayed]).toEqual([]);
  expect([...dead.ready, ...dead.delayed]).toEqual([]);
}

describe('recipient limits', () => {
  it('452 4.5.3 past 10 recipients: a 100-recipient job goes to all 100 in one invocation, 10 messages of 10, one Message-ID', async () => {
    // Prepare
    const { rig, smtp } = await rigWith({ maxRecipients: 10 });
    // Act
    const { records, response } = await rig.run([bigJob]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual(Array.from({ length: 10 }, (_, k) => everyone.slice(10 * k, 10 * k + 10)));
    const ids = messageIds(smtp);
    expect(ids[0]).toMatch(/^<.+@example\.com>$/);
    expect(new Set(ids)).toEqual(new Set([ids[0]]));
    expect(new Set(smtp.messages.map((m) => m.raw.toString('latin1')))).toHaveProperty('size', 1); // the same bytes every time
    expect(smtp.messages[0]!.raw.toString('latin1')).not.toMatch(/^Bcc:/im);
    await expectNothingLeft(rig);
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'delivered', accepted: 100, placement: 'done' });
  });

  it('552 5.5.3 "Too many recipients" past 10 (the reply RFC 5321 says to treat as temporary) is handled the same way', async () => {
    // Prepare: the server's own enhanced codes are off, so the hook's text carries 5.5.3 as the relay wrote it.
    const { rig, smtp } = await rigWith({
      hideENHANCEDSTATUSCODES: true,
      onRcptTo: (_to, session) => (session.envelope.rcptTo.length >= 10 ? { code: 552, message: '5.5.3 Too many recipients' } : undefined),
    });
    // Act
    const { response } = await rig.run([bigJob]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual(Array.from({ length: 10 }, (_, k) => everyone.slice(10 * k, 10 * k + 10)));
    expect(new Set(messageIds(smtp)).size).toBe(1);
    await expectNothingLeft(rig);
  });

  it('MAIL_MAX_RECIPIENTS splits before sending: 100 recipients at 25 per message are 4 messages, nothing refused', async () => {
    // Prepare
    const overLimit: string[] = [];
    const { rig, smtp } = await rigWith(
      {
        onRcptTo: (to, session): undefined => {
          if (session.envelope.rcptTo.length >= 25) overLimit.push(to);
        },
      },
      { maxRecipientsPerMessage: 25 },
    );
    // Act
    const { response } = await rig.run([bigJob, mailJob(2)]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([
      ...Array.from({ length: 4 }, (_, k) => everyone.slice(25 * k, 25 * k + 25)),
      ['rcpt2@example.com'],
    ]);
    expect(overLimit).toEqual([]); // no transaction held more than 25
    await expectNothingLeft(rig);
  });

  it('a relay stricter than the setting: 25 per message asked, 10 taken, the rest in further messages of 10', async () => {
    // Prepare
    const { rig, smtp } = await rigWith({ maxRecipients: 10 }, { maxRecipientsPerMessage: 25 });
    // Act
    const { response } = await rig.run([bigJob]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to.length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    expect(smtp.messages.flatMap((m) => m.to).sort()).toEqual(everyone);
    await expectNothingLeft(rig);
  });

  it('"too many recipients" for every recipient (a limit per connection, not per message): no loop, the job is retried as a whole, never dead-lettered', async () => {
    // Prepare: 552 5.5.3 was a permanent refusal (straight to the DLQ) before; RFC 5321 says temporary.
    const rcpts: string[] = [];
    const { rig, smtp } = await rigWith({
      hideENHANCEDSTATUSCODES: true,
      onRcptTo: (to) => {
        rcpts.push(to);
        return { code: 552, message: '5.5.3 Too many recipients' };
      },
    });
    // Act
    const { records, response } = await rig.run([mailJob(1, { to: everyone.slice(0, 3) })]);
    // Assess: one transaction tried (three RCPTs), nothing more; the record comes back with a backoff.
    expect(rcpts).toEqual(everyone.slice(0, 3));
    expect(smtp.messages).toEqual([]);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.messageId }] });
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'transient', placement: 'retry', backoffSeconds: 15 });
    await expectNothingLeft(rig);
  });

  it('the connection closes (421) before a further transaction: the recipients who took it are done, the rest go back on the queue on their own', async () => {
    // Prepare: a scripted relay taking 10 recipients per message, which answers the third MAIL with 421 and
    // closes. The MAILs, pipelined: job 1 (first 10 taken), job 2, job 1's second transaction.
    let mails = 0;
    const relay = await startScriptedServer({
      extensions: DEFAULT_EXTENSIONS.filter((extension) => extension !== 'CHUNKING'),
      onCommand: (command, connection) => {
        if (command.verb === 'MAIL' && (mails += 1) === 3) return ['421 4.3.2 Shutting down'];
        if (command.verb === 'RCPT' && (connection.transaction?.to.length ?? 0) >= 10) return ['452 4.5.3 Too many recipients'];
        return undefined;
      },
    });
    server = relay;
    const settings: SmtpSettings = { host: relay.host, port: relay.port, security: 'starttls', username: 'mailer', password: 'secret' };
    const rig = await sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: relay.ca });
    // Act
    const { records, response } = await rig.run([bigJob, mailJob(2)]);
    // Assess
    const delivered = relay.connections.flatMap((c) => c.messages);
    expect(delivered.map((m) => m.envelope.to)).toEqual([everyone.slice(0, 10), ['rcpt2@example.com']]);
    expect(response).toEqual({ batchItemFailures: [] });
    const queue = await rig.queues.contents(rig.queues.queueName);
    const requeued = [...queue.ready, ...queue.delayed];
    expect(requeued).toHaveLength(1);
    expect(requeued[0]!.messageAttributes['MailRequeueCount']?.StringValue).toBe('1');
    const next = parseMailJob(JSON.parse(requeued[0]!.body));
    expect(next).toMatchObject({ kind: 'raw', id: 'job-1', envelope: { from: 'sender@example.com', to: everyone.slice(10) } });
    expect(next.kind === 'raw' && next.message).toBe(delivered[0]!.content.toString('utf8'));
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect([...dead.ready, ...dead.delayed]).toEqual([]);
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({
      outcome: 'partlyRefused',
      accepted: 10,
      requeuedRecipients: 90,
      placement: 'done',
    });
  });

  it('split messages nobody took: refused for good in one part and for now in the other, only the ones refused for now go back', async () => {
    // Prepare: 2 recipients per message; the first message's two are unknown (550), the second's busy (450).
    const { rig, smtp } = await rigWith(
      {
        onRcptTo: (to) =>
          to.startsWith('gone')
            ? { code: 550, message: 'No such user' }
            : to.startsWith('later')
              ? { code: 450, message: 'Mailbox busy' }
              : undefined,
      },
      { maxRecipientsPerMessage: 2 },
    );
    // Act
    const { records, response } = await rig.run([
      mailJob(1, { to: ['gone1@example.com', 'gone2@example.com', 'later1@example.com', 'later2@example.com'] }),
      mailJob(2, { to: ['gone3@example.com', 'gone4@example.com', 'gone5@example.com'] }),
    ]);
    // Assess: job 1's pending pair is re-enqueued on its own; job 2, refused for good by all, is dead-lettered whole.
    expect(smtp.messages).toEqual([]);
    expect(response).toEqual({ batchItemFailures: [] });
    const queue = await rig.queues.contents(rig.queues.queueName);
    expect([...queue.ready, ...queue.delayed].map((m) => parseMailJob(JSON.parse(m.body)))).toMatchObject([
      { kind: 'raw', id: 'job-1', envelope: { to: ['later1@example.com', 'later2@example.com'] } },
    ]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect([...dead.ready, ...dead.delayed].map((m) => [m.body, m.messageAttributes['FailureCode']?.StringValue])).toEqual([
      [records[1]!.body, '550'],
    ]);
    const lines = rig.log.records();
    expect(lines.get(records[0]!.messageId)?.attributes).toMatchObject({
      outcome: 'partlyRefused',
      accepted: 0,
      requeuedRecipients: 2,
      placement: 'done',
    });
    expect(lines.get(records[1]!.messageId)?.attributes).toMatchObject({ outcome: 'permanent', placement: 'deadLettered' });
  });

  it('a raw job naming a recipient twice in its envelope sends it one copy, even split one recipient per message', async () => {
    // Prepare: the raw envelope repeats a@ (a composed job's envelope is deduplicated when built; a raw one is the producer's).
    const { rig, smtp } = await rigWith({}, { maxRecipientsPerMessage: 1 });
    const raw = {
      v: 1,
      id: 'raw-dup',
      raw: {
        envelope: { from: 'sender@example.com', to: ['a@example.com', 'b@example.com', 'a@example.com', 'a@EXAMPLE.com'] },
        message: 'From: sender@example.com\r\nSubject: twice\r\n\r\nOnce is enough.\r\n',
      },
    };
    // Act
    const { records, response } = await rig.run([raw]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(smtp.messages.map((m) => m.to)).toEqual([['a@example.com'], ['b@example.com']]);
    expect(rig.log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'delivered', accepted: 2, placement: 'done' });
  });
});
