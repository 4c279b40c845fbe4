/**
 * The copies that put recipients refused for now back on the queue: the same message as a raw job
 * when it fits, else the producer's job narrowed to them (`to`, `cc` and `bcc`, or a raw job's
 * envelope), always within SQS's rules, never holding a recipient who has the message.
 */
import { describe, expect, it } from 'vitest';
import { composeMail, parseMailJob } from '../../lib/message/index.js';
import { requeueBody, requeueBodyBudget } from '../../lib/delivery/requeueJob.js';
import type { JobCopy, PendingCopies, RequeueBody } from '../../lib/delivery/requeueJob.js';
import { queueJson } from '../../lib/message/queueBody.js';

const input = {
  v: 1,
  id: 'order-42',
  from: 'Shop <shop@example.com>',
  to: ['Ann <ann@example.com>', 'bob@example.com'],
  cc: [{ name: 'Cy', address: 'cy@example.com' }],
  bcc: 'dee@example.com',
  subject: 'Your order',
  text: 'Thanks!',
};
const body = JSON.stringify(input);
const job = parseMailJob(input);
const { cc: _cc, bcc: _bcc, ...withoutCopies } = input;
/** Every copy of a set, built. */
function built(copies: PendingCopies): { form: PendingCopies['form']; copies: JobCopy[] } {
  return { form: copies.form, copies: Array.from({ length: copies.count }, (_, number) => copies.copy(number)) };
}

/** `requeueBody`'s answer with its copies built, to compare whole. */
function settled(next: RequeueBody): unknown {
  if (next.ok) return { ok: true, ...built(next) };
  return next.deadLetter === undefined ? next : { ...next, deadLetter: built(next.deadLetter) };
}

/** A message too large for the raw form. */
const huge = { envelope: { from: 'shop@example.com', to: [] }, message: new Uint8Array(requeueBodyBudget(1)).fill(0x41) };

describe('requeueBody', () => {
  it('is a raw job with the exact message and an envelope of only the refused recipients', async () => {
    const mail = await composeMail(job);
    const next = requeueBody(body, job, mail, ['bob@example.com', 'dee@example.com']);
    expect(next.ok && next.form).toBe('raw');
    expect(next.ok && built(next).copies.map((copy) => copy.recipients)).toEqual([2]);
    const parsed = parseMailJob(JSON.parse(next.ok ? next.copy(0).body : '{}'));
    expect(parsed).toMatchObject({ kind: 'raw', id: 'order-42', envelope: { from: 'shop@example.com', to: ['bob@example.com', 'dee@example.com'] } });
    expect(parsed.kind === 'raw' && new TextEncoder().encode(parsed.message)).toEqual(mail.message);
  });

  it('narrows the producer job when the message would not fit in a queue message', () => {
    const next = requeueBody(body, job, huge, ['bob@example.com', 'cy@example.com', 'dee@example.com']);
    expect(settled(next)).toEqual({
      ok: true,
      form: 'narrowed',
      copies: [
        {
          recipients: 3,
          body: JSON.stringify({
            ...withoutCopies,
            to: ['bob@example.com'],
            cc: [{ name: 'Cy', address: 'cy@example.com' }],
            bcc: ['dee@example.com'],
          }),
        },
      ],
    });
  });

  it('narrows the producer job when the message is not UTF-8 text, matching addresses without regard to case', () => {
    const next = requeueBody(body, job, { envelope: { from: '', to: [] }, message: new Uint8Array([0xff, 0xfe]) }, ['ANN@example.com']);
    expect(next.ok && JSON.parse(next.copy(0).body)).toEqual({ ...withoutCopies, to: ['Ann <ann@example.com>'] });
  });

  it('a recipient only in cc becomes the copy\'s "to" (the job needs one); blind copies stay blind', () => {
    const next = requeueBody(body, job, undefined, ['cy@example.com', 'dee@example.com']);
    expect(settled(next)).toEqual({
      ok: true,
      form: 'narrowed',
      copies: [
        { recipients: 2, body: JSON.stringify({ ...withoutCopies, to: [{ name: 'Cy', address: 'cy@example.com' }], bcc: ['dee@example.com'] }) },
      ],
    });
  });

  it('only blind copies: one copy each, so that none is shown to another', () => {
    const blind = { ...input, bcc: ['dee@example.com', 'eve@example.com'] };
    const next = requeueBody(JSON.stringify(blind), parseMailJob(blind), undefined, ['eve@example.com', 'dee@example.com']);
    expect(settled(next)).toEqual({
      ok: true,
      form: 'narrowed',
      copies: [
        { recipients: 1, body: JSON.stringify({ ...withoutCopies, to: ['dee@example.com'] }) },
        { recipients: 1, body: JSON.stringify({ ...withoutCopies, to: ['eve@example.com'] }) },
      ],
    });
  });

  it('99 blind copies of a large job are built one at a time, each the same body every time it is asked for', () => {
    // Prepare: a job of ~900 KB (text outside Latin-1, U+FFFE) to one `to` and 99 blind copies, all pending.
    const blind = Array.from({ length: 99 }, (_, i) => `Blind ${i} <blind${i}@example.com>`);
    const large = { ...input, to: 'Ann <ann@example.com>', cc: undefined, bcc: blind, text: `€ \ufffe ${'x'.repeat(900_000)}` };
    const { cc: _c, bcc: _b, ...rest } = large;
    const largeBody = queueJson(large);
    // Act
    const next = requeueBody(
      largeBody,
      parseMailJob(JSON.parse(largeBody)),
      undefined,
      blind.map((_, i) => `blind${i}@example.com`),
    );
    // Assess: 99 copies known by count and size, none built yet; each built on demand as queueJson would write it.
    expect(next.ok && [next.form, next.count]).toEqual(['narrowed', 99]);
    if (!next.ok) return;
    const bodyOf = (number: number): string => queueJson({ ...rest, to: [blind[number]] });
    expect(next.largestBytes).toBe(Buffer.byteLength(bodyOf(98))); // two-digit numbers are the longest
    for (const number of [0, 42, 98]) {
      expect(next.copy(number)).toEqual({ body: bodyOf(number), recipients: 1 });
      expect(next.copy(number).body).toBe(next.copy(number).body);
    }
  });

  it('escapes U+FFFE and U+FFFF as the producer does, in both forms', async () => {
    const odd = { ...input, text: 'odd \ufffe and \uffff' };
    const oddJob = parseMailJob(odd);
    const narrowed = requeueBody(JSON.stringify(odd), oddJob, undefined, ['bob@example.com']);
    expect(narrowed.ok && narrowed.copy(0).body).toContain('"text":"odd \\ufffe and \\uffff"');
    const raw = {
      v: 1,
      raw: { envelope: { from: 'a@example.com', to: ['b@example.com', 'c@example.com'] }, message: 'From: a@example.com\r\n\r\n\ufffe\uffff\r\n' },
    };
    const rawJob = parseMailJob(raw);
    const next = requeueBody(JSON.stringify(raw), rawJob, await composeMail(rawJob), ['c@example.com']);
    expect(next.ok && next.form).toBe('raw');
    expect(next.ok && next.copy(0).body).not.toMatch(/[\ufffe\uffff]/);
    expect(next.ok && (JSON.parse(next.copy(0).body) as { raw: { message: string } }).raw.message).toBe(
      'From: a@example.com\r\n\r\n\ufffe\uffff\r\n',
    );
  });

  it('a raw job whose copy would not fit: its envelope is narrowed in place', () => {
    const raw = {
      v: 1,
      id: 'r-1',
      raw: { envelope: { from: 'a@example.com', to: ['B@example.com', 'c@example.com'] }, message: 'From: a@example.com\n\nhi\n' },
    };
    const next = requeueBody(JSON.stringify(raw), parseMailJob(raw), huge, ['b@example.com']);
    expect(settled(next)).toEqual({
      ok: true,
      form: 'narrowed',
      copies: [{ recipients: 1, body: JSON.stringify({ ...raw, raw: { ...raw.raw, envelope: { from: 'a@example.com', to: ['B@example.com'] } } }) }],
    });
  });

  it("a copy over the queue's budget is offered for the dead-letter queue (only the pending recipients); a recipient not in the job is a problem", () => {
    const next = requeueBody(body, job, huge, ['bob@example.com'], 100);
    expect(settled(next)).toEqual({
      ok: false,
      problem: expect.stringMatching(
        /^the copy for the recipients not yet delivered does not fit in a queue message with its attributes \(\d+ octets\)$/,
      ),
      deadLetter: { form: 'narrowed', copies: [{ recipients: 1, body: JSON.stringify({ ...withoutCopies, to: ['bob@example.com'] }) }] },
    });
    expect(settled(requeueBody(body, job, undefined, ['zed@example.com']))).toEqual({
      ok: false,
      problem: 'some recipients not yet delivered are not in the job',
    });
  });

  it('leaves room for the re-enqueue count attribute SQS counts in the 1 MiB', () => {
    expect(requeueBodyBudget(1)).toBe(1_048_576 - 'MailRequeueCount'.length - 'Number'.length - 1);
    expect(requeueBodyBudget(10)).toBe(1_048_576 - 'MailRequeueCount'.length - 'Number'.length - 2);
  });

  it("two spellings of one address that differ in the local part's case are two recipients: the copy holds only the pending one", () => {
    // The envelope keeps both (RFC 5321: a local part may be case-sensitive), so each has its own answer.
    const twice = { ...withoutCopies, to: ['Ann@example.com', 'ann@example.com', 'bob@example.com'] };
    const next = requeueBody(JSON.stringify(twice), parseMailJob(twice), huge, ['ann@example.com']);
    expect(next.ok && JSON.parse(next.copy(0).body)).toEqual({ ...withoutCopies, to: ['ann@example.com'] });
    const raw = {
      v: 1,
      raw: { envelope: { from: 'a@example.com', to: ['Ann@example.com', 'ann@example.com'] }, message: 'From: a@example.com\n\nhi\n' },
    };
    const rawNext = requeueBody(JSON.stringify(raw), parseMailJob(raw), huge, ['Ann@example.com']);
    expect(rawNext.ok && JSON.parse(rawNext.copy(0).body)).toEqual({
      ...raw,
      raw: { ...raw.raw, envelope: { from: 'a@example.com', to: ['Ann@example.com'] } },
    });
  });
});
