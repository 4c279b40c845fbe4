/**
 * Issue 13 item 9: the paths of an invalid job are logged, so they hold field names of the schema
 * and indices only, never a key the producer chose (a header name, an unknown field, a key of an
 * object the schema does not know), which may quote an address. The messages may quote such keys:
 * they go with the job to the dead-letter queue, not to the logs.
 */
import { describe, expect, it } from 'vitest';
import { prepareRecord } from '../../lib/delivery/mailRecord.js';
import { recordLogAttributes } from '../../lib/delivery/report.js';
import { base } from './jobCorpus.js';
import { issuesOf } from './jobIssues.js';

/** The JSON of the log line the delivery writes for `job`'s record. */
function logLineOf(job: unknown): string {
  const prepared = prepareRecord({ messageId: 'm-1', receiptHandle: 'r-1', body: JSON.stringify(job), receiveCount: 1, requeueCount: 0 });
  if (!('invalid' in prepared)) throw new Error('accepted');
  return JSON.stringify(
    recordLogAttributes({ messageId: 'm-1', receiveCount: 1, placement: 'deadLettered', outcome: { kind: 'permanent', reason: prepared.invalid } }),
  );
}

describe('paths hold field names and indices only', () => {
  it.each([
    [
      'a header named by an address',
      { ...base, headers: { 'X-Ok': 'fine', 'To bob.secret@example.com': 'x' } },
      { path: 'headers[1]', message: '"To bob.secret@example.com" is not a valid header name (printable ASCII without spaces or colons)' },
    ],
    [
      'a header whose value is wrong',
      { ...base, headers: { 'X-Bob.Secret@example.com': 'a\r\nb' } },
      { path: 'headers[0]', message: 'the value of "X-Bob.Secret@example.com" contains control characters (such as CR, LF or NUL)' },
    ],
    [
      'a header that is not a string',
      { ...base, headers: { 'X-For-bob@example.com': 1 } },
      { path: 'headers[0]', message: 'the value of "X-For-bob@example.com" must be a string, not a number' },
    ],
    [
      'a header given twice',
      { ...base, headers: { 'X-Bob@Example.com': '1', 'x-bob@example.com': '2' } },
      { path: 'headers[1]', message: '"x-bob@example.com" is given twice (also as "X-Bob@Example.com"); header names are case-insensitive' },
    ],
    [
      'an unknown field named by an address',
      { ...base, 'bob.secret@example.com': 'x' },
      { path: '', message: '"bob.secret@example.com" is not a field of a version 1 mail job (check the spelling)' },
    ],
    [
      'an unknown field of an attachment',
      { ...base, attachments: [{ filename: 'a', contentType: 'a/b', content: '', 'bob@example.com': 1 }] },
      { path: 'attachments[0]', message: '"bob@example.com" is not a field of an attachment (filename, contentType, content, s3, contentId)' },
    ],
    [
      'an unknown field of a raw envelope',
      { v: 1, raw: { envelope: { from: 'a@example.com', to: ['b@example.com'], 'bob@example.com': 1 }, message: 'From: a@example.com\r\n\r\nx' } },
      { path: 'raw.envelope', message: '"bob@example.com" is not a field of an envelope (from, to)' },
    ],
    [
      'a reserved key below an unknown key',
      JSON.parse('{"v":1,"to":"a@example.com","subject":"s","text":"t","labels":{"bob@example.com":{"__proto__":1}}}') as unknown,
      { path: '*.*', message: '"__proto__" is a reserved name and not allowed anywhere in a mail job' },
    ],
    [
      'nesting below a key named by an address',
      { ...base, 'bob@example.com': { a: { b: { c: { d: { e: { f: { g: { h: { i: 1 } } } } } } } } } },
      { path: '*.*.*.*.*.*.*.*.*', message: 'is nested too deeply for a mail job' },
    ],
  ])('%s', (_name, job, issue) => {
    const issues = issuesOf(job);
    expect(issues).toContainEqual(issue);
    for (const { path } of issues) expect(path).toMatch(/^(?:[A-Za-z]+|\[\d+\]|\.[A-Za-z]+|\.\*|\*)*$/);
  });
});

describe('the log line of an invalid job', () => {
  it.each([
    ['a header key', { ...base, headers: { 'To: bob.secret@example.com': 'x' } }],
    ['a header key that is a valid name', { ...base, headers: { 'X-Bob.Secret@example.com': 'x', 'x-bob.secret@example.com': 'y' } }],
    ['a header key with a bad value', { ...base, headers: { 'X-To-bob.secret@example.com': 'a\nb' } }],
    ['an unknown field', { ...base, 'bob.secret@example.com': 1 }],
    ['a key of an unknown object', { ...base, tags: { 'bob.secret@example.com': { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } } }],
    ['a key of an address object', { ...base, to: { address: 'a@example.com', 'bob.secret@example.com': 1 } }],
    ['a key of an attachment', { ...base, attachments: [{ filename: 'a', contentType: 'a/b', content: '', 'bob.secret@example.com': 1 }] }],
  ])('does not quote %s', (_name, job) => {
    const line = logLineOf(job);
    expect(line).toContain('"paths":[');
    expect(line).not.toMatch(/bob|secret/);
  });
});

describe('what the report logs of an invalid job', () => {
  const lineOf = (paths: string[]) =>
    recordLogAttributes({
      messageId: 'm-1',
      receiveCount: 1,
      placement: 'deadLettered',
      outcome: { kind: 'permanent', reason: { phase: 'job', message: 'x', paths } },
    });

  it('logs at most 21 paths, then how many more there were', () => {
    const paths = Array.from({ length: 1_000 }, (_, i) => `to[${i}]`);
    expect(lineOf(paths)['reason']).toEqual({ phase: 'job', paths: [...paths.slice(0, 21), '(979 more)'] });
  });

  it('hides a path that is not made of field names and indices', () => {
    expect(lineOf(['headers["bob@example.com"]', 'to[1]', 'x'.repeat(300)])['reason']).toEqual({
      phase: 'job',
      paths: ['(hidden)', 'to[1]', '(hidden)'],
    });
  });
});
