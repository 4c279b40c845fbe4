import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFERRED_RECIPIENT, LMTP_OVER_QUOTA_RECIPIENT, REFUSED_RECIPIENT, startPostfix, type PostfixServer } from './postfix.js';

/** The reply lines a raw SMTP/LMTP session read, for the capability and LMTP checks. */
class LineReader {
  readonly #socket: Socket;
  #buffer = '';
  #waiting: (() => void) | undefined;
  #closed = false;

  constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString('utf8');
      this.#waiting?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#waiting?.();
    });
  }

  /** Reads one whole reply (all its continuation lines) and returns its lines. */
  async reply(): Promise<string[]> {
    for (;;) {
      const lines = this.#buffer.split('\r\n');
      const last = lines.findIndex((line) => /^\d{3} /.test(line));
      if (last !== -1) {
        this.#buffer = lines.slice(last + 1).join('\r\n');
        return lines.slice(0, last + 1);
      }
      if (this.#closed) throw new Error(`connection closed while waiting for a reply; had: ${this.#buffer}`);
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  async command(line: string): Promise<string[]> {
    this.#socket.write(`${line}\r\n`);
    return this.reply();
  }
}

async function connected(socket: Socket, event: 'connect' | 'secureConnect'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    socket.once(event, resolve);
    socket.once('error', reject);
  });
}

/** EHLO keywords before and after STARTTLS, read over a raw socket. */
async function capabilities(server: PostfixServer): Promise<{ plain: string[]; secure: string[] }> {
  const tcp = connectTcp({ host: server.host, port: server.port });
  await connected(tcp, 'connect');
  const plainReader = new LineReader(tcp);
  expect((await plainReader.reply())[0]).toMatch(/^220 /);
  const plain = (await plainReader.command('EHLO client.example.test')).slice(1).map((line) => line.slice(4));
  expect((await plainReader.command('STARTTLS'))[0]).toMatch(/^220 /);
  tcp.removeAllListeners('data');
  tcp.removeAllListeners('close');
  const tls = connectTls({ socket: tcp, ca: server.ca, servername: 'localhost' });
  await connected(tls, 'secureConnect');
  const reader = new LineReader(tls);
  const secure = (await reader.command('EHLO client.example.test')).slice(1).map((line) => line.slice(4));
  await reader.command('QUIT');
  tls.destroy();
  return { plain, secure };
}

function transportFor(server: PostfixServer, pass = server.pass) {
  return nodemailer.createTransport({
    host: server.host,
    port: server.port,
    secure: false,
    requireTLS: true,
    auth: { user: server.user, pass },
    tls: { ca: server.ca },
  });
}

interface RejectedError {
  readonly recipient?: string;
  readonly responseCode?: number;
  readonly response?: string;
}

describe('startPostfix: a private Postfix with Dovecot on 127.0.0.1', () => {
  let postfix: PostfixServer;

  beforeAll(async () => {
    postfix = await startPostfix();
  });

  afterAll(async () => {
    await (postfix as PostfixServer | undefined)?.stop(); // unset when beforeAll failed
  });

  it('delivers a message to each example.test recipient, with the exact subject and body', async () => {
    const transport = transportFor(postfix);
    await postfix.clearMailbox();

    const info = await transport.sendMail({
      from: 'sender@example.test',
      to: ['a@example.test', 'b@example.test'],
      subject: 'Smoke test through Postfix',
      text: 'Hello from the outbound-mail tests.\n',
    });
    const messages = await postfix.waitForMessages(2);
    transport.close();

    expect(info.accepted).toEqual(['a@example.test', 'b@example.test']);
    expect(messages.map((message) => message.recipient).sort()).toEqual(['a@example.test', 'b@example.test']);
    for (const message of messages) {
      const raw = message.raw.toString('utf8');
      const [header, body] = raw.split('\n\n', 2) as [string, string];
      expect(header).toMatch(/^Subject: Smoke test through Postfix$/m);
      expect(header).toMatch(/^Return-Path: <sender@example\.test>$/m);
      expect(body).toBe('Hello from the outbound-mail tests.\n');
    }
  });

  it('refuses refuse@example.test with 550 5.1.1 and later@example.test with 450 4.2.0 at RCPT', async () => {
    const transport = transportFor(postfix);
    await postfix.clearMailbox();

    const info = await transport.sendMail({
      from: 'sender@example.test',
      to: ['ok@example.test', REFUSED_RECIPIENT, DEFERRED_RECIPIENT],
      subject: 'Some refused',
      text: 'Only ok gets this.\n',
    });
    const messages = await postfix.waitForMessages(1);
    transport.close();

    expect(info.accepted).toEqual(['ok@example.test']);
    expect(info.rejected).toEqual([REFUSED_RECIPIENT, DEFERRED_RECIPIENT]);
    const rejected = (info as { rejectedErrors?: RejectedError[] }).rejectedErrors ?? [];
    expect(rejected.map((error) => [error.recipient, error.responseCode])).toEqual([
      [REFUSED_RECIPIENT, 550],
      [DEFERRED_RECIPIENT, 450],
    ]);
    expect(rejected[0]?.response).toMatch(/^550 5\.1\.1 /);
    expect(rejected[1]?.response).toMatch(/^450 4\.2\.0 /);
    expect(messages.map((message) => message.recipient)).toEqual(['ok@example.test']);
  });

  it('delivers to a UTF-8 address (SMTPUTF8) and reads its recipient back from Delivered-To', async () => {
    const transport = transportFor(postfix);
    await postfix.clearMailbox();

    await transport.sendMail({
      from: 'sender@example.test',
      to: 'jürgen@example.test',
      subject: 'UTF-8 recipient',
      text: 'Grüße\n',
    });
    const messages = await postfix.waitForMessages(1);
    transport.close();

    expect(messages.map((message) => message.recipient)).toEqual(['jürgen@example.test']);
  });

  it('refuses mail for any other domain: nothing is relayed out', async () => {
    const transport = transportFor(postfix);

    const sending = transport.sendMail({
      from: 'sender@example.test',
      to: 'someone@elsewhere.test',
      subject: 'Not relayed',
      text: 'x\n',
    });

    await expect(sending).rejects.toMatchObject({ code: 'EENVELOPE', responseCode: 554 });
    transport.close();
  });

  it('fails AUTH with a wrong password with 535', async () => {
    const transport = transportFor(postfix, `${postfix.pass}-wrong`);

    const sending = transport.sendMail({ from: 'sender@example.test', to: 'a@example.test', text: 'x\n' });

    await expect(sending).rejects.toMatchObject({ code: 'EAUTH', responseCode: 535 });
    transport.close();
  });

  it('requires STARTTLS before AUTH and advertises SIZE, PIPELINING, CHUNKING, 8BITMIME, SMTPUTF8 after it', async () => {
    const { plain, secure } = await capabilities(postfix);

    expect(plain).toContain('STARTTLS');
    expect(plain.some((keyword) => keyword.startsWith('AUTH'))).toBe(false);
    expect(secure).toContain('AUTH PLAIN LOGIN');
    expect(secure).toContain(`SIZE ${postfix.sizeLimit}`);
    expect(postfix.sizeLimit).toBe(10 * 1024 * 1024);
    expect(secure).toEqual(expect.arrayContaining(['PIPELINING', 'CHUNKING', '8BITMIME', 'SMTPUTF8']));
  });

  it('delivers over Dovecot LMTP and refuses the over-quota recipient after the data', async () => {
    await postfix.lmtpMailbox.clear();
    const socket = connectTcp({ path: postfix.lmtpSocket });
    await connected(socket, 'connect');
    const lmtp = new LineReader(socket);

    expect((await lmtp.reply())[0]).toMatch(/^220 /);
    await lmtp.command('LHLO client.example.test');
    expect((await lmtp.command('MAIL FROM:<sender@example.test>'))[0]).toMatch(/^250 /);
    expect((await lmtp.command('RCPT TO:<lmtp@example.test>'))[0]).toMatch(/^250 /);
    expect((await lmtp.command(`RCPT TO:<${LMTP_OVER_QUOTA_RECIPIENT}>`))[0]).toMatch(/^250 /);
    expect((await lmtp.command('DATA'))[0]).toMatch(/^354 /);
    socket.write('Subject: over LMTP\r\n\r\nLMTP body\r\n.\r\n');
    const perRecipient = [(await lmtp.reply())[0], (await lmtp.reply())[0]];
    await lmtp.command('QUIT');
    socket.destroy();
    const messages = await postfix.lmtpMailbox.waitFor(1);

    expect(perRecipient[0]).toMatch(/^250 2\.0\.0 <lmtp@example\.test> /);
    expect(perRecipient[1]).toMatch(/^552 5\.2\.2 <full@example\.test> /);
    expect(messages.map((message) => message.recipient)).toEqual(['lmtp@example.test']);
    expect(messages[0]?.raw.toString('utf8')).toMatch(/\nSubject: over LMTP\n\nLMTP body\n$/);
  });
});

describe('startPostfix options', () => {
  it('drops CHUNKING with chunking: false, and stop() closes the port', async () => {
    const postfix = await startPostfix({ chunking: false });
    let secure: string[];
    try {
      ({ secure } = await capabilities(postfix));
    } finally {
      await postfix.stop();
    }

    expect(secure).not.toContain('CHUNKING');
    expect(secure).toContain('PIPELINING');
    const probe = connectTcp({ host: postfix.host, port: postfix.port });
    await expect(connected(probe, 'connect')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
