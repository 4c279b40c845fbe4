/**
 * Reply framing against the scripted server: each write expects a known number of replies; a
 * reply nobody asked for (a stray, a flood, a 221 behind the EHLO reply) fails the connection as a
 * ProtocolError and shows in the transcript, and never answers a later command. Also the client's
 * own refusals of bad `command()` / `verify()` arguments, and the AUTH 334 loop.
 */
import { describe, expect, it } from 'vitest';
import { AuthenticationError, ProtocolError, type TranscriptEntry } from '../../lib/smtp/index.js';
import { DEFAULT_EXTENSIONS } from '../support/scriptedServer.js';
import { useScriptedServers } from '../support/scriptedSession.js';

const { serve, connect } = useScriptedServers();

const WITHOUT_CHUNKING = DEFAULT_EXTENSIONS.filter((e) => e !== 'CHUNKING' && e !== 'STARTTLS');

/** Resolves once `condition` holds; rejects after `ms`. */
async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const body = (n: number) => `Subject: ${n}\r\n\r\nmessage ${n}\r\n`;

describe('replies nobody asked for', () => {
  it('a stray 250 while the client is idle fails the connection; the sends after it write nothing', async () => {
    // Before: the stray answered the next MAIL, every reply after it slid one command down, the
    // send failed as a permanent data refusal while the server waited for data, and the next
    // message's commands became message text.
    const server = await serve({
      extensions: WITHOUT_CHUNKING,
      onCommand: (c) => (c.verb === 'RCPT' && c.args.includes('b@') ? ['550 5.1.1 No such user'] : undefined),
    });
    const transcript: TranscriptEntry[] = [];
    const client = await connect(server, { transcript: (entry) => transcript.push(entry) });
    const connection = server.connections[0]!;
    connection.write('250 2.0.0 stray\r\n');
    await until(() => transcript.some((entry) => entry.line === '250 2.0.0 stray'));
    const commandsBefore = connection.commands.length;

    const outcomes = await Promise.allSettled([
      client.send({ from: 'x@example.com', to: ['a@example.com', 'b@example.com'] }, body(1)),
      client.send({ from: 'x@example.com', to: ['c@example.com'] }, body(2)),
    ]);

    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(ProtocolError);
      expect(reason).toMatchObject({ transient: true, ambiguous: false, message: expect.stringContaining('250 2.0.0 stray') });
    }
    expect(client.closed).toBe(true);
    expect(connection.commands.slice(commandsBefore)).toEqual([]);
    expect(connection.messages).toEqual([]);
    expect(transcript.filter((entry) => entry.dir === 'S').at(-1)).toEqual({ dir: 'S', line: '250 2.0.0 stray' });
  });

  it('a command answered twice keeps the first reply and fails the connection on the second', async () => {
    const server = await serve({
      extensions: WITHOUT_CHUNKING,
      onCommand: (c) => (c.verb === 'NOOP' ? ['250 2.0.0 Ok', '250 2.0.0 Ok again'] : undefined),
    });
    const client = await connect(server);
    await expect(client.noop()).resolves.toEqual({ code: 250, enhancedCode: '2.0.0', lines: ['Ok'] });
    await until(() => client.closed);
    const before = server.connections[0]!.commands.length;
    await expect(client.send({ from: 'x@example.com', to: ['a@example.com'] }, body(1))).rejects.toMatchObject({
      name: 'ProtocolError',
      transient: true,
      ambiguous: false,
    });
    expect(server.connections[0]!.commands.length).toBe(before);
  });

  it('an extra reply inside a pipelined group fails the connection before the server gets any content', async () => {
    const server = await serve({
      extensions: WITHOUT_CHUNKING,
      onCommand: (c) => (c.verb === 'MAIL' ? ['250 2.1.0 Ok', '250 2.1.0 Ok twice'] : undefined),
    });
    const client = await connect(server);
    const outcomes = await Promise.allSettled([1, 2].map((n) => client.send({ from: 'x@example.com', to: [`r${n}@example.com`] }, body(n))));
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ name: 'ProtocolError', transient: true, ambiguous: false });
    expect(client.closed).toBe(true);
    expect(server.connections[0]!.messages).toEqual([]);
  });

  it('a 221 behind the EHLO reply is not the answer to the next NOOP', async () => {
    // Before: connect() resolved and noop() resolved with the 221.
    const server = await serve({
      extensions: WITHOUT_CHUNKING,
      onCommand: (c, conn) => {
        if (c.verb !== 'EHLO') return undefined;
        conn.write('250-scripted.test\r\n250 PIPELINING\r\n221 2.0.0 Bye\r\n');
        return 'close';
      },
    });
    const transcript: TranscriptEntry[] = [];
    const outcome = await connect(server, { transcript: (entry) => transcript.push(entry) })
      .then((client) => client.noop())
      .catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(ProtocolError);
    expect(outcome).toMatchObject({ transient: true, message: expect.stringContaining('221 2.0.0 Bye') });
    expect(transcript).toContainEqual({ dir: 'S', line: '221 2.0.0 Bye' });
  });

  it('an unsolicited 421 closes the connection as a transient ConnectionError with its code', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    server.connections[0]!.write('421 4.3.2 Shutting down\r\n');
    await until(() => client.closed);
    await expect(client.noop()).rejects.toMatchObject({ name: 'ConnectionError', code: 421, enhancedCode: '4.3.2', transient: true });
  });

  it('a flooding server fails the connection at its first stray reply, and the heap stays flat', async () => {
    // Before: every reply was queued for a reader that never came: the heap grew without bound.
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const connection = server.connections[0]!;
    const flood = Buffer.from('250 2.0.0 flood\r\n'.repeat(4_096));
    let closed = false;
    void connection.closed.then(() => (closed = true));
    const hungUp = (): boolean => closed;
    const heapBefore = process.memoryUsage().heapUsed;
    const started = Date.now();
    let sent = 0;
    while (!hungUp() && Date.now() - started < 3_000) {
      connection.write(flood);
      sent += flood.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(client.closed).toBe(true);
    expect(hungUp()).toBe(true);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
    await expect(client.noop()).rejects.toMatchObject({ name: 'ProtocolError', message: expect.stringContaining('250 2.0.0 flood') });
    expect(sent).toBeGreaterThan(0);
  });

  it('STARTTLS injection is still dropped, not taken for a stray reply', async () => {
    const server = await serve({
      extensions: DEFAULT_EXTENSIONS.filter((e) => e !== 'CHUNKING'),
      onCommand: (c) => (c.verb === 'STARTTLS' ? { raw: '220 2.0.0 Go ahead\r\n250 2.0.0 injected\r\n' } : undefined),
    });
    const client = await connect(server, { security: 'starttls', tls: { ca: server.ca } });
    await expect(client.noop()).resolves.toMatchObject({ code: 250, lines: ['Ok'] });
    expect(client.closed).toBe(false);
  });
});

describe('arguments the client refuses before writing', () => {
  it.each([
    ['a TAB', 'NOOP\tx'],
    ['a NUL', 'NOOP\0'],
    ['ESC', 'NOOP \x1b[2J'],
  ])('command() refuses %s', async (_name, line) => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const before = server.connections[0]!.chunks.length;
    await expect(client.command(line)).rejects.toMatchObject({ name: 'ProtocolError', transient: false });
    expect(server.connections[0]!.chunks.length).toBe(before);
    expect(client.closed).toBe(false);
  });

  it.each([
    ['a TAB', 'postmaster\tx'],
    ['an empty argument', ''],
    ['CR LF', 'x\r\nRSET'],
  ])('verify() refuses %s and writes nothing', async (_name, argument) => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const before = server.connections[0]!.chunks.length;
    await expect(client.verify(argument)).rejects.toMatchObject({ name: 'ProtocolError', transient: false });
    expect(server.connections[0]!.chunks.length).toBe(before);
  });

  it('verify("") says why', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    await expect(client.verify('')).rejects.toThrow('VRFY needs an argument (a user name or an address)');
  });
});

describe('AUTH', () => {
  it.each(['PLAIN', 'LOGIN', 'XOAUTH2'] as const)('a server that keeps answering 334 fails %s as a permanent AuthenticationError', async (method) => {
    const server = await serve({
      extensions: ['PIPELINING', 'AUTH PLAIN LOGIN XOAUTH2'],
      onCommand: (c) => (c.verb === 'EHLO' || c.verb === 'QUIT' ? undefined : ['334 ']),
    });
    const error = await connect(server, { auth: { user: 'u', pass: 'p', method } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ phase: 'auth', code: 334, transient: false, ambiguous: false });
  });
});
