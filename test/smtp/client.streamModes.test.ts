/**
 * Streamed messages in the other session modes (no PIPELINING, LMTP) and with sources that
 * misbehave in ways a type checker does not stop: a stalled stream under the overall deadline,
 * a chunk that is not bytes, a `chunks()` that throws at once.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ProtocolError, TimeoutError, type MessageStream } from '../../lib/smtp/index.js';
import { rejection } from './rejection.js';
import { useScriptedServers } from '../support/scriptedSession.js';

const { serve, connect } = useScriptedServers();

const envelope = (to: string[]) => ({ from: 'a@example.com', to });
const text = 'Subject: s\r\n\r\n.dot\nend\r\n';
const wire = 'Subject: s\r\n\r\n..dot\r\nend\r\n';

/** `text` in chunks cut inside a line and between CR and LF. */
function stream(): MessageStream {
  const parts = ['Subject: s\r', '\n\r\n.d', 'ot\nend\r\n'].map((part) => Buffer.from(part));
  return {
    size: Buffer.byteLength(text),
    chunks: () => Readable.from(parts),
  };
}

describe('a streamed message in other session modes', () => {
  it('without PIPELINING over DATA: each command waits, the content goes between DATA and the dot', async () => {
    const server = await serve({ extensions: ['8BITMIME', 'SIZE 1000000'] });
    const client = await connect(server);
    const result = await client.send(envelope(['b@example.com']), stream());
    expect(result.accepted).toEqual(['b@example.com']);
    expect(server.connections[0]!.messages[0]!.wire.toString()).toBe(wire);
    expect(server.connections[0]!.commands.map((c) => c.line)).toEqual([
      'EHLO client.test',
      `MAIL FROM:<a@example.com> SIZE=${Buffer.byteLength(text)} BODY=8BITMIME`,
      'RCPT TO:<b@example.com>',
      'DATA',
    ]);
  });

  it.each([{ chunking: true }, { chunking: false }])('in LMTP (CHUNKING $chunking): one reply per recipient after the end', async ({ chunking }) => {
    const server = await serve({
      lmtp: true,
      extensions: ['PIPELINING', '8BITMIME', ...(chunking ? ['CHUNKING'] : [])],
      onData: () => ['250 2.0.0 <b@example.com> delivered', '452 4.2.2 <c@example.com> over quota'],
    });
    const client = await connect(server, { protocol: 'lmtp' });
    const result = await client.send(envelope(['b@example.com', 'c@example.com']), stream());
    expect(result.accepted).toEqual(['b@example.com']);
    expect(result.rejected).toMatchObject([{ recipient: 'c@example.com', code: 452, transient: true }]);
    const [message] = server.connections[0]!.messages;
    expect(message!.content.toString()).toBe('Subject: s\r\n\r\n.dot\r\nend\r\n');
    expect(message!.via).toBe(chunking ? 'BDAT' : 'DATA');
  });
});

describe('a streamed message from a misbehaving source', () => {
  it('stops waiting for a stalled stream when the deadline passes: a TimeoutError, not ambiguous', async () => {
    const server = await serve({ extensions: ['PIPELINING', '8BITMIME'] });
    const deadline = new AbortController();
    const client = await connect(server, { signal: deadline.signal });
    const stalled: MessageStream = {
      size: 100,
      chunks: () =>
        (async function* () {
          yield Buffer.from('Subject: s\r\n\r\n');
          deadline.abort();
          await new Promise(() => undefined);
        })(),
    };
    const error = await rejection(client.send(envelope(['b@example.com']), stalled), TimeoutError);
    expect(error).toMatchObject({ phase: 'data', transient: true, ambiguous: false });
    expect(server.connections[0]!.messages).toEqual([]);
  });

  it('refuses a chunk that is not bytes (a Readable with an encoding yields strings)', async () => {
    const server = await serve({ extensions: ['PIPELINING', '8BITMIME', 'CHUNKING'] });
    const client = await connect(server);
    const strings = {
      size: 4,
      chunks: () => Readable.from(['text']),
    } as unknown as MessageStream;
    const error = await rejection(client.send(envelope(['b@example.com']), strings), ProtocolError);
    expect(error.message).toMatch(/yielded a string, not bytes/);
    expect(error).toMatchObject({ transient: false, ambiguous: false });
  });

  it('fails a send whose chunks() throws at once before MAIL, with that cause', async () => {
    const server = await serve({ extensions: ['PIPELINING', '8BITMIME', 'CHUNKING'] });
    const client = await connect(server);
    const cause = new Error('no such object');
    const throwing: MessageStream = {
      size: 4,
      chunks: () => {
        throw cause;
      },
    };
    const error = await rejection(client.send(envelope(['b@example.com']), throwing), ProtocolError);
    expect(error).toMatchObject({ transient: true, cause });
    expect(server.connections[0]!.commands.map((c) => c.verb)).toEqual(['EHLO']);
  });
});
