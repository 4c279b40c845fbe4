import { describe, expect, it } from 'vitest';
import { InvalidJobError, parseMailJob } from '../../lib/message/index.js';
import { ACCEPTED_JOBS, ACCEPTED_RAW_JOBS, b64, base, REFUSED_JOBS } from './jobCorpus.js';
import { issuesOf } from './jobIssues.js';

describe('parseMailJob: good jobs', () => {
  it('normalises a minimal job: lists, empty headers and attachments', () => {
    expect(parseMailJob(base)).toEqual({
      kind: 'composed',
      v: 1,
      to: [{ address: 'ann@example.com' }],
      cc: [],
      bcc: [],
      replyTo: [],
      subject: 'Hello',
      text: 'Hi Ann',
      headers: [],
      attachments: [],
    });
  });

  it('takes every field of a composed job', () => {
    const job = parseMailJob({
      v: 1,
      id: 'order-42',
      from: 'Shop <shop@bücher.example>',
      to: ['a@example.com', { name: 'Bo', address: 'b@example.com' }],
      cc: 'Cy <c@example.com>',
      bcc: ['d@example.com'],
      replyTo: 'help@example.com',
      subject: 'Ihre Bestellung',
      text: 't',
      html: '<p>h</p>',
      headers: { 'List-Unsubscribe': '<mailto:u@example.com>', 'X-Campaign': 'spring' },
      attachments: [
        { filename: 'a.txt', contentType: 'text/plain; charset=utf-8', content: b64('hello') },
        { filename: 'logo.png', contentType: 'image/png', content: b64('png'), contentId: 'logo@example.com' },
      ],
    });
    expect(job).toEqual({
      kind: 'composed',
      v: 1,
      id: 'order-42',
      from: { name: 'Shop', address: 'shop@xn--bcher-kva.example' },
      to: [{ address: 'a@example.com' }, { name: 'Bo', address: 'b@example.com' }],
      cc: [{ name: 'Cy', address: 'c@example.com' }],
      bcc: [{ address: 'd@example.com' }],
      replyTo: [{ address: 'help@example.com' }],
      subject: 'Ihre Bestellung',
      text: 't',
      html: '<p>h</p>',
      headers: [
        { name: 'List-Unsubscribe', value: '<mailto:u@example.com>' },
        { name: 'X-Campaign', value: 'spring' },
      ],
      attachments: [
        { filename: 'a.txt', contentType: 'text/plain; charset=utf-8', content: new Uint8Array(Buffer.from('hello')) },
        { filename: 'logo.png', contentType: 'image/png', content: new Uint8Array(Buffer.from('png')), contentId: 'logo@example.com' },
      ],
    });
  });

  it.each(ACCEPTED_JOBS)('accepts %s', (_name, input) => {
    expect(parseMailJob(input).kind).toBe('composed');
  });

  it.each(ACCEPTED_RAW_JOBS)('accepts %s', (_name, input) => {
    expect(parseMailJob(input)).toMatchObject({ kind: 'raw', tags: { tenant: 'acme' }, delaySeconds: 60 });
  });

  it('keeps the fields of issue 10 on the parsed job, absent when not given', () => {
    const job = parseMailJob({
      ...base,
      tags: { tenant: 'acme' },
      delaySeconds: 300,
      envelopeFrom: 'bounces@Example.COM',
      listUnsubscribe: { mailto: 'u@example.com' },
    });
    expect(job).toMatchObject({
      tags: { tenant: 'acme' },
      delaySeconds: 300,
      envelopeFrom: 'bounces@example.com',
      listUnsubscribe: { mailto: 'u@example.com' },
    });
    expect(Object.keys(parseMailJob(base))).not.toContain('tags');
    expect(Object.keys(parseMailJob(base))).not.toContain('listUnsubscribe');
  });

  it('takes a raw job and normalises LF to CRLF', () => {
    expect(
      parseMailJob({
        v: 1,
        id: 'r1',
        raw: { envelope: { from: 'a@bücher.example', to: ['b@example.com'] }, message: 'From: a@example.com\nSubject: x\n\nbody\n' },
      }),
    ).toEqual({
      kind: 'raw',
      v: 1,
      id: 'r1',
      envelope: { from: 'a@xn--bcher-kva.example', to: ['b@example.com'] },
      message: 'From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n',
    });
  });

  it('takes the null sender in a raw envelope', () => {
    const job = parseMailJob({ v: 1, raw: { envelope: { from: '', to: ['b@example.com'] }, message: 'From: <>\r\n\r\nbounce' } });
    expect(job).toMatchObject({ kind: 'raw', envelope: { from: '' } });
  });
});

describe('parseMailJob: every problem at once, with its path', () => {
  it('lists all problems of a job in one error', () => {
    const issues = issuesOf({
      v: 2,
      to: ['a@example.com', 'bad'],
      subjet: 'typo',
      headers: { Subject: 'x', 'X-Ok': 'fine', 'X-Bad': 'a\r\nb' },
      attachments: [{ filename: 'a', contentType: 'text/plain', content: '!!' }],
    });
    expect(issues).toEqual([
      { path: 'v', message: 'must be 1 (the only version of the job format), not 2' },
      { path: 'to[1]', message: '"bad" has no \'@\'' },
      { path: 'subject', message: 'is required' },
      { path: 'headers[0]', message: '"Subject" is set by the product from the job\'s own fields and cannot be given in headers' },
      { path: 'headers[2]', message: 'the value of "X-Bad" contains control characters (such as CR, LF or NUL)' },
      { path: 'attachments[0].content', message: 'must be base64 (A-Z, a-z, 0-9, +, / and = padding, no line breaks)' },
      { path: '', message: '"subjet" is not a field of a version 1 mail job (check the spelling)' },
    ]);
  });

  it('names the error and summarises the issues in its message', () => {
    const error = (() => {
      try {
        parseMailJob({ v: 1, to: 'x', subject: 's', text: 't' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as Error).message).toBe('invalid mail job: to: "x" has no \'@\'');
  });

  it('reports every unknown field, not only the first, by name in the message (paths are logged; they never quote a key the producer chose)', () => {
    expect(issuesOf({ ...base, subjet: 'a', bc: 'b@example.com', reply_to: 'c@example.com' })).toEqual(
      ['subjet', 'bc', 'reply_to'].map((name) => ({ path: '', message: `"${name}" is not a field of a version 1 mail job (check the spelling)` })),
    );
  });
});

describe('parseMailJob: reserved keys pollute nothing', () => {
  it.each([
    ['top level', '{"v":1,"to":"a@example.com","subject":"s","text":"t","__proto__":{"polluted":true}}', '', '__proto__'],
    ['in headers', '{"v":1,"to":"a@example.com","subject":"s","text":"t","headers":{"__proto__":{"polluted":true}}}', 'headers', '__proto__'],
    ['in an address object', '{"v":1,"to":{"address":"a@example.com","__proto__":{"polluted":true}},"subject":"s","text":"t"}', 'to', '__proto__'],
    [
      'in an attachment',
      '{"v":1,"to":"a@example.com","subject":"s","attachments":[{"filename":"a","contentType":"a/b","content":"","__proto__":{"polluted":true}}]}',
      'attachments[0]',
      '__proto__',
    ],
    [
      'in raw',
      '{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"],"__proto__":{"polluted":true}},"message":"From: a@example.com\\r\\n\\r\\nx"}}',
      'raw.envelope',
      '__proto__',
    ],
    ['constructor', '{"v":1,"to":"a@example.com","subject":"s","text":"t","constructor":{"prototype":{"polluted":true}}}', '', 'constructor'],
    ['prototype in headers', '{"v":1,"to":"a@example.com","subject":"s","text":"t","headers":{"prototype":"x"}}', 'headers', 'prototype'],
  ])('refuses __proto__/constructor/prototype %s', (_where, json, path, key) => {
    const issues = issuesOf(JSON.parse(json));
    expect(issues).toContainEqual({ path, message: `"${key}" is a reserved name and not allowed anywhere in a mail job` });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseMailJob: hostile jobs', () => {
  it.each(REFUSED_JOBS)('refuses %s', (_name, input, path, message) => {
    const issues = issuesOf(input);
    const match = issues.find((issue) => issue.path === path && message.test(issue.message));
    expect(match, `issues: ${JSON.stringify(issues)}`).toBeDefined();
  });

  it('has at least 100 hostile jobs', () => expect(REFUSED_JOBS.length).toBeGreaterThanOrEqual(100));
});
