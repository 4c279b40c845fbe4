import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeMail, InvalidJobError, parseMailJob, type MailJobInput } from '../../lib/message/index.js';

const date = new Date('2026-03-04T05:06:07Z');
const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const pdf = Buffer.from('%PDF-1.7\n% äöü binary \u0000\u00ff\n%%EOF');

/** Composes `job`, checks the wire rules every message must meet, and parses it back. */
async function roundTrip(
  job: MailJobInput,
  defaults = {},
): Promise<{ parsed: ParsedMail; text: string; envelope: { from: string; to: string[] }; bytes: Uint8Array }> {
  const { envelope, message } = await composeMail(job, { date, ...defaults });
  const text = Buffer.from(message).toString('utf8');
  const lines = text.split('\r\n');
  expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  expect(Math.max(...lines.map((line) => Buffer.byteLength(line)))).toBeLessThanOrEqual(998);
  return { parsed: await simpleParser(Buffer.from(message)), text, envelope, bytes: message };
}

/** Decodes an unstructured header value the way mailparser decodes a Subject (RFC 2047 encoded words). */
async function decodeHeader(value: unknown): Promise<string | undefined> {
  return (await simpleParser(Buffer.from(`Subject: ${String(value)}\r\n\r\n`))).subject;
}

/** mailparser ends the text of a single-part body with a line break; the composed body has none of its own. */
function body(text: string | undefined): string | undefined {
  return text?.replace(/\n$/, '');
}

function addresses(object: AddressObject | AddressObject[] | undefined): { name: string; address: string | undefined }[] {
  return [object ?? []].flat().flatMap((o) => o.value.map(({ name, address }) => ({ name, address })));
}

describe('composeMail: every job shape, parsed back field by field', () => {
  it('text only', async () => {
    const { parsed, envelope, text } = await roundTrip({
      v: 1,
      id: 'order-1',
      from: 'Shop <shop@example.com>',
      to: 'ann@example.com',
      subject: 'Your order',
      text: 'Thanks!\nLine two.',
    });
    expect(addresses(parsed.from)).toEqual([{ name: 'Shop', address: 'shop@example.com' }]);
    expect(addresses(parsed.to)).toEqual([{ name: '', address: 'ann@example.com' }]);
    expect(parsed.subject).toBe('Your order');
    expect(body(parsed.text)).toBe('Thanks!\nLine two.');
    expect(parsed.html).toBe(false);
    expect(parsed.messageId).toBe('<order-1@example.com>');
    expect(parsed.date?.toISOString()).toBe(date.toISOString());
    expect(parsed.headers.get('mime-version')).toBe('1.0');
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'text/plain', params: { charset: 'utf-8' } });
    expect(parsed.attachments).toEqual([]);
    expect(envelope).toEqual({ from: 'shop@example.com', to: ['ann@example.com'] });
    expect(text).not.toMatch(/^bcc:/im);
  });

  it('html only', async () => {
    const { parsed } = await roundTrip({ v: 1, from: 'a@example.com', to: 'b@example.com', subject: 'h', html: '<p>Hello <b>world</b></p>' });
    expect(body(parsed.html as string)).toBe('<p>Hello <b>world</b></p>');
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'text/html' });
  });

  it('text and html as multipart/alternative', async () => {
    const { parsed } = await roundTrip({ v: 1, from: 'a@example.com', to: 'b@example.com', subject: 'both', text: 'plain', html: '<p>rich</p>' });
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.text).toBe('plain');
    expect(parsed.html).toBe('<p>rich</p>');
  });

  it('attachments as multipart/mixed, bytes intact, non-ASCII file name', async () => {
    const { parsed } = await roundTrip({
      v: 1,
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'files',
      text: 'see attached',
      attachments: [
        { filename: 'Bericht März 2026.pdf', contentType: 'application/pdf', content: pdf.toString('base64') },
        { filename: 'notes.txt', contentType: 'text/plain; charset=utf-8', content: Buffer.from('héllo\n').toString('base64') },
        { filename: 'empty.bin', contentType: 'application/octet-stream', content: '' },
      ],
    });
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/mixed' });
    expect(parsed.text).toBe('see attached');
    expect(parsed.attachments.map((a) => [a.filename, a.contentType, a.contentDisposition, Buffer.from(a.content).toString('hex')])).toEqual([
      ['Bericht März 2026.pdf', 'application/pdf', 'attachment', pdf.toString('hex')],
      ['notes.txt', 'text/plain', 'attachment', Buffer.from('héllo\n').toString('hex')],
      ['empty.bin', 'application/octet-stream', 'attachment', ''],
    ]);
  });

  it('inline images as multipart/related, referenced by cid', async () => {
    const { parsed, text } = await roundTrip({
      v: 1,
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 'logo',
      text: 'logo',
      html: '<img src="cid:logo@example.com">',
      attachments: [
        { filename: 'logo.png', contentType: 'image/png', content: png.toString('base64'), contentId: 'logo@example.com' },
        { filename: 'terms.pdf', contentType: 'application/pdf', content: pdf.toString('base64') },
      ],
    });
    expect(text).toMatch(/Content-Type: multipart\/related/);
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/mixed' });
    const [logo, terms] = parsed.attachments;
    expect(logo).toMatchObject({
      filename: 'logo.png',
      contentType: 'image/png',
      contentDisposition: 'inline',
      cid: 'logo@example.com',
      related: true,
    });
    expect(Buffer.from(logo!.content).equals(png)).toBe(true);
    expect(terms).toMatchObject({ filename: 'terms.pdf', contentDisposition: 'attachment' });
    expect(terms?.related).toBeFalsy();
    // mailparser resolves the cid: reference into the inline part's bytes
    expect(parsed.html).toBe(`<img src="data:image/png;base64,${png.toString('base64')}">`);
  });

  it('non-ASCII names, subject and header values as RFC 2047 encoded words', async () => {
    const subject = 'Grüße aus Köln — Ihre Bestellung Nr. 42 ist unterwegs 🚚 und wird bald ankommen, versprochen!';
    const { parsed, text } = await roundTrip({
      v: 1,
      from: { name: 'Jörg Müller', address: 'joerg@example.com' },
      to: 'Zoë Ångström <zoe@example.org>',
      cc: ['"Smith, Ann" <ann@example.com>', '山田 <yamada@example.jp>'],
      replyTo: 'Kundenservice Süd <help@example.com>',
      subject,
      text: 'Grüße',
      headers: { 'X-Campaign': 'Frühling 2026', 'List-Unsubscribe': '<mailto:unsub@example.com>' },
    });
    const head = text.slice(0, text.indexOf('\r\n\r\n'));
    expect(head).toMatch(/^[\x00-\x7f]*$/); // every header is 7-bit
    expect(head).toMatch(/=\?UTF-8\?[QB]\?/);
    expect(parsed.subject).toBe(subject);
    expect(addresses(parsed.from)).toEqual([{ name: 'Jörg Müller', address: 'joerg@example.com' }]);
    expect(addresses(parsed.to)).toEqual([{ name: 'Zoë Ångström', address: 'zoe@example.org' }]);
    expect(addresses(parsed.cc)).toEqual([
      { name: 'Smith, Ann', address: 'ann@example.com' },
      { name: '山田', address: 'yamada@example.jp' },
    ]);
    expect(addresses(parsed.replyTo)).toEqual([{ name: 'Kundenservice Süd', address: 'help@example.com' }]);
    expect(parsed.headers.get('x-campaign')).toMatch(/^=\?UTF-8\?[QB]\?/);
    expect(await decodeHeader(parsed.headers.get('x-campaign'))).toBe('Frühling 2026');
    expect(parsed.headers.get('list')).toMatchObject({ unsubscribe: { mail: 'unsub@example.com' } });
    expect(body(parsed.text)).toBe('Grüße');
  });

  it('names with quotes and commas in object form are quoted safely', async () => {
    const { parsed } = await roundTrip({
      v: 1,
      from: { name: 'Ann "the boss", Sales', address: 'ann@example.com' },
      to: 'b@example.com',
      subject: 's',
      text: 't',
    });
    expect(addresses(parsed.from)).toEqual([{ name: 'Ann "the boss", Sales', address: 'ann@example.com' }]);
  });

  it('IDN domains as A-labels in headers and envelope', async () => {
    const { parsed, envelope, text } = await roundTrip({
      v: 1,
      id: 'idn',
      from: 'info@bücher.example',
      to: 'kunde@例え.jp',
      subject: 's',
      text: 't',
    });
    expect(text).toMatch(/^From: info@xn--bcher-kva\.example\r$/m);
    expect(text).toMatch(/^To: kunde@xn--r8jz45g\.jp\r$/m);
    // mailparser shows A-labels as Unicode again
    expect(addresses(parsed.from)).toEqual([{ name: '', address: 'info@bücher.example' }]);
    expect(addresses(parsed.to)).toEqual([{ name: '', address: 'kunde@例え.jp' }]);
    expect(envelope).toEqual({ from: 'info@xn--bcher-kva.example', to: ['kunde@xn--r8jz45g.jp'] });
    expect(parsed.messageId).toBe('<idn@xn--bcher-kva.example>');
  });

  it('long bodies are folded (quoted-printable or base64) so no line exceeds 998 octets', async () => {
    const { parsed, text } = await roundTrip({
      v: 1,
      from: 'a@example.com',
      to: 'b@example.com',
      subject: 's',
      text: `${'x'.repeat(5000)}\n${'ü'.repeat(3000)}`,
      html: `<p>${'y'.repeat(5000)}</p>`,
    });
    expect(parsed.text).toBe(`${'x'.repeat(5000)}\n${'ü'.repeat(3000)}`);
    expect(parsed.html).toBe(`<p>${'y'.repeat(5000)}</p>`);
    expect(text).toMatch(/Content-Transfer-Encoding: (quoted-printable|base64)/);
  });

  it('a header line at the 998-octet limit stays within it', async () => {
    const value = 'v'.repeat(998 - 'X-Long: '.length);
    const { parsed } = await roundTrip({ v: 1, from: 'a@example.com', to: 'b@example.com', subject: 's', text: 't', headers: { 'X-Long': value } });
    expect(parsed.headers.get('x-long')).toBe(value);
  });
});

describe('composeMail: envelope', () => {
  it('is to + cc + bcc, deduplicated on the domain case-insensitively; bcc never in headers', async () => {
    const { parsed, envelope, text } = await roundTrip({
      v: 1,
      from: 'a@example.com',
      to: ['x@example.com', 'Y <y@EXAMPLE.com>'],
      cc: ['x@Example.COM', 'z@example.com'],
      bcc: ['secret@example.net', 'y@example.com', 'Secret@example.net'],
      subject: 's',
      text: 't',
    });
    expect(envelope).toEqual({
      from: 'a@example.com',
      to: ['x@example.com', 'y@example.com', 'z@example.com', 'secret@example.net', 'Secret@example.net'],
    });
    expect(text).not.toMatch(/secret/i);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.headers.has('bcc')).toBe(false);
  });

  it('takes the default sender when the job has none', async () => {
    const { parsed, envelope } = await roundTrip({ v: 1, to: 'b@example.com', subject: 's', text: 't' }, { from: 'Mailer <noreply@example.com>' });
    expect(addresses(parsed.from)).toEqual([{ name: 'Mailer', address: 'noreply@example.com' }]);
    expect(envelope.from).toBe('noreply@example.com');
  });

  it('prefers the job sender to the default', async () => {
    const { envelope } = await roundTrip(
      { v: 1, from: 'own@example.com', to: 'b@example.com', subject: 's', text: 't' },
      { from: 'noreply@example.com' },
    );
    expect(envelope.from).toBe('own@example.com');
  });

  it('refuses a job without a sender when no default is configured', async () => {
    await expect(composeMail({ v: 1, to: 'b@example.com', subject: 's', text: 't' })).rejects.toEqual(
      new InvalidJobError([{ path: 'from', message: 'is missing and no default sender is configured' }]),
    );
  });

  it('refuses an invalid default sender', async () => {
    await expect(composeMail({ v: 1, to: 'b@example.com', subject: 's', text: 't' }, { from: 'a@example.com, b@example.com' })).rejects.toThrow(
      /default sender .*several addresses/,
    );
  });

  it('refuses an invalid job given as input', async () => {
    await expect(composeMail({ v: 1, to: 'nobody', subject: 's', text: 't' } as never)).rejects.toBeInstanceOf(InvalidJobError);
  });
});

describe('composeMail: Message-ID and Date', () => {
  const job = { v: 1, from: 'a@shop.example', to: 'b@example.com', subject: 's', text: 't' } as const;

  it('keeps the Message-ID of a job with an id across composes (a retry)', async () => {
    const first = await composeMail({ ...job, id: 'job-7' }, { date });
    const second = await composeMail({ ...job, id: 'job-7' }, { date: new Date() });
    expect(first.messageId).toBe('<job-7@shop.example>');
    expect(second.messageId).toBe(first.messageId);
  });

  it('hashes an id that cannot stand in a Message-ID, still stably', async () => {
    const odd = { ...job, id: 'a<b>@c"d(e)' };
    const first = await composeMail(odd, { date });
    expect(first.messageId).toMatch(/^<job\.[0-9a-f]{32}@shop\.example>$/);
    expect((await composeMail(odd, { date })).messageId).toBe(first.messageId);
    expect((await composeMail({ ...job, id: 'a<b>@c"d(f)' }, { date })).messageId).not.toBe(first.messageId);
    expect((await simpleParser(Buffer.from(first.message))).messageId).toBe(first.messageId);
  });

  it('gives a job without id a fresh Message-ID each time', async () => {
    const a = await composeMail(job, { date });
    const b = await composeMail(job, { date });
    expect(a.messageId).toMatch(/^<[0-9a-f-]{36}@shop\.example>$/);
    expect(a.messageId).not.toBe(b.messageId);
  });

  it('writes the Date header, the current time by default', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const parsed = await simpleParser(Buffer.from((await composeMail(job)).message));
    expect(parsed.date!.getTime()).toBeGreaterThanOrEqual(before);
    expect(parsed.date!.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe('composeMail: raw jobs', () => {
  it('passes the message through with its explicit envelope, CRLF line ends', async () => {
    const message = 'From: Äpfel <a@example.com>\nTo: b@example.com\nSubject: raw\nMessage-ID: <own@example.com>\n\nbody ü\n';
    const { envelope, message: bytes } = await composeMail({
      v: 1,
      raw: { envelope: { from: 'bounce@bücher.example', to: ['b@example.com', 'hidden@example.com'] }, message },
    });
    expect(envelope).toEqual({ from: 'bounce@xn--bcher-kva.example', to: ['b@example.com', 'hidden@example.com'] });
    expect(Buffer.from(bytes).toString('utf8')).toBe(message.replace(/\n/g, '\r\n'));
    const parsed = await simpleParser(Buffer.from(bytes));
    expect(parsed.messageId).toBe('<own@example.com>');
    expect(parsed.text).toBe('body ü\n');
  });

  it('parses anything that did not come from parseMailJob, even an object shaped like a parsed job', async () => {
    const forged = { kind: 'raw', v: 1, envelope: { from: 'a@example.com', to: ['b@example.com\r\nRCPT TO:<x@evil.example>'] }, message: 'x' };
    const error = await composeMail(forged as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobError);
    // Unknown fields are named in the message, not in the path (paths are logged: item 9 of issue 13).
    expect((error as InvalidJobError).issues.map((i) => i.path)).toEqual(['to', 'subject', '', '', '', '']);
    expect((error as InvalidJobError).issues.slice(2, 5).map((i) => i.message.split(' ')[0])).toEqual(['"kind"', '"envelope"', '"message"']);
  });

  it('accepts a parsed job too', async () => {
    const parsed = parseMailJob({ v: 1, raw: { envelope: { from: '', to: ['b@example.com'] }, message: 'From: <>\r\n\r\nx' } });
    const { envelope, message } = await composeMail(parsed);
    expect(envelope).toEqual({ from: '', to: ['b@example.com'] });
    expect(message.byteLength).toBe('From: <>\r\n\r\nx'.length);
  });
});

describe('composeMail: size', () => {
  it('is known before sending: message.byteLength counts octets, not characters', async () => {
    const { message } = await composeMail({
      v: 1,
      raw: { envelope: { from: 'a@example.com', to: ['b@example.com'] }, message: 'From: a@example.com\r\n\r\nüüü' },
    });
    expect(message.byteLength).toBe(Buffer.byteLength('From: a@example.com\r\n\r\nüüü'));
  });
});
