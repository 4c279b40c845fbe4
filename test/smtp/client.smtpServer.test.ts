/**
 * The client against a real SMTP server (`smtp-server`, in-process): STARTTLS, AUTH, per-recipient
 * refusals, SIZE, SMTPUTF8, 8BITMIME, certificates, LMTP, and the exact commands written.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthenticationError,
  ConnectionError,
  MessageTooLargeError,
  ProtocolError,
  RecipientsRefusedError,
  SmtpClient,
  SmtpError,
  TlsRequiredError,
  type SmtpConnectOptions,
  type TranscriptEntry,
} from '../../lib/smtp/index.js';
import { testCertificates } from '../support/certificates.js';
import { rejection } from './rejection.js';
import { startSmtpServer, type SmtpServerHandle, type SmtpServerOptions } from '../support/smtpServer.js';

let server: SmtpServerHandle | undefined;
let client: SmtpClient | undefined;

afterEach(async () => {
  client?.close();
  client = undefined;
  await server?.stop();
  server = undefined;
});

async function start(options: SmtpServerOptions = {}, connect: Partial<SmtpConnectOptions> = {}) {
  server = await startSmtpServer(options);
  const transcript: TranscriptEntry[] = [];
  client = await SmtpClient.connect({
    host: server.host,
    port: server.port,
    clientName: 'client.test',
    tls: { ca: server.ca },
    auth: { user: server.user, pass: server.pass },
    transcript: (entry) => transcript.push(entry),
    ...connect,
  });
  return { server, client, transcript, sent: () => transcript.filter((e) => e.dir === 'C').map((e) => e.line) };
}

const message = (subject: string, body = 'Hello.') => `From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

describe('SmtpClient with smtp-server', () => {
  it('secures with STARTTLS, authenticates, and pipelines five messages in N + 1 round trips', async () => {
    const { server, client, sent } = await start();
    expect(client.capabilities).toMatchObject({ pipelining: true, chunking: false, startTls: false, auth: ['PLAIN', 'LOGIN'] });
    const setup = { ...client.stats };
    expect(setup.roundTrips).toBe(5); // greeting, EHLO, STARTTLS, EHLO, AUTH

    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => client.send({ from: 'a@example.com', to: [`r${n}@example.com`] }, message(`m${n}`))),
    );

    expect(results.map((r) => r.accepted)).toEqual([1, 2, 3, 4, 5].map((n) => [`r${n}@example.com`]));
    expect(results.every((r) => r.reply.code === 250 && r.rejected.length === 0)).toBe(true);
    expect(client.stats.writes - setup.writes).toBe(6);
    expect(client.stats.roundTrips - setup.roundTrips).toBe(6);
    expect(sent()).toEqual([
      'EHLO client.test',
      'STARTTLS',
      'EHLO client.test',
      'AUTH PLAIN [redacted]',
      'MAIL FROM:<a@example.com>',
      'RCPT TO:<r1@example.com>',
      'DATA',
      ...[1, 2, 3, 4].flatMap((n) => [
        `[${message(`m${n}`).length} octets of message content]`,
        '.',
        'MAIL FROM:<a@example.com>',
        `RCPT TO:<r${n + 1}@example.com>`,
        'DATA',
      ]),
      `[${message('m5').length} octets of message content]`,
      '.',
    ]);
    expect(server.messages.map((m) => [m.from, m.to, m.raw.toString(), m.secure, m.user])).toEqual(
      [1, 2, 3, 4, 5].map((n) => ['a@example.com', [`r${n}@example.com`], message(`m${n}`), true, server.user]),
    );
    await client.quit();
    expect(client.closed).toBe(true);
  });

  it('authenticates with LOGIN and never shows the credentials', async () => {
    const { server, transcript } = await start({ authMethods: ['LOGIN'] });
    expect(server.authAttempts).toEqual([{ method: 'LOGIN', user: server.user, ok: true }]);
    const text = JSON.stringify(transcript);
    expect(transcript.filter((e) => e.dir === 'C').map((e) => e.line)).toEqual([
      'EHLO client.test',
      'STARTTLS',
      'EHLO client.test',
      'AUTH LOGIN',
      '[redacted]',
      '[redacted]',
    ]);
    for (const secret of [server.pass, server.user, Buffer.from(server.pass).toString('base64'), Buffer.from(server.user).toString('base64')]) {
      expect(text).not.toContain(secret);
    }
  });

  it('fails a wrong password with AuthenticationError 535, permanent, without the password in it', async () => {
    server = await startSmtpServer();
    const error = await rejection(
      SmtpClient.connect({ host: server.host, port: server.port, tls: { ca: server.ca }, auth: { user: server.user, pass: 'wrong-password-123' } }),
      SmtpError,
    );
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ phase: 'auth', code: 535, transient: false, ambiguous: false });
    expect(`${error.message} ${error.stack}`).not.toContain('wrong-password-123');
    expect(server.authAttempts).toEqual([{ method: 'PLAIN', user: server.user, ok: false }]);
  });

  it('refuses an untrusted certificate before sending any credential', async () => {
    server = await startSmtpServer();
    const { otherCa } = await testCertificates();
    const error = await rejection(
      SmtpClient.connect({ host: server.host, port: server.port, tls: { ca: otherCa }, auth: { user: server.user, pass: server.pass } }),
      SmtpError,
    );
    expect(error).toBeInstanceOf(TlsRequiredError);
    expect(error).toMatchObject({ phase: 'starttls', transient: false });
    expect(error.message).toMatch(/TLS handshake failed: .*certificate/i);
    expect(server.authAttempts).toEqual([]);
  });

  it('refuses a certificate for another name', async () => {
    server = await startSmtpServer();
    const error = await rejection(
      SmtpClient.connect({
        host: server.host,
        port: server.port,
        tls: { ca: server.ca, servername: 'mail.other.test' },
        auth: { user: server.user, pass: server.pass },
      }),
      SmtpError,
    );
    expect(error).toBeInstanceOf(TlsRequiredError);
    expect(error.message).toMatch(/mail\.other\.test/);
  });

  it('fails security "starttls" when the server has no STARTTLS, and goes on in clear under "opportunistic"', async () => {
    server = await startSmtpServer({ disableSTARTTLS: true, auth: false });
    const error = await rejection(SmtpClient.connect({ host: server.host, port: server.port }), SmtpError);
    expect(error).toBeInstanceOf(TlsRequiredError);
    expect(error.message).toContain('does not offer STARTTLS');
    client = await SmtpClient.connect({ host: server.host, port: server.port, security: 'opportunistic' });
    await client.send({ from: 'a@example.com', to: ['b@example.com'] }, message('clear'));
    expect(server.messages.map((m) => m.secure)).toEqual([false]);
  });

  it('reports refused recipients one by one and refuses when nobody took it, keeping the session usable', async () => {
    const { server, client, sent } = await start({
      onRcptTo: (to) =>
        to.startsWith('gone') ? { code: 550, message: 'No such user' } : to.startsWith('full') ? { code: 452, message: 'Mailbox full' } : undefined,
    });
    const mixed = client.send({ from: 'a@example.com', to: ['gone@example.com', 'ok@example.com', 'full@example.com'] }, message('mixed'));
    const none = client.send({ from: 'a@example.com', to: ['gone@example.com', 'full@example.com'] }, message('none'));
    const after = client.send({ from: 'a@example.com', to: ['ok2@example.com'] }, message('after'));

    await expect(mixed).resolves.toEqual({
      accepted: ['ok@example.com'],
      rejected: [
        { recipient: 'gone@example.com', code: 550, enhancedCode: '5.1.1', message: 'No such user', transient: false },
        { recipient: 'full@example.com', code: 452, enhancedCode: '4.2.2', message: 'Mailbox full', transient: true },
      ],
      reply: { code: 250, enhancedCode: '2.6.0', lines: ['OK: message queued'] },
    });
    const error = await rejection(none, RecipientsRefusedError);
    expect(error).toBeInstanceOf(RecipientsRefusedError);
    expect(error).toMatchObject({ phase: 'rcpt', code: 550, transient: true, ambiguous: false });
    expect(error.rejected.map((r) => [r.recipient, r.code])).toEqual([
      ['gone@example.com', 550],
      ['full@example.com', 452],
    ]);
    await expect(after).resolves.toMatchObject({ accepted: ['ok2@example.com'] });
    expect(sent().slice(4)).toContain('RSET');
    expect(server.messages.map((m) => m.to)).toEqual([['ok@example.com'], ['ok2@example.com']]);
  });

  it('checks SIZE before MAIL and announces the size in MAIL', async () => {
    const { server, client, sent } = await start({ size: 2000 });
    expect(client.capabilities.size).toBe(2000);
    const big = await rejection(
      client.send(
        { from: 'a@example.com', to: ['b@example.com'] },
        message('big', 'x'.repeat(900) + '\r\n' + 'y'.repeat(900) + '\r\n' + 'z'.repeat(900)),
      ),
      SmtpError,
    );
    expect(big).toBeInstanceOf(MessageTooLargeError);
    expect(big).toMatchObject({ phase: 'mail', transient: false });
    expect(sent().some((line) => line.startsWith('MAIL'))).toBe(false);
    const small = message('small');
    await client.send({ from: 'a@example.com', to: ['b@example.com'] }, small);
    expect(sent()).toContain(`MAIL FROM:<a@example.com> SIZE=${small.length}`);
    expect(server.messages[0]!.mailArgs).toEqual({ SIZE: String(small.length) });
  });

  it('asks for SMTPUTF8 only when an address needs it, and for BODY=8BITMIME with 8-bit content', async () => {
    const { server, client, sent } = await start();
    await client.send({ from: 'a@example.com', to: ['b@example.com'] }, message('ascii'));
    await client.send({ from: 'jörg@bücher.example', to: ['b@example.com'] }, message('utf8 envelope'));
    await client.send({ from: 'a@example.com', to: ['b@example.com'] }, message('Grüße', 'Schöne Grüße'));
    const mails = sent().filter((line) => line.startsWith('MAIL'));
    expect(mails).toEqual(['MAIL FROM:<a@example.com>', 'MAIL FROM:<jörg@bücher.example> SMTPUTF8', 'MAIL FROM:<a@example.com> BODY=8BITMIME']);
    expect(server.messages.map((m) => [m.from, m.utf8 ?? false, m.body8bit ?? null])).toEqual([
      ['a@example.com', false, null],
      ['jörg@bücher.example', true, null],
      ['a@example.com', false, '8BITMIME'],
    ]);
    expect(server.messages[2]!.raw.toString('utf8')).toContain('Schöne Grüße');
  });

  it('refuses a non-ASCII address up front when the server lacks SMTPUTF8, and 8-bit content without 8BITMIME', async () => {
    const { client, sent } = await start({ hideSMTPUTF8: true, hide8BITMIME: true });
    const before = sent().length;
    const utf8 = await rejection(client.send({ from: 'a@example.com', to: ['jörg@example.com'] }, message('x')), SmtpError);
    expect(utf8).toBeInstanceOf(ProtocolError);
    expect(utf8).toMatchObject({ phase: 'mail', transient: false, message: expect.stringContaining('SMTPUTF8') });
    const eightBit = await rejection(client.send({ from: 'a@example.com', to: ['b@example.com'] }, message('x', 'Grüße')), SmtpError);
    expect(eightBit).toMatchObject({ name: 'ProtocolError', phase: 'data', transient: false, message: expect.stringContaining('8BITMIME') });
    expect(sent().length).toBe(before);
  });

  it('normalises line ends and dot-stuffs, so the server stores exactly the message', async () => {
    const { server, client } = await start();
    await client.send({ from: 'a@example.com', to: ['b@example.com'] }, 'Subject: dots\n\n.\n..two\n.leading\nend');
    expect(server.messages[0]!.raw.toString()).toBe('Subject: dots\r\n\r\n.\r\n..two\r\n.leading\r\nend\r\n');
  });

  it('refuses CR/LF in addresses before writing anything', async () => {
    const { server, client, sent } = await start();
    const before = sent().length;
    const error = await rejection(
      client.send({ from: 'a@example.com', to: ['b@example.com>\r\nRCPT TO:<evil@example.com'] }, message('x')),
      SmtpError,
    );
    expect(error).toBeInstanceOf(ProtocolError);
    await expect(client.command('NOOP\r\nRSET')).rejects.toBeInstanceOf(ProtocolError);
    expect(sent().length).toBe(before);
    expect(server.messages).toEqual([]);
  });

  it('answers VRFY, NOOP, RSET and raw commands with whatever reply came', async () => {
    const { client } = await start();
    await expect(client.noop()).resolves.toMatchObject({ code: 250 });
    await expect(client.reset()).resolves.toMatchObject({ code: 250 });
    const vrfy = await client.verify('b@example.com');
    expect(vrfy.code).toBeGreaterThanOrEqual(250);
    const unknown = await client.command('XFOO bar');
    expect(unknown.code).toBeGreaterThanOrEqual(500);
  });

  it('fails queued sends after close() and refuses new ones', async () => {
    const { client } = await start();
    const pending = client.send({ from: 'a@example.com', to: ['b@example.com'] }, message('x'));
    client.close();
    await expect(pending).rejects.toBeInstanceOf(ConnectionError);
    await expect(client.send({ from: 'a@example.com', to: ['b@example.com'] }, message('y'))).rejects.toMatchObject({
      name: 'ConnectionError',
      transient: true,
    });
  });

  it('speaks LMTP: one reply per recipient after the data', async () => {
    const { server, client, sent } = await start(
      {
        lmtp: true,
        onData: () => [
          { code: 250, message: 'delivered' },
          { code: 452, message: 'over quota' },
        ],
      },
      { protocol: 'lmtp' },
    );
    expect(sent()[0]).toBe('LHLO client.test');
    const result = await client.send({ from: 'a@example.com', to: ['one@example.com', 'two@example.com'] }, message('lmtp'));
    expect(result.accepted).toEqual(['one@example.com']);
    expect(result.rejected).toEqual([{ recipient: 'two@example.com', code: 452, enhancedCode: '4.2.2', message: 'over quota', transient: true }]);
    expect(result.reply.code).toBe(452);
    expect(server.messages).toHaveLength(1);
  });

  it('connects with implicit TLS (port 465 style) and verifies the certificate', async () => {
    const { ca, key, cert } = await testCertificates();
    const received: string[] = [];
    const implicit = new SMTPServer({
      secure: true,
      key,
      cert,
      authOptional: true,
      logger: false,
      onData(stream, session, callback) {
        const parts: Buffer[] = [];
        stream.on('data', (part: Buffer) => parts.push(part));
        stream.on('end', () => {
          received.push(`${session.secure} ${Buffer.concat(parts).toString()}`);
          callback();
        });
      },
    });
    implicit.on('error', () => undefined); // the refused handshake below is reported here
    await new Promise<void>((resolve) => implicit.listen(0, '127.0.0.1', resolve));
    try {
      const port = (implicit.server.address() as AddressInfo).port;
      const transcript: TranscriptEntry[] = [];
      client = await SmtpClient.connect({
        host: `localhost:${port}`,
        security: 'implicit',
        tls: { ca },
        clientName: 'client.test',
        transcript: (e) => transcript.push(e),
      });
      await client.send({ from: 'a@example.com', to: ['b@example.com'] }, message('implicit'));
      expect(received).toEqual([`true ${message('implicit')}`]);
      expect(
        transcript
          .filter((e) => e.dir === 'C')
          .map((e) => e.line)
          .slice(0, 2),
      ).toEqual(['EHLO client.test', 'MAIL FROM:<a@example.com>']);
      await client.quit();
      const { otherCa } = await testCertificates();
      await expect(SmtpClient.connect({ host: `localhost:${port}`, security: 'implicit', tls: { ca: otherCa } })).rejects.toMatchObject({
        name: 'TlsRequiredError',
        phase: 'connect',
        transient: false,
      });
    } finally {
      await new Promise<void>((resolve) => implicit.close(() => resolve()));
    }
  });
});
