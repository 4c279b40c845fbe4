import net from 'node:net';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startSmtpServer, type SmtpServerHandle } from './smtpServer.js';

// The fixture checked with nodemailer as an independent client (our own client is tested elsewhere).

const RAW = 'From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nline one\r\n.dot line\r\n';

let server: SmtpServerHandle | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function transportTo(handle: SmtpServerHandle, pass = handle.pass) {
  return nodemailer.createTransport({
    host: handle.host,
    port: handle.port,
    secure: false,
    requireTLS: true,
    tls: { ca: handle.ca, servername: 'localhost' },
    auth: { user: handle.user, pass },
  });
}

/** Reads replies from a raw socket until one ends with a final line (`ddd ` ). */
function readReply(socket: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (/(^|\r\n)\d{3} [^\r\n]*\r\n$/.test(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

describe('startSmtpServer', () => {
  it('records the envelope, raw content, TLS and user of a message sent over STARTTLS + AUTH', async () => {
    server = await startSmtpServer({
      onRcptTo: (to) => (to === 'gone@example.com' ? { code: 550, message: 'No such user' } : undefined),
    });
    const info = await transportTo(server).sendMail({
      envelope: { from: 'a@example.com', to: ['b@example.com', 'gone@example.com'] },
      raw: RAW,
    });

    expect(info.accepted).toEqual(['b@example.com']);
    expect(info.rejected).toEqual(['gone@example.com']);
    expect(server.messages).toHaveLength(1);
    const [message] = server.messages;
    expect(message?.from).toBe('a@example.com');
    expect(message?.to).toEqual(['b@example.com']);
    expect(message?.raw.toString()).toBe(RAW);
    expect(message?.secure).toBe(true);
    expect(message?.user).toBe(server.user);
    expect(server.authAttempts).toEqual([{ method: 'PLAIN', user: server.user, ok: true }]);
  });

  it('refuses a wrong password with 535 and records the attempt without the password', async () => {
    server = await startSmtpServer();
    await expect(transportTo(server, 'wrong').verify()).rejects.toMatchObject({ responseCode: 535 });
    expect(server.authAttempts).toEqual([{ method: 'PLAIN', user: server.user, ok: false }]);
  });

  it('lets onData override the reply after the data and does not record a refused message', async () => {
    server = await startSmtpServer({ onData: () => ({ code: 554, message: 'Spam' }) });
    await expect(transportTo(server).sendMail({ envelope: { from: 'a@example.com', to: ['b@example.com'] }, raw: RAW })).rejects.toMatchObject({
      responseCode: 554,
    });
    expect(server.messages).toEqual([]);
  });

  it('announces SIZE and the switches, and refuses MAIL before STARTTLS', async () => {
    server = await startSmtpServer({ size: 1000, hidePIPELINING: true, hideSMTPUTF8: true, auth: false });
    const socket = net.connect(server.port, server.host);
    expect(await readReply(socket)).toMatch(/^220 /);
    socket.write('EHLO client.test\r\n');
    const ehlo = await readReply(socket);
    expect(ehlo).toContain('SIZE 1000');
    expect(ehlo).toContain('STARTTLS');
    expect(ehlo).toContain('8BITMIME');
    expect(ehlo).not.toContain('PIPELINING');
    expect(ehlo).not.toContain('SMTPUTF8');
    expect(ehlo).not.toContain('AUTH');
    socket.write('MAIL FROM:<a@example.com>\r\n');
    expect(await readReply(socket)).toMatch(/^530 /);
    socket.destroy();
  });

  it('records MAIL parameters, and in LMTP gives the per-recipient replies onData returns', async () => {
    server = await startSmtpServer({
      lmtp: true,
      requireTls: false,
      auth: false,
      onData: () => [
        { code: 250, message: 'first ok' },
        { code: 452, message: 'second over quota' },
      ],
    });
    const socket = net.connect(server.port, server.host);
    expect(await readReply(socket)).toMatch(/^220 .*LMTP/);
    socket.write('LHLO client.test\r\n');
    await readReply(socket);
    socket.write('MAIL FROM:<a@example.com> BODY=8BITMIME SMTPUTF8\r\n');
    expect(await readReply(socket)).toMatch(/^250 /);
    for (const to of ['b@example.com', 'c@example.com']) {
      socket.write(`RCPT TO:<${to}>\r\n`);
      expect(await readReply(socket)).toMatch(/^250 /);
    }
    socket.write('DATA\r\n');
    expect(await readReply(socket)).toMatch(/^354 /);
    socket.write('Subject: x\r\n\r\nbody\r\n.\r\n');
    let replies = await readReply(socket);
    if (!replies.includes('452')) replies += await readReply(socket);
    expect(replies).toMatch(/^250 [\d.]+ ?first ok\r\n452 [\d.]+ ?second over quota\r\n$/);
    socket.destroy();

    expect(server.messages).toHaveLength(1);
    expect(server.messages[0]).toMatchObject({
      from: 'a@example.com',
      to: ['b@example.com', 'c@example.com'],
      secure: false,
      utf8: true,
      body8bit: '8BITMIME',
      mailArgs: { BODY: '8BITMIME', SMTPUTF8: true },
    });
    expect(server.messages[0]?.raw.toString()).toBe('Subject: x\r\n\r\nbody\r\n');
  });

  it('closes the connection after a failed AUTH when closeOnAuthFailure is set', async () => {
    server = await startSmtpServer({ requireTls: false, closeOnAuthFailure: true });
    const socket = net.connect(server.port, server.host);
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await readReply(socket);
    socket.write('EHLO client.test\r\n');
    await readReply(socket);
    socket.write(`AUTH PLAIN ${Buffer.from('\0tester\0wrong').toString('base64')}\r\n`);
    expect(await readReply(socket)).toMatch(/^535 /);
    await closed;
    expect(server.authAttempts).toEqual([{ method: 'PLAIN', user: 'tester', ok: false }]);
  });
});
