/**
 * The client against Postfix from Debian (STARTTLS required, AUTH through Dovecot, CHUNKING), and
 * against Dovecot's LMTP: what lands in the mailbox is read back from the Maildirs.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthenticationError, RecipientsRefusedError, SmtpClient, type TranscriptEntry } from '../../lib/smtp/index.js';
import { BDAT_CHUNK_BYTES } from '../../lib/smtp/StreamWriter.js';
import { rejection } from './rejection.js';
import { DEFERRED_RECIPIENT, LMTP_OVER_QUOTA_RECIPIENT, REFUSED_RECIPIENT, startPostfix, type PostfixServer } from '../support/postfix.js';

const message = (n: number, extra = '') =>
  `From: sender@example.test\r\nTo: rcpt@example.test\r\nSubject: postfix ${n}\r\nMessage-ID: <m${n}@client.test>\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\n.leading dot line ${n}\r\nGrüße ${extra}\r\n`;

/** Maildir keeps LF line ends and Postfix adds trace headers: compare the part the client sent. */
const sentPart = (raw: Buffer) => raw.toString('utf8').slice(raw.toString('utf8').indexOf('From: sender@example.test'));

describe.each([
  { chunking: true, name: 'with CHUNKING (BDAT)' },
  { chunking: false, name: 'without CHUNKING (DATA)' },
])('SmtpClient with Postfix $name', ({ chunking }) => {
  let postfix: PostfixServer;
  beforeAll(async () => {
    postfix = await startPostfix({ chunking });
  });
  afterAll(async () => {
    await (postfix as PostfixServer | undefined)?.stop();
  });

  it('delivers a batch over STARTTLS + AUTH, with per-recipient refusals, and the mailbox holds exactly it', async () => {
    await postfix.clearMailbox();
    const transcript: TranscriptEntry[] = [];
    const client = await SmtpClient.connect({
      host: postfix.host,
      port: postfix.port,
      tls: { ca: postfix.ca },
      clientName: 'client.test',
      auth: { user: postfix.user, pass: postfix.pass },
      transcript: (e) => transcript.push(e),
    });
    expect(client.capabilities).toMatchObject({
      chunking,
      pipelining: true,
      eightBitMime: true,
      smtpUtf8: true,
      size: postfix.sizeLimit,
      startTls: false,
    });

    const outcomes = await Promise.allSettled([
      client.send({ from: 'sender@example.test', to: ['one@example.test', REFUSED_RECIPIENT] }, message(1)),
      client.send({ from: 'sender@example.test', to: [REFUSED_RECIPIENT, DEFERRED_RECIPIENT] }, message(2)),
      client.send({ from: 'sender@example.test', to: ['two@example.test', DEFERRED_RECIPIENT, 'three@example.test'] }, message(3)),
      client.send({ from: 'sender@example.test', to: ['four@example.test'] }, message(4, 'x'.repeat(900))),
    ]);
    await client.quit();

    expect(outcomes[0]).toMatchObject({
      status: 'fulfilled',
      value: { accepted: ['one@example.test'], rejected: [{ recipient: REFUSED_RECIPIENT, code: 550, enhancedCode: '5.1.1', transient: false }] },
    });
    expect(outcomes[1]).toMatchObject({ status: 'rejected' });
    const refused: unknown = (outcomes[1] as PromiseRejectedResult).reason;
    expect(refused).toBeInstanceOf(RecipientsRefusedError);
    expect(refused).toMatchObject({ transient: true, rejected: [{ code: 550 }, { code: 450 }] });
    expect(outcomes[2]).toMatchObject({
      status: 'fulfilled',
      value: { accepted: ['two@example.test', 'three@example.test'], rejected: [{ recipient: DEFERRED_RECIPIENT, code: 450, transient: true }] },
    });
    expect(outcomes[3]).toMatchObject({ status: 'fulfilled', value: { accepted: ['four@example.test'] } });

    const sent = transcript.filter((e) => e.dir === 'C').map((e) => e.line);
    expect(sent.filter((line) => line.startsWith('BDAT')).length).toBe(chunking ? 4 : 0);
    expect(sent.filter((line) => line === 'DATA').length).toBe(chunking ? 0 : 4);

    const delivered = await postfix.waitForMessages(4);
    const byRecipient = Object.fromEntries(delivered.map((m) => [m.recipient, sentPart(m.raw)]));
    const lf = (text: string) => text.replace(/\r\n/g, '\n');
    expect(byRecipient).toEqual({
      'one@example.test': lf(message(1)),
      'two@example.test': lf(message(3)),
      'three@example.test': lf(message(3)),
      'four@example.test': lf(message(4, 'x'.repeat(900))),
    });
  });

  it('delivers a 3.5 MB streamed message intact (sha256): dot lines, CR and LF split across chunks, bare LFs, 8-bit', async () => {
    await postfix.clearMailbox();
    const header =
      'From: sender@example.test\r\nTo: stream@example.test\r\nSubject: streamed\r\nMessage-ID: <stream@client.test>\r\nDate: Wed, 25 Nov 2026 12:00:00 +0000\r\n\r\n';
    const lines = Array.from(
      { length: 75_000 },
      (_, n) => `${n % 3 === 0 ? '.' : ''}line ${n} Grüße ${'z'.repeat(n % 50)}${n % 2 === 0 ? '\r\n' : '\n'}`,
    );
    const source = Buffer.from(header + lines.join(''), 'utf8');
    // Cut after every CR of a CRLF that falls near a 4093-octet step, so that LF starts the next chunk; elsewhere at that step.
    const chunks: Buffer[] = [];
    for (let start = 0; start < source.length;) {
      let end = Math.min(start + 4093, source.length);
      const cr = source.indexOf(13, end);
      if (cr !== -1 && cr - end < 100 && chunks.length % 2 === 0) end = cr + 1;
      chunks.push(source.subarray(start, end));
      start = end;
    }
    expect(chunks.filter((chunk, i) => chunk.at(-1) === 13 && chunks[i + 1]?.[0] === 10).length).toBeGreaterThan(100);
    const transcript: TranscriptEntry[] = [];
    const client = await SmtpClient.connect({
      host: postfix.host,
      port: postfix.port,
      tls: { ca: postfix.ca },
      auth: { user: postfix.user, pass: postfix.pass },
      transcript: (e) => transcript.push(e),
    });
    const result = await client.send(
      { from: 'sender@example.test', to: ['stream@example.test'] },
      { size: source.length, chunks: () => Readable.from(chunks) },
    );
    await client.quit();

    expect(result.accepted).toEqual(['stream@example.test']);
    const sent = transcript.filter((e) => e.dir === 'C' && /^(BDAT|DATA|MAIL)/.test(e.line)).map((e) => e.line);
    expect(sent[0]).toBe(`MAIL FROM:<sender@example.test> SIZE=${source.length} BODY=8BITMIME`);
    const crlfSize = Buffer.byteLength(source.toString('utf8').replace(/\r\n|\r|\n/g, '\r\n'));
    if (chunking) {
      // 1 MiB and the rest of the 4 KiB chunk that passed it, then the rest with LAST.
      const sizes = sent.slice(1).map((line) => Number(/^BDAT (\d+)/.exec(line)?.[1]));
      expect(sent.slice(1).map((line) => line.replace(/\d+/, 'n'))).toEqual(['BDAT n', 'BDAT n', 'BDAT n', 'BDAT n LAST']);
      for (const size of sizes.slice(0, -1)) expect(size - BDAT_CHUNK_BYTES).toBeGreaterThanOrEqual(0);
      for (const size of sizes.slice(0, -1)) expect(size - BDAT_CHUNK_BYTES).toBeLessThan(8192);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(crlfSize);
    } else {
      expect(sent.slice(1)).toEqual(['DATA']);
    }
    const [delivered] = await postfix.waitForMessages(1, 30_000);
    // The Maildir keeps LF line ends: the source with every line end made LF.
    const expected = source.toString('utf8').replace(/\r\n|\r|\n/g, '\n');
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(sha256(sentPart(delivered!.raw))).toBe(sha256(expected));
  });

  it('refuses a wrong password with AuthenticationError 535', async () => {
    const error = await rejection(
      SmtpClient.connect({ host: postfix.host, port: postfix.port, tls: { ca: postfix.ca }, auth: { user: postfix.user, pass: 'not-the-password' } }),
      AuthenticationError,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ code: 535, transient: false });
  });

  it('pipelines ten messages in at most setup + N + 1 round trips (BDAT: far fewer)', async () => {
    await postfix.clearMailbox();
    const client = await SmtpClient.connect({
      host: postfix.host,
      port: postfix.port,
      tls: { ca: postfix.ca },
      auth: { user: postfix.user, pass: postfix.pass },
    });
    const setup = client.stats.roundTrips;
    await Promise.all(Array.from({ length: 10 }, (_, i) => client.send({ from: 'sender@example.test', to: [`bulk${i}@example.test`] }, message(i))));
    const spent = client.stats.roundTrips - setup;
    await client.quit();
    if (chunking) expect(spent).toBe(1);
    else expect(spent).toBe(11);
    const delivered = await postfix.waitForMessages(10);
    expect(delivered.map((m) => m.recipient).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `bulk${i}@example.test`).sort());
  });

  // One Postfix instance carries Dovecot's LMTP; testing it once is enough.
  if (chunking)
    it('delivers through Dovecot LMTP over its unix socket, one reply per recipient', async () => {
      const client = await SmtpClient.connect({ host: postfix.lmtpSocket, protocol: 'lmtp', security: 'none', clientName: 'client.test' });
      const result = await client.send(
        { from: 'sender@example.test', to: ['lmtp1@example.test', LMTP_OVER_QUOTA_RECIPIENT, 'lmtp2@example.test'] },
        message(9),
      );
      await client.quit();
      expect(result.accepted).toEqual(['lmtp1@example.test', 'lmtp2@example.test']);
      expect(result.rejected).toHaveLength(1);
      expect(result.rejected[0]).toMatchObject({ recipient: LMTP_OVER_QUOTA_RECIPIENT });
      const stored = await postfix.lmtpMailbox.read();
      expect(stored.map((m) => m.recipient).sort()).toEqual(['lmtp1@example.test', 'lmtp2@example.test']);
    });
});
