/**
 * The job fields of issue 10 in the message: List-Unsubscribe and List-Unsubscribe-Post as
 * composed, envelopeFrom as the envelope's MAIL FROM (the From header unchanged, no Return-Path
 * written), tags and delaySeconds never in the message, and what counts for the content-derived id.
 */
import { describe, expect, it } from 'vitest';
import { composeMail, contentJobId, parseMailJob } from '../../lib/message/index.js';
import { base } from './jobCorpus.js';

const date = new Date('2026-12-01T12:00:00Z');

/** The header section of a composed message, unfolded, one string per field. */
async function headerFields(input: unknown): Promise<string[]> {
  const { message } = await composeMail(parseMailJob(input), { date });
  const text = Buffer.from(message).toString('latin1');
  return text
    .slice(0, text.indexOf('\r\n\r\n'))
    .replace(/\r\n[ \t]+/g, ' ')
    .split('\r\n');
}

describe('listUnsubscribe (RFC 2369, RFC 8058)', () => {
  it('url and mailto: List-Unsubscribe with the URL first, then the mailto, and the one-click List-Unsubscribe-Post', async () => {
    const fields = await headerFields({
      ...base,
      from: 'shop@example.com',
      listUnsubscribe: { url: 'https://example.com/u/Zm9v?l=2', mailto: 'mailto:unsubscribe@example.com?subject=stop' },
    });
    expect(fields.filter((field) => /^list-/i.test(field))).toEqual([
      'List-Unsubscribe: <https://example.com/u/Zm9v?l=2>, <mailto:unsubscribe@example.com?subject=stop>',
      'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
    ]);
  });

  it('mailto only, written as an address: mailto: is added, and no List-Unsubscribe-Post (one-click needs a URL)', async () => {
    const fields = await headerFields({ ...base, from: 'shop@example.com', listUnsubscribe: { mailto: 'unsubscribe@example.com' } });
    expect(fields.filter((field) => /^list-/i.test(field))).toEqual(['List-Unsubscribe: <mailto:unsubscribe@example.com>']);
  });

  it('url only: both fields; a URL of 700 characters (the longest) is whole, every line at most 998 octets', async () => {
    const url = `https://example.com/${'a'.repeat(680)}`;
    expect(url).toHaveLength(700);
    const job = { ...base, from: 'shop@example.com', listUnsubscribe: { url } };
    expect(await headerFields(job)).toEqual(
      expect.arrayContaining([`List-Unsubscribe: <${url}>`, 'List-Unsubscribe-Post: List-Unsubscribe=One-Click']),
    );
    const { message } = await composeMail(parseMailJob(job), { date });
    const lines = Buffer.from(message).toString('latin1').split('\r\n');
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(998);
  });

  it("sits beside the job's other headers", async () => {
    const fields = await headerFields({
      ...base,
      from: 'shop@example.com',
      headers: { 'List-Id': '<news.example.com>' },
      listUnsubscribe: { url: 'https://example.com/u' },
    });
    // nodemailer writes List-Id as List-ID (header names are case-insensitive).
    expect(fields).toEqual(expect.arrayContaining(['List-ID: <news.example.com>', 'List-Unsubscribe: <https://example.com/u>']));
  });
});

describe('envelopeFrom', () => {
  it('is the MAIL FROM of the envelope; the From header stays from, and no Return-Path is written (the receiving MTA does that)', async () => {
    const job = parseMailJob({ ...base, from: 'Shop <shop@example.com>', bcc: 'audit@example.com', envelopeFrom: 'bounces+42@bounce.example.com' });
    const { envelope, message } = await composeMail(job, { date });
    expect(envelope).toEqual({ from: 'bounces+42@bounce.example.com', to: ['ann@example.com', 'audit@example.com'] });
    const text = Buffer.from(message).toString('latin1');
    expect(text).toMatch(/^From: Shop <shop@example\.com>$/m);
    expect(text).not.toMatch(/^Return-Path:/im);
    expect(text).not.toContain('bounce.example.com');
  });

  it('absent: MAIL FROM is the from address (as before)', async () => {
    const { envelope } = await composeMail(parseMailJob({ ...base, from: 'Shop <shop@example.com>' }), { date });
    expect(envelope.from).toBe('shop@example.com');
  });
});

describe('tags and delaySeconds', () => {
  it('never reach the message', async () => {
    const plain = await composeMail(parseMailJob({ ...base, id: 'j-1', from: 'shop@example.com' }), { date });
    const tagged = await composeMail(
      parseMailJob({ ...base, id: 'j-1', from: 'shop@example.com', tags: { tenant: 'acme-tenant' }, delaySeconds: 60 }),
      { date },
    );
    expect(Buffer.from(tagged.message).toString('latin1')).toBe(Buffer.from(plain.message).toString('latin1'));
    expect(tagged.envelope).toEqual(plain.envelope);
  });
});

describe('the content-derived id and the fields of issue 10', () => {
  const job = { ...base, from: 'shop@example.com' };
  it('tags and delaySeconds do not change it: a retry of the same mail with other tags or delay is the same mail', () => {
    const id = contentJobId(parseMailJob(job));
    expect(contentJobId(parseMailJob({ ...job, tags: { attempt: '2' } }))).toBe(id);
    expect(contentJobId(parseMailJob({ ...job, delaySeconds: 900 }))).toBe(id);
  });

  it('envelopeFrom and listUnsubscribe do (they change what is sent)', () => {
    const ids = [
      contentJobId(parseMailJob(job)),
      contentJobId(parseMailJob({ ...job, envelopeFrom: 'bounces@example.com' })),
      contentJobId(parseMailJob({ ...job, listUnsubscribe: { url: 'https://example.com/u' } })),
      contentJobId(parseMailJob({ ...job, listUnsubscribe: { mailto: 'u@example.com' } })),
    ];
    expect(new Set(ids).size).toBe(4);
  });

  it('a raw job keeps its id with tags and delaySeconds too', () => {
    const raw = { v: 1, raw: { envelope: { from: '', to: ['b@example.com'] }, message: 'From: a@example.com\r\n\r\nx' } };
    expect(contentJobId(parseMailJob({ ...raw, tags: { k: 'v' }, delaySeconds: 5 }))).toBe(contentJobId(parseMailJob(raw)));
  });
});
