/**
 * Issue 12: "an invalid job shows `permanent: job:` with nothing after it". The reason of an invalid
 * job names its problems wherever it is shown: the handler's log line (without the values that
 * quote the job: names, addresses), the DLQ's `FailureMessage` (with them: it travels with the
 * job), and the local run's activity, which reads the log line. Every dead letter says which kind
 * of failure put it there (`FailureKind`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RunActivity } from '../../lib/local/RunActivity.js';
import { recordLogAttributes } from '../../lib/delivery/report.js';
import { startSmtpServer } from '../support/smtpServer.js';
import type { SmtpServerHandle } from '../support/smtpServer.js';
import { useSqsEmulator } from '../support/sqsQueues.js';
import { mailJob, sendMailRig } from '../support/sendMailHarness.js';
import type { SendMailRig } from '../support/sendMailHarness.js';

const emulator = useSqsEmulator();
let server: SmtpServerHandle | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function rig(): Promise<SendMailRig> {
  server = await startSmtpServer({ onRcptTo: (to) => (to.startsWith('gone') ? { code: 550, message: '5.1.1 No such user' } : undefined) });
  const settings = { host: server.host, port: server.port, security: 'starttls' as const, username: server.user, password: server.pass };
  return sendMailRig({ emulator: emulator(), smtp: { kind: 'url', settings }, tlsCa: server.ca });
}

/** The log lines as Powertools prints them (the attributes at the top level), for the local run's activity. */
function printed(test: SendMailRig): string[] {
  return test.log.lines.map((line) => JSON.stringify({ level: line.level.toUpperCase(), message: line.message, ...line.attributes }));
}

const BROKEN = { v: 1, id: 'broken-1', to: 'Robert Secretname <robert.secret@example.com', subject: 'Broken job' };
const NO_RECIPIENT = { v: 1, id: 'broken-2', subject: 'No recipient', text: 'x' };

describe('the reason of an invalid job', () => {
  it('names its problems in the log line, the DLQ attributes and the local activity; FailureKind says invalid or permanent', async () => {
    // Prepare
    const test = await rig();
    // Act
    const { records, response } = await test.run([BROKEN, NO_RECIPIENT, 'not JSON at all', mailJob(4, { to: ['gone4@example.com'] })]);
    // Assess: the answer and the DLQ
    expect(response).toEqual({ batchItemFailures: [] });
    const dead = await test.queues.receiveAll(test.queues.dlqUrl);
    const bySource = new Map(dead.map((m) => [m.MessageAttributes?.['SourceMessageId']?.StringValue, m.MessageAttributes ?? {}]));
    const attributes = (index: number): Record<string, string | undefined> =>
      Object.fromEntries(Object.entries(bySource.get(records[index]!.messageId) ?? {}).map(([name, value]) => [name, value.StringValue]));
    expect(attributes(0)).toMatchObject({
      FailureKind: 'invalid',
      FailurePhase: 'job',
      FailureMessage:
        "invalid mail job (2 problems): to: \"Robert Secretname <robert.secret@example.com\" has a '<' without a closing '>'; has no content: give text, html or at least one attachment",
    });
    expect(attributes(1)).toMatchObject({ FailureKind: 'invalid', FailurePhase: 'job', FailureMessage: 'invalid mail job: to: is required' });
    expect(attributes(2)).toMatchObject({ FailureKind: 'invalid', FailurePhase: 'job', FailureMessage: 'the message body is not JSON' });
    expect(attributes(3)).toMatchObject({ FailureKind: 'permanent', FailurePhase: 'rcpt', FailureCode: '550' });

    // Assess: the log lines name the problems, with the values that quote the job hidden.
    const lines = test.log.records();
    const reason = (index: number): unknown => lines.get(records[index]!.messageId)?.attributes['reason'];
    expect(reason(0)).toEqual({
      phase: 'job',
      paths: ['to', '(job)'],
      text: "to: \"…\" has a '<' without a closing '>'; has no content: give text, html or at least one attachment",
    });
    expect(reason(1)).toEqual({ phase: 'job', paths: ['to'], text: 'to: is required' });
    expect(reason(2)).toEqual({ phase: 'job', paths: ['(job)'], text: 'the message body is not JSON' });
    expect(JSON.stringify(test.log.lines)).not.toMatch(/Secretname|robert/);

    // Assess: the local run's activity, which reads those lines.
    const activity = new RunActivity();
    activity.invocation({
      poller: 1,
      records,
      result: { kind: 'response', response, logs: printed(test) },
      failed: [],
      deleted: records.map((record) => record.messageId),
      deleteFailed: [],
      coldStart: false,
    });
    const detail = (index: number): string | undefined => activity.events.find((event) => event.messageId === records[index]!.messageId)?.detail;
    expect(detail(0)).toBe("permanent: job: to: \"…\" has a '<' without a closing '>'; has no content: give text, html or at least one attachment");
    expect(detail(1)).toBe('permanent: job: to: is required');
    expect(detail(2)).toBe('permanent: job: the message body is not JSON');
  });

  it('is capped in the log line: at most 500 characters, the problems beyond counted', () => {
    // Prepare: an InvalidJobError's 20 issues and its "and N more" summary.
    const issues = Array.from({ length: 20 }, (_, i) => ({
      path: `to[${i}]`,
      message: `"someone${i} at example.com" has no '@' (an address is a local part, an '@' and a domain)`,
    }));
    issues.push({ path: '', message: 'and 80 more problems' });
    // Act
    const line = recordLogAttributes({
      messageId: 'm-1',
      receiveCount: 1,
      placement: 'deadLettered',
      outcome: {
        kind: 'permanent',
        reason: { phase: 'job', message: 'quoted', paths: issues.map((i) => i.path || '(job)'), issues, issueCount: 100 },
      },
    });
    // Assess: as many whole problems as fit, then how many of the 100 are not shown.
    const text = (line['reason'] as { text: string }).text;
    const one = (i: number): string => `to[${i}]: "…" has no '@' (an address is a local part, an '@' and a domain)`;
    expect(text).toBe(`${[0, 1, 2, 3, 4, 5].map(one).join('; ')}; (94 more)`);
    expect(text.length).toBeLessThanOrEqual(500);
  });
});
