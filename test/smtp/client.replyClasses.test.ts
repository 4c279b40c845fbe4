/**
 * A reply whose class its command cannot get (RFC 5321 s. 4.3.2) is a protocol violation: a 2xx
 * to DATA, a 3xx to MAIL, RCPT, RSET, NOOP, EHLO, STARTTLS, the greeting or the end of the data,
 * anything but 334/2xx/4xx/5xx to AUTH. Such a reply is a stray, or replies are out of step with
 * the commands: the connection fails as a ProtocolError (the reply is in the transcript), what was
 * pending settles as not sent before the dot and ambiguous after it. `command()` and `verify()`
 * stay lenient (like smtplib's `docmd`): they resolve with whatever complete reply came.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError, SmtpClient, type TranscriptEntry } from '../../lib/smtp/index.js';
import { DEFAULT_EXTENSIONS } from '../support/scriptedServer.js';
import { useScriptedServers } from '../support/scriptedSession.js';

const { serve, connect } = useScriptedServers();

const PIPELINING_DATA = ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES'];
const PIPELINING_BDAT = ['PIPELINING', 'CHUNKING', '8BITMIME', 'ENHANCEDSTATUSCODES'];
const ONE_BY_ONE = ['8BITMIME', 'ENHANCEDSTATUSCODES'];

const envelope = (n: number) => ({ from: 'a@example.com', to: [`r${n}@example.com`] });
const body = (n: number) => `Subject: ${n}\r\n\r\nmessage ${n}\r\n`;

describe('a reply its command cannot get fails the connection', () => {
  it.each([
    ['MAIL, pipelined', PIPELINING_DATA, 'MAIL', 'mail'],
    ['RCPT, pipelined', PIPELINING_DATA, 'RCPT', 'rcpt'],
    ['RCPT, one by one', ONE_BY_ONE, 'RCPT', 'rcpt'],
  ])('a 354 to %s: not sent, transient, and the next message is not attempted', async (_name, extensions, verb, phase) => {
    const server = await serve({ extensions, onCommand: (c) => (c.verb === verb ? ['354 go ahead'] : undefined) });
    const transcript: TranscriptEntry[] = [];
    const client = await connect(server, { transcript: (entry) => transcript.push(entry) });
    const [first, second] = await Promise.allSettled([client.send(envelope(1), body(1)), client.send(envelope(2), body(2))]);
    expect(first).toMatchObject({
      status: 'rejected',
      reason: { name: 'ProtocolError', phase, transient: true, ambiguous: false, message: expect.stringContaining('354 go ahead') },
    });
    expect((first as PromiseRejectedResult).reason).toBeInstanceOf(ProtocolError);
    expect(second).toMatchObject({ status: 'rejected', reason: { name: 'ProtocolError', transient: true, ambiguous: false } });
    expect(client.closed).toBe(true);
    expect(server.connections[0]!.messages).toEqual([]);
    expect(transcript).toContainEqual({ dir: 'S', line: '354 go ahead' });
  });

  it('a 354 to MAIL under BDAT: the window with its content had left, so both messages may have been delivered', async () => {
    const server = await serve({ extensions: PIPELINING_BDAT, onCommand: (c) => (c.verb === 'MAIL' ? ['354 go ahead'] : undefined) });
    const client = await connect(server);
    const outcomes = await Promise.allSettled([client.send(envelope(1), body(1)), client.send(envelope(2), body(2))]);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 'rejected', reason: { name: 'ProtocolError', phase: 'data', transient: true, ambiguous: true } });
    }
    expect(server.connections[0]!.chunks).toHaveLength(2); // EHLO, then the window in one write
    expect(client.closed).toBe(true);
  });

  it.each([
    ['DATA', PIPELINING_DATA],
    ['BDAT', PIPELINING_BDAT],
  ])('a 3xx to the end of the message (%s): ambiguous, it may have been delivered', async (_name, extensions) => {
    const server = await serve({ extensions, onData: () => ['354 more please'] });
    const client = await connect(server);
    await expect(client.send(envelope(1), body(1))).rejects.toMatchObject({ name: 'ProtocolError', phase: 'data', transient: true, ambiguous: true });
    expect(client.closed).toBe(true);
  });

  it.each([
    ['noop()', (client: SmtpClient) => client.noop()],
    ['reset()', (client: SmtpClient) => client.reset()],
  ])('a 3xx to %s rejects with a ProtocolError', async (_name, call) => {
    const server = await serve({ extensions: PIPELINING_DATA, onCommand: (c) => (c.verb === 'NOOP' || c.verb === 'RSET' ? ['354 huh'] : undefined) });
    const client = await connect(server);
    await expect(call(client)).rejects.toBeInstanceOf(ProtocolError);
    expect(client.closed).toBe(true);
  });

  it('a 354 to AUTH is a ProtocolError, not a refusal of the credentials', async () => {
    const server = await serve({ extensions: ['PIPELINING', 'AUTH PLAIN'], onCommand: (c) => (c.verb === 'AUTH' ? ['354 go ahead'] : undefined) });
    const error = await connect(server, { auth: { user: 'u', pass: 'p', method: 'PLAIN' } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ phase: 'auth', transient: true });
  });

  it.each(['starttls', 'opportunistic'] as const)('a 354 to STARTTLS (%s) is a ProtocolError, and nothing goes on in clear', async (security) => {
    const server = await serve({
      extensions: DEFAULT_EXTENSIONS.filter((e) => e !== 'CHUNKING'),
      onCommand: (c) => (c.verb === 'STARTTLS' ? ['354 go ahead'] : undefined),
    });
    const error = await connect(server, { security, tls: { ca: server.ca } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ phase: 'starttls', transient: true });
    expect(server.connections[0]!.commands.map((c) => c.verb)).toEqual(['EHLO', 'STARTTLS']);
  });

  it('a 354 to EHLO is a ProtocolError (no fallback to HELO)', async () => {
    const server = await serve({ onCommand: (c) => (c.verb === 'EHLO' ? ['354 go ahead'] : undefined) });
    const error = await connect(server).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProtocolError);
    expect(server.connections[0]!.commands.map((c) => c.verb)).toEqual(['EHLO']);
  });

  it('a 354 greeting is a ProtocolError', async () => {
    const server = await serve({ greeting: ['354 hello'] });
    await expect(connect(server)).rejects.toBeInstanceOf(ProtocolError);
  });
});

describe('command() and verify() stay lenient', () => {
  it('resolve with a 3xx, and the session goes on', async () => {
    const server = await serve({
      extensions: PIPELINING_DATA,
      onCommand: (c) => (c.verb === 'XSTEP' ? ['334 next'] : c.verb === 'VRFY' ? ['354 odd'] : undefined),
    });
    const client = await connect(server);
    await expect(client.command('XSTEP')).resolves.toEqual({ code: 334, lines: ['next'] });
    await expect(client.verify('postmaster')).resolves.toEqual({ code: 354, lines: ['odd'] });
    await expect(client.send(envelope(1), body(1))).resolves.toMatchObject({ accepted: ['r1@example.com'] });
    expect(client.closed).toBe(false);
  });
});
