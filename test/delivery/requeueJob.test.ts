/**
 * The job that puts recipients refused for now back on the queue: the same message as a raw job
 * when it fits, else the producer's job narrowed to them.
 */
import { describe, expect, it } from 'vitest';
import { composeMail, parseMailJob } from '../../lib/message/index.js';
import { MAX_QUEUE_BODY_BYTES, requeueBody } from '../../lib/delivery/requeueJob.js';

const body = JSON.stringify({
  v: 1,
  id: 'order-42',
  from: 'Shop <shop@example.com>',
  to: ['Ann <ann@example.com>', 'bob@example.com'],
  cc: [{ name: 'Cy', address: 'cy@example.com' }],
  bcc: 'dee@example.com',
  subject: 'Your order',
  text: 'Thanks!',
});

describe('requeueBody', () => {
  it('is a raw job with the exact message and an envelope of only the refused recipients', async () => {
    const job = parseMailJob(JSON.parse(body));
    const mail = await composeMail(job);
    const next = requeueBody(body, job, mail, ['bob@example.com', 'dee@example.com']);
    expect(next.ok && next.form).toBe('raw');
    const parsed = parseMailJob(JSON.parse(next.ok ? next.body : '{}'));
    expect(parsed).toMatchObject({ kind: 'raw', id: 'order-42', envelope: { from: 'shop@example.com', to: ['bob@example.com', 'dee@example.com'] } });
    expect(parsed.kind === 'raw' && new TextEncoder().encode(parsed.message)).toEqual(mail.message);
  });

  it('narrows the producer job when the message would not fit in a queue message', async () => {
    const job = parseMailJob(JSON.parse(body));
    const mail = { envelope: { from: 'shop@example.com', to: [] }, message: new Uint8Array(MAX_QUEUE_BODY_BYTES).fill(0x41) };
    const next = requeueBody(body, job, mail, ['bob@example.com', 'cy@example.com', 'dee@example.com']);
    expect(next).toEqual({
      ok: true,
      form: 'narrowed',
      body: JSON.stringify({ ...JSON.parse(body), to: ['bob@example.com'], cc: [{ name: 'Cy', address: 'cy@example.com' }], bcc: ['dee@example.com'] }),
    });
  });

  it('narrows the producer job when the message is not UTF-8 text, matching addresses without regard to case', async () => {
    const job = parseMailJob(JSON.parse(body));
    const next = requeueBody(body, job, { envelope: { from: '', to: [] }, message: new Uint8Array([0xff, 0xfe]) }, ['ANN@example.com']);
    expect(next.ok && JSON.parse(next.body)).toMatchObject({ to: ['Ann <ann@example.com>'], id: 'order-42' });
    expect(next.ok && JSON.parse(next.body)).not.toHaveProperty('cc');
    expect(next.ok && JSON.parse(next.body)).not.toHaveProperty('bcc');
  });

  it('cannot narrow to recipients that are only blind or carbon copies (the job needs a "to")', () => {
    const job = parseMailJob(JSON.parse(body));
    expect(requeueBody(body, job, undefined, ['dee@example.com'])).toEqual({
      ok: false,
      problem: 'the recipients to retry are not in "to", so the job cannot be narrowed to them',
    });
  });
});
