/**
 * Issue 13 item 1: one hostile body of at most 1 MiB must be refused as an invalid job, with a
 * bounded list of problems and a bounded log line, never take the batch down (out of memory, stack
 * overflow, a log line of megabytes). Time and heap are measured by `npm run bench -- hostile-jobs`,
 * not asserted here.
 */
import { describe, expect, it } from 'vitest';
import { prepareRecord } from '../../lib/delivery/mailRecord.js';
import { recordLogAttributes } from '../../lib/delivery/report.js';
import { InvalidJobError, parseMailJob, type JobIssue } from '../../lib/message/index.js';
import { hostileBodies, MAX_BODY_BYTES } from './hostileBodies.js';
import { base } from './jobCorpus.js';

/** The error parseMailJob throws for `input` (fails the test when it returns). */
function refusal(input: unknown): InvalidJobError {
  try {
    parseMailJob(input);
  } catch (error) {
    if (error instanceof InvalidJobError) return error;
    throw error;
  }
  throw new Error('accepted');
}

/** The record's reason and log line, as the delivery would log them. */
function logged(body: string) {
  const prepared = prepareRecord({ messageId: 'm-1', receiptHandle: 'r-1', body, receiveCount: 1, requeueCount: 0 });
  if (!('invalid' in prepared)) throw new Error('accepted');
  const line = recordLogAttributes({
    messageId: 'm-1',
    receiveCount: 1,
    placement: 'deadLettered',
    outcome: { kind: 'permanent', reason: prepared.invalid },
  });
  return { reason: prepared.invalid, line: JSON.stringify(line) };
}

const bodies = hostileBodies().filter((body) => body.valid !== true);

describe('hostile bodies of at most 1 MiB', () => {
  it.each(bodies.map((body) => [body.name, body] as const))('%s: fits in one SQS message', (_name, { body }) => {
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
  });

  it.each(bodies.map((body) => [body.name, body] as const))('%s: is an invalid job with a short reason and log line', (_name, { body }) => {
    const { reason, line } = logged(body);
    expect(reason.phase).toBe('job');
    expect(reason.paths?.length ?? 0).toBeLessThanOrEqual(21);
    expect(reason.message.length).toBeLessThan(4_000);
    expect(line.length).toBeLessThan(2_000);
  });

  it.each(bodies.filter(({ name }) => !name.startsWith('not JSON')).map((body) => [body.name, body] as const))(
    '%s: parseMailJob throws at most 20 issues and a summary',
    (_name, { body }) => {
      const error = refusal(JSON.parse(body));
      expect(error.issues.length).toBeLessThanOrEqual(21);
      expect(error.message.length).toBeLessThan(4_000);
    },
  );
});

describe('large valid bodies', () => {
  it.each(
    hostileBodies()
      .filter((body) => body.valid === true)
      .map((body) => [body.name, body] as const),
  )('%s: is a job', (_name, { body }) => {
    expect(prepareRecord({ messageId: 'm-1', receiptHandle: 'r-1', body, receiveCount: 1, requeueCount: 0 })).toHaveProperty('job');
  });
});

describe('the issues of a job are capped: the first 20, then how many more', () => {
  const unknownFields = (count: number) => ({ ...base, ...Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, 0])) });

  it('lists 20 problems and says how many more there are', () => {
    const error = refusal(unknownFields(1_000));
    expect(error.issues).toHaveLength(21);
    expect(error.issues.slice(0, 20).map((issue) => issue.message)).toEqual(
      Array.from({ length: 20 }, (_, i) => `"k${i}" is not a field of a version 1 mail job (check the spelling)`),
    );
    expect(error.issues[20]).toEqual({ path: '', message: 'and 980 more problems' });
    expect(error.message).toMatch(/^invalid mail job \(1000 problems\): /);
    expect(error.message).toMatch(/; and 980 more problems$/);
  });

  it('lists 20 problems as they are, without a summary', () => {
    expect(refusal(unknownFields(20)).issues).toHaveLength(20);
  });

  it('caps the problems of a raw message: one for many malformed header lines', () => {
    const issues = refusal({ v: 1, raw: { envelope: { from: 'a@example.com', to: ['b@example.com'] }, message: 'x\n'.repeat(1_000) } }).issues;
    expect(issues).toEqual<JobIssue[]>([
      { path: 'raw.message', message: 'header line 1 is not a "Name: value" field' },
      { path: 'raw.message', message: 'has no From field' },
    ]);
  });

  it('names few unknown fields of an address object, and counts the rest', () => {
    const to = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`k${i}`, 0]));
    const issues = refusal({ ...base, to }).issues;
    expect(issues).toEqual([
      { path: 'to', message: 'has unknown fields "k0", "k1", "k2" and 997 more (an address object has only name and address)' },
    ]);
  });
});

describe('lists and objects are measured before their items are checked', () => {
  it('refuses 1000 empty attachments by their number alone', () => {
    expect(refusal({ ...base, attachments: Array.from({ length: 1_000 }, () => ({})) }).issues).toEqual([
      { path: 'attachments', message: 'has 1000 attachments; at most 100 are allowed' },
    ]);
  });

  it('refuses a job of more values than any mail job has, without looking at each', () => {
    const issues = refusal({ ...base, attachments: Array.from({ length: 100_000 }, () => ({})) }).issues;
    expect(issues).toEqual([{ path: 'attachments', message: 'has 100000 items; a mail job holds at most 4096 values in all' }]);
  });

  it('refuses a list shared many times over (possible from JavaScript) by its size', () => {
    const shared = Array.from({ length: 3_000 }, () => 'x');
    const issues = refusal({ ...base, x: [shared, shared, shared] }).issues;
    expect(issues).toEqual([{ path: '*[1]', message: 'has 3000 items; a mail job holds at most 4096 values in all' }]);
  });

  it('refuses a structure nested 100,000 levels deep (from JavaScript) at the depth limit', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    const issues = refusal({ ...base, x: deep }).issues;
    expect(issues).toEqual([
      { path: '*[0][0][0][0][0][0][0][0]', message: 'is nested too deeply for a mail job' },
      { path: '', message: '"x" is not a field of a version 1 mail job (check the spelling)' },
    ]);
  });

  it('refuses a cyclic object (from JavaScript) at the depth limit', () => {
    const cycle: Record<string, unknown> = {};
    cycle['to'] = cycle;
    expect(refusal({ ...base, cc: cycle }).issues[0]).toEqual({ path: 'cc.to.to.to.to.to.to.to.to', message: 'is nested too deeply for a mail job' });
  });
});

describe('the size limits leave room for every valid job', () => {
  it('takes the fullest valid job there is, through the record path', () => {
    const person = (i: number) => ({ name: `Person ${i}`, address: `p${i}@example.com` });
    const job = {
      v: 1,
      id: 'fullest',
      from: person(0),
      subject: 's',
      text: 't',
      html: '<p>h</p>',
      to: Array.from({ length: 34 }, (_, i) => person(i)),
      cc: Array.from({ length: 33 }, (_, i) => person(100 + i)),
      bcc: Array.from({ length: 33 }, (_, i) => person(200 + i)),
      replyTo: Array.from({ length: 100 }, (_, i) => person(300 + i)),
      headers: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`X-H${i}`, 'v'])),
      attachments: Array.from({ length: 100 }, (_, i) => ({ filename: `f${i}`, contentType: 'a/b', content: '', contentId: `c${i}@example.com` })),
    };
    const prepared = prepareRecord({ messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify(job), receiveCount: 1, requeueCount: 0 });
    expect(prepared).toHaveProperty('job');
  });
});

describe('the record path: JSON that no mail job has is refused before it is built', () => {
  it.each([
    ['nested 500,000 levels deep', `{"v":1,"x":${'['.repeat(500_000)}${']'.repeat(500_000)}}`, 'is nested deeper than 8 levels: no mail job is'],
    ['1 MiB of "["', '['.repeat(MAX_BODY_BYTES), 'is nested deeper than 8 levels: no mail job is'],
    ['300,000 empty objects', `{"v":1,"attachments":[${Array(300_000).fill('{}').join(',')}]}`, 'holds more than 4096 values: no mail job does'],
  ])('%s', (_name, body, message) => {
    const issue = `the message body ${message}`;
    expect(logged(body).reason).toEqual({
      phase: 'job',
      message: `invalid mail job: ${issue}`,
      paths: ['(job)'],
      issues: [{ path: '', message: issue }],
      issueCount: 1,
    });
  });

  it('still tells a body that is not JSON', () => {
    const message = 'the message body is not JSON';
    expect(logged('{"v":1,').reason).toEqual({ phase: 'job', message, paths: ['(job)'], issues: [{ path: '', message }] });
  });

  it('counts brackets and commas inside strings as text', () => {
    const job = { ...base, text: `${'['.repeat(20)}${',{'.repeat(10_000)}` };
    const prepared = prepareRecord({ messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify(job), receiveCount: 1, requeueCount: 0 });
    expect('job' in prepared).toBe(true);
  });

  it('counts an escaped quote inside a string as text', () => {
    const job = { ...base, subject: 'say "[[[[[[[[[[" \\' };
    const prepared = prepareRecord({ messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify(job), receiveCount: 1, requeueCount: 0 });
    expect('job' in prepared).toBe(true);
  });
});
