import net from 'node:net';
import tls from 'node:tls';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startScriptedServer, type ScriptedServerHandle } from './scriptedServer.js';

// The fixture checked with raw sockets, so that client tests can trust what it records.

/** A bare client: writes bytes, reads complete replies (up to a `ddd ` final line). */
class RawClient {
  private text = '';
  private waiters: Array<() => void> = [];
  ended = false;
  /** How many `data` events (server writes, as received) there were. */
  dataEvents = 0;
  readonly closed: Promise<void>;

  constructor(public socket: net.Socket | tls.TLSSocket) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.listen(socket);
  }

  static async connect(server: ScriptedServerHandle): Promise<RawClient> {
    const socket = net.connect(server.port, server.host);
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once('connect', resolve));
    return new RawClient(socket);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.dataEvents++;
      this.text += chunk.toString('latin1');
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  send(bytes: string): void {
    this.socket.write(bytes);
  }

  /** The next complete reply, or `null` when the server closed first. */
  async reply(): Promise<string | null> {
    for (;;) {
      const final = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.text);
      if (final) {
        this.text = this.text.slice(final[0].length);
        return final[0];
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** The next `length` characters, as they come. */
  async read(length: number): Promise<string> {
    while (this.text.length < length && !this.ended) await new Promise<void>((resolve) => this.waiters.push(resolve));
    const text = this.text.slice(0, length);
    this.text = this.text.slice(length);
    return text;
  }

  /** Everything unread, taken at once. */
  takeText(): string {
    const text = this.text;
    this.text = '';
    return text;
  }

  /** Upgrades to TLS over the same socket (after a 220 to STARTTLS). */
  async startTls(ca: string): Promise<void> {
    const secure = tls.connect({ socket: this.socket, ca, servername: 'localhost' });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    this.socket = secure;
    this.listen(secure);
  }
}

let server: ScriptedServerHandle | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function greeted(options: Parameters<typeof startScriptedServer>[0] = {}): Promise<RawClient> {
  server = await startScriptedServer(options);
  const client = await RawClient.connect(server);
  expect(await client.reply()).toBe('220 scripted.test ESMTP ready\r\n');
  return client;
}

function connection(index = 0) {
  const found = server?.connections[index];
  if (!found) throw new Error(`no connection ${index}`);
  return found;
}

describe('startScriptedServer', () => {
  it('answers EHLO with the extensions as a multiline reply', async () => {
    const client = await greeted({ extensions: ['PIPELINING', 'SIZE 1000', 'STARTTLS'] });
    client.send('EHLO client.test\r\n');
    expect(await client.reply()).toBe('250-scripted.test greets client.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n');
  });

  it('receives a pipelined DATA transaction in one chunk, answers in one write, and unstuffs dots', async () => {
    const client = await greeted();
    client.send('EHLO c\r\n');
    await client.reply();
    const before = client.dataEvents;
    client.send('MAIL FROM:<a@example.com> BODY=8BITMIME\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n');
    const replies = [await client.reply(), await client.reply(), await client.reply(), await client.reply()];
    expect(replies).toEqual([
      '250 2.1.0 Sender OK\r\n',
      '250 2.1.5 Recipient OK\r\n',
      '250 2.1.5 Recipient OK\r\n',
      '354 End data with <CR><LF>.<CR><LF>\r\n',
    ]);
    expect(client.dataEvents - before).toBe(1);
    client.send('Subject: x\r\n\r\n..leading dot\r\nlast\r\n.\r\n');
    expect(await client.reply()).toBe('250 2.0.0 Ok: queued as M1\r\n');

    const seen = connection();
    expect(seen.lines).toEqual(['EHLO c', 'MAIL FROM:<a@example.com> BODY=8BITMIME', 'RCPT TO:<b@example.com>', 'RCPT TO:<c@example.com>', 'DATA']);
    expect(seen.commands.slice(1).map((command) => command.chunk)).toEqual([1, 1, 1, 1]);
    expect(seen.chunks).toHaveLength(3);
    expect(seen.messages).toHaveLength(1);
    const [message] = seen.messages;
    expect(message?.envelope).toEqual({ from: 'a@example.com', to: ['b@example.com', 'c@example.com'], mailParams: ['BODY=8BITMIME'] });
    expect(message?.content.toString()).toBe('Subject: x\r\n\r\n.leading dot\r\nlast\r\n');
    expect(message?.wire.toString()).toBe('Subject: x\r\n\r\n..leading dot\r\nlast\r\n');
    expect(message?.via).toBe('DATA');
  });

  it('reads exactly n octets for BDAT, including a command-like line inside a chunk', async () => {
    const client = await greeted();
    const first = 'line one\r\nQUIT\r\n';
    const last = 'end\r\n';
    client.send(`MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT ${first.length}\r\n${first}BDAT ${last.length} LAST\r\n${last}`);
    const replies = [await client.reply(), await client.reply(), await client.reply(), await client.reply()];
    expect(replies).toEqual([
      '250 2.1.0 Sender OK\r\n',
      '250 2.1.5 Recipient OK\r\n',
      `250 2.0.0 ${first.length} octets received\r\n`,
      '250 2.0.0 Ok: queued as M1\r\n',
    ]);
    const [message] = connection().messages;
    expect(message?.content.toString()).toBe(first + last);
    expect(message?.chunkSizes).toEqual([first.length, last.length]);
    expect(message?.via).toBe('BDAT');
    expect(connection().lines).toEqual(['MAIL FROM:<a@example.com>', 'RCPT TO:<b@example.com>', `BDAT ${first.length}`, `BDAT ${last.length} LAST`]);
  });

  it('hardened mode: commands pipelined after the dot get 503, the same commands sent alone succeed', async () => {
    const client = await greeted({ rejectPipeliningAfterDot: true });
    client.send('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n');
    for (let i = 0; i < 3; i++) await client.reply();
    client.send('first\r\n.\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.com>\r\n');
    expect([await client.reply(), await client.reply(), await client.reply()]).toEqual([
      '250 2.0.0 Ok: queued as M1\r\n',
      '503 5.5.0 pipelining after data not allowed\r\n',
      '503 5.5.0 pipelining after data not allowed\r\n',
    ]);
    client.send('MAIL FROM:<a@example.com>\r\n');
    expect(await client.reply()).toBe('250 2.1.0 Sender OK\r\n');
    expect(connection().commands.map((command) => command.afterDot)).toEqual([false, false, false, true, true, false]);
    expect(connection().messages.map((message) => message.content.toString())).toEqual(['first\r\n']);
  });

  it('without hardening, a command pipelined after the dot is answered normally', async () => {
    const client = await greeted();
    client.send('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n');
    for (let i = 0; i < 3; i++) await client.reply();
    client.send('x\r\n.\r\nMAIL FROM:<a@example.com>\r\n');
    expect([await client.reply(), await client.reply()]).toEqual(['250 2.0.0 Ok: queued as M1\r\n', '250 2.1.0 Sender OK\r\n']);
  });

  it('a scripted 421 mid-session is written and the connection closed; the refused recipient is not recorded', async () => {
    const client = await greeted({
      onCommand: (command, conn) => (command.verb === 'RCPT' && conn.transaction?.to.length === 1 ? ['421 4.3.2 Shutting down'] : undefined),
    });
    client.send('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n');
    expect([await client.reply(), await client.reply(), await client.reply(), await client.reply()]).toEqual([
      '250 2.1.0 Sender OK\r\n',
      '250 2.1.5 Recipient OK\r\n',
      '421 4.3.2 Shutting down\r\n',
      null,
    ]);
    await client.closed;
    expect(connection().transaction?.to).toEqual(['b@example.com']);
  });

  it('a 421 greeting refuses the session', async () => {
    server = await startScriptedServer({ greeting: ['421 4.3.2 Busy'] });
    const client = await RawClient.connect(server);
    expect([await client.reply(), await client.reply()]).toEqual(['421 4.3.2 Busy\r\n', null]);
  });

  it('drop after the dot: the message arrived, no reply comes, the socket closes', async () => {
    const client = await greeted({ onData: () => 'drop' });
    client.send('MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n');
    for (let i = 0; i < 3; i++) await client.reply();
    client.send('body\r\n.\r\n');
    expect(await client.reply()).toBeNull();
    expect(client.takeText()).toBe('');
    expect(connection().messages.map((message) => message.content.toString())).toEqual(['body\r\n']);
  });

  it('writes a raw scripted reply verbatim (garbage, overlong)', async () => {
    const overlong = `250 ${'x'.repeat(3000)}`;
    const client = await greeted({ onCommand: (command) => (command.verb === 'NOOP' ? { raw: `garbage\r\n${overlong}\r\n` } : undefined) });
    client.send('NOOP\r\n');
    const expected = `garbage\r\n${overlong}\r\n`;
    expect(await client.read(expected.length)).toBe(expected);
  });

  it('a silent reply: nothing is ever answered again, though the input is still recorded', async () => {
    const client = await greeted({ onCommand: (command) => (command.verb === 'NOOP' ? 'silent' : undefined) });
    client.send('NOOP\r\nQUIT\r\n');
    await vi.waitFor(() => expect(connection().chunks).toHaveLength(1));
    client.socket.end();
    expect(await client.reply()).toBeNull();
    expect(client.takeText()).toBe('');
    expect(connection().lines).toEqual(['NOOP']);
  });

  it('refuses EHLO for a HELO-only server and answers HELO', async () => {
    const client = await greeted({ helloOnly: true });
    client.send('EHLO c\r\n');
    expect(await client.reply()).toBe('500 Command unrecognized\r\n');
    client.send('HELO c\r\n');
    expect(await client.reply()).toBe('250 scripted.test\r\n');
  });

  it('STARTTLS upgrades, EHLO afterwards drops STARTTLS, commands record TLS, AUTH LOGIN is decoded and checked', async () => {
    const client = await greeted({ extensions: ['STARTTLS', 'AUTH LOGIN'], credentials: { user: 'u', pass: 'p' } });
    client.send('EHLO c\r\n');
    await client.reply();
    client.send('STARTTLS\r\n');
    expect(await client.reply()).toBe('220 Ready to start TLS\r\n');
    await client.startTls(server!.ca);
    client.send('EHLO c\r\n');
    expect(await client.reply()).toBe('250-scripted.test greets c\r\n250 AUTH LOGIN\r\n');
    client.send('AUTH LOGIN\r\n');
    expect(await client.reply()).toBe('334 VXNlcm5hbWU6\r\n');
    client.send(`${Buffer.from('u').toString('base64')}\r\n`);
    expect(await client.reply()).toBe('334 UGFzc3dvcmQ6\r\n');
    client.send(`${Buffer.from('wrong').toString('base64')}\r\n`);
    expect(await client.reply()).toBe('535 Authentication credentials invalid\r\n');

    const seen = connection();
    expect(seen.commands.map((command) => [command.verb, command.tls])).toEqual([
      ['EHLO', false],
      ['STARTTLS', false],
      ['EHLO', true],
      ['AUTH', true],
    ]);
    expect(seen.tlsFromChunk).toBe(2);
    expect(seen.authAttempts).toEqual([{ method: 'LOGIN', user: 'u', pass: 'wrong', ok: false }]);
  });

  it('can inject bytes after the STARTTLS reply in the same write, then upgrades all the same', async () => {
    const client = await greeted({
      onCommand: (command) => (command.verb === 'STARTTLS' ? { raw: '220 go ahead\r\n250 injected\r\n' } : undefined),
    });
    client.send('STARTTLS\r\n');
    expect([await client.reply(), await client.reply()]).toEqual(['220 go ahead\r\n', '250 injected\r\n']);
    expect(client.dataEvents).toBe(2); // the greeting, then the 220 and the injected line in one write
    await client.startTls(server!.ca);
    client.send('NOOP\r\n');
    expect(await client.reply()).toBe('250 2.0.0 Ok\r\n');
    expect(connection().commands.at(-1)).toMatchObject({ verb: 'NOOP', tls: true });
  });
});
