/**
 * Streamed messages (`send` with a MessageStream) against the scripted server: the exact bytes on
 * the wire across chunk boundaries (DATA), BDAT chunks, the place of a stream among buffered
 * sends, and what becomes of a stream that fails, lies about its size, or loses its server.
 */
import { describe, expect, it, vi } from 'vitest';
import { ConnectionError, DataRefusedError, MessageTooLargeError, ProtocolError, type MessageStream } from '../../lib/smtp/index.js';
import { BDAT_CHUNK_BYTES } from '../../lib/smtp/StreamWriter.js';
import { rejection } from './rejection.js';
import { DEFAULT_EXTENSIONS } from '../support/scriptedServer.js';
import { useScriptedServers } from '../support/scriptedSession.js';

const { serve, connect } = useScriptedServers();

const WITHOUT_CHUNKING = DEFAULT_EXTENSIONS.filter((e) => e !== 'CHUNKING' && e !== 'STARTTLS' && !e.startsWith('AUTH'));
const WITH_CHUNKING = DEFAULT_EXTENSIONS.filter((e) => e !== 'STARTTLS' && !e.startsWith('AUTH'));
const envelope = (n: number) => ({ from: 'a@example.com', to: [`r${n}@example.com`] });
const body = (n: number) => `Subject: ${n}\r\n\r\nmessage ${n}\r\n`;

/** What the stream did: how often `chunks()` was called, and whether its iterator was ended early. */
interface StreamLog {
  calls: number;
  returned: boolean;
}

/** A MessageStream of `parts`; `size` defaults to their exact length; `fail` is thrown after the parts. */
function streamOf(
  parts: (string | Uint8Array)[],
  options: { size?: number; eightBit?: boolean; fail?: Error; beforeEach?: (index: number) => Promise<void> } = {},
) {
  const chunks = parts.map((part) => (typeof part === 'string' ? Buffer.from(part, 'latin1') : part));
  const log: StreamLog = { calls: 0, returned: false };
  const stream: MessageStream = {
    size: options.size ?? chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0),
    ...(options.eightBit === undefined ? {} : { eightBit: options.eightBit }),
    chunks: () => {
      log.calls += 1;
      return (async function* () {
        try {
          for (const [index, chunk] of chunks.entries()) {
            await options.beforeEach?.(index);
            yield chunk;
          }
          if (options.fail) throw options.fail;
        } finally {
          log.returned = true;
        }
      })();
    },
  };
  return { stream, log };
}

/** `count` chunks of 64 KiB, each 1024 lines of 64 octets (CRLF), every other line starting with a dot. */
function dottedChunks(count: number): Buffer[] {
  const line = (n: number) => `${n % 2 === 0 ? '.' : 'x'}${'y'.repeat(61)}\r\n`;
  return Array.from({ length: count }, () => Buffer.from(Array.from({ length: 1024 }, (_, n) => line(n)).join('')));
}

const sentLines = (server: Awaited<ReturnType<typeof serve>>) => server.connections[0]!.commands.map((c) => c.line);

describe('a streamed message over DATA', () => {
  it('goes byte for byte: CRLF and dot-stuffing across chunk boundaries, the declared SIZE, BODY=8BITMIME, then the dot', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const parts = ['Subject: s\r', '\n\r\n', '.one\n', '..two\r', '.three\r', '\n', '.', 'four\nend'];
    const { stream, log } = streamOf(parts);
    const result = await client.send(envelope(1), stream);

    expect(result).toMatchObject({ accepted: ['r1@example.com'], rejected: [], reply: { code: 250 } });
    const [message] = server.connections[0]!.messages;
    expect(message!.wire.toString('latin1')).toBe('Subject: s\r\n\r\n..one\r\n...two\r\n..three\r\n..four\r\nend\r\n');
    expect(message!.content.toString('latin1')).toBe('Subject: s\r\n\r\n.one\r\n..two\r\n.three\r\n.four\r\nend\r\n');
    expect(sentLines(server)).toEqual([
      'EHLO client.test',
      `MAIL FROM:<a@example.com> SIZE=${stream.size} BODY=8BITMIME`,
      'RCPT TO:<r1@example.com>',
      'DATA',
    ]);
    expect(log).toEqual({ calls: 1, returned: true });
  });

  it('keeps its place among buffered sends, pipelined: the stream end, its dot and the next envelope in one write (N + 1 round trips)', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const before = client.stats.roundTrips;
    const { stream } = streamOf(['Subject: 2\r\n\r\n', 'streamed\r\n']);
    const results = await Promise.all([client.send(envelope(1), body(1)), client.send(envelope(2), stream), client.send(envelope(3), body(3))]);

    expect(results.map((r) => r.accepted)).toEqual([['r1@example.com'], ['r2@example.com'], ['r3@example.com']]);
    const messages = server.connections[0]!.messages;
    expect(messages.map((m) => m.content.toString())).toEqual([body(1), 'Subject: 2\r\n\r\nstreamed\r\n', body(3)]);
    expect(messages.map((m) => m.envelope.to)).toEqual([['r1@example.com'], ['r2@example.com'], ['r3@example.com']]);
    expect(client.stats.roundTrips - before).toBe(4);
    // The streamed message's last bytes, its dot and message 3's envelope arrived in one write.
    const commands = server.connections[0]!.commands;
    const third = commands[commands.findIndex((c) => c.line === 'RCPT TO:<r3@example.com>') - 1]!;
    expect(third).toMatchObject({ line: 'MAIL FROM:<a@example.com> SIZE=25', afterDot: true });
  });

  it('refuses a declared size over the server SIZE before MAIL, without calling chunks()', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const { stream, log } = streamOf(['x\r\n'], { size: 10_240_001 });
    const error = await rejection(client.send(envelope(1), stream), MessageTooLargeError);
    expect(error).toMatchObject({ phase: 'mail', transient: false });
    expect(log.calls).toBe(0);
    expect(sentLines(server)).toEqual(['EHLO client.test']);
  });

  it('refuses something that is not a MessageStream', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const bad = { size: -1, chunks: () => [] } as unknown as MessageStream;
    await expect(client.send(envelope(1), bad)).rejects.toMatchObject({ name: 'ProtocolError', transient: false });
  });

  it('fails a stream that fails at once before MAIL, and the session goes on', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const cause = new Error('NoSuchKey');
    const { stream } = streamOf([], { fail: cause });
    const [failed, next] = await Promise.allSettled([client.send(envelope(1), stream), client.send(envelope(2), body(2))]);

    expect(failed.status).toBe('rejected');
    const error = (failed as PromiseRejectedResult).reason as ProtocolError;
    expect(error).toBeInstanceOf(ProtocolError);
    expect(error).toMatchObject({ phase: 'data', transient: true, ambiguous: false, cause });
    expect(next).toMatchObject({ status: 'fulfilled', value: { accepted: ['r2@example.com'] } });
    expect(sentLines(server)).toEqual(['EHLO client.test', 'MAIL FROM:<a@example.com> SIZE=25', 'RCPT TO:<r2@example.com>', 'DATA']);
  });

  it('closes the connection without the dot when the stream throws midway: that cause, not ambiguous; the queued send not sent', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const cause = new Error('S3 read failed');
    const { stream, log } = streamOf(['Subject: x\r\n\r\n', 'half of it\r\n'], { fail: cause });
    const [failed, queued] = await Promise.allSettled([client.send(envelope(1), stream), client.send(envelope(2), body(2))]);

    expect((failed as PromiseRejectedResult).reason).toBeInstanceOf(ProtocolError);
    expect((failed as PromiseRejectedResult).reason).toMatchObject({ phase: 'data', transient: true, ambiguous: false, cause });
    expect((queued as PromiseRejectedResult).reason).toBeInstanceOf(ConnectionError);
    expect((queued as PromiseRejectedResult).reason).toMatchObject({ transient: true, ambiguous: false });
    expect(client.closed).toBe(true);
    await server.connections[0]!.closed;
    expect(server.connections[0]!.messages).toEqual([]);
    expect(server.connections[0]!.received().toString('latin1')).not.toContain('\r\n.\r\n');
    expect(log.returned).toBe(true);
  });

  it.each([
    { name: 'fewer', parts: ['Subject: x\r\n\r\n', 'short\r\n'], size: 100, message: /ended after 21 octets, not the 100 it declared/ },
    { name: 'more', parts: ['Subject: x\r\n\r\n', 'long\r\n', 'longer\r\n'], size: 20, message: /more than the 20 octets it declared/ },
  ])(
    'never ends a message whose stream yields $name octets than declared (permanent, connection closed, no dot)',
    async ({ parts, size, message }) => {
      const server = await serve({ extensions: WITHOUT_CHUNKING });
      const client = await connect(server);
      const { stream } = streamOf(parts, { size });
      const error = await rejection(client.send(envelope(1), stream), ProtocolError);
      expect(error).toMatchObject({ phase: 'data', transient: false, ambiguous: false });
      expect(error.message).toMatch(message);
      await server.connections[0]!.closed;
      expect(server.connections[0]!.messages).toEqual([]);
      expect(server.connections[0]!.received().toString('latin1')).not.toContain('\r\n.\r\n');
    },
  );

  it('fails an 8-bit octet in a stream declared eightBit: false (sent without BODY=8BITMIME)', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const { stream } = streamOf(['Subject: x\r\n\r\n', Buffer.from('Grüße\r\n')], { eightBit: false });
    const error = await rejection(client.send(envelope(1), stream), ProtocolError);
    expect(error).toMatchObject({ transient: false, ambiguous: false });
    expect(sentLines(server)[1]).toBe(`MAIL FROM:<a@example.com> SIZE=${stream.size}`);
    expect(server.connections[0]!.messages).toEqual([]);
  });

  it('fails as a ConnectionError, not ambiguous, when the server drops while the content is written', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server);
    const { stream, log } = streamOf(['Subject: x\r\n\r\n', ...dottedChunks(8)], {
      beforeEach: async (index) => {
        if (index !== 6) return;
        // Four 64 KiB chunks (256 KiB, one write) reached the server: it goes away.
        while (server.connections[0]!.chunks.reduce((sum, c) => sum + c.length, 0) < 4 * 65536)
          await new Promise((resolve) => setTimeout(resolve, 5));
        server.connections[0]!.destroy();
        await server.connections[0]!.closed;
      },
    });
    const error = await rejection(client.send(envelope(1), stream), ConnectionError);
    expect(error).toMatchObject({ phase: 'data', transient: true, ambiguous: false });
    await vi.waitFor(() => expect(log.returned).toBe(true));
  });

  it('is ambiguous when the server drops after the dot', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING, onData: () => 'drop' });
    const client = await connect(server);
    const { stream } = streamOf(['Subject: x\r\n\r\n', 'all of it\r\n']);
    const error = await rejection(client.send(envelope(1), stream), ConnectionError);
    expect(error).toMatchObject({ phase: 'data', transient: true, ambiguous: true });
  });
});

describe('a streamed message over BDAT (CHUNKING)', () => {
  it('goes in BDAT chunks of 1 MiB, then BDAT n LAST, not dot-stuffed, after its envelope was accepted', async () => {
    const server = await serve({ extensions: WITH_CHUNKING });
    const client = await connect(server);
    const chunks = dottedChunks(40);
    const { stream, log } = streamOf(chunks);
    const result = await client.send(envelope(1), stream);

    expect(result).toMatchObject({ accepted: ['r1@example.com'], reply: { code: 250 } });
    expect(sentLines(server)).toEqual([
      'EHLO client.test',
      `MAIL FROM:<a@example.com> SIZE=${40 * 65536} BODY=8BITMIME`,
      'RCPT TO:<r1@example.com>',
      `BDAT ${BDAT_CHUNK_BYTES}`,
      `BDAT ${BDAT_CHUNK_BYTES}`,
      `BDAT ${40 * 65536 - 2 * BDAT_CHUNK_BYTES} LAST`,
    ]);
    expect(server.connections[0]!.messages[0]!.content.equals(Buffer.concat(chunks))).toBe(true);
    expect(log).toEqual({ calls: 1, returned: true });
  });

  it('ends a stream of a whole number of chunks with BDAT 0 LAST', async () => {
    const server = await serve({ extensions: WITH_CHUNKING });
    const client = await connect(server);
    await client.send(envelope(1), streamOf(dottedChunks(16)).stream);
    expect(sentLines(server).slice(3)).toEqual([`BDAT ${BDAT_CHUNK_BYTES}`, 'BDAT 0 LAST']);
  });

  it('waits for each chunk reply without PIPELINING', async () => {
    const server = await serve({ extensions: ['CHUNKING', '8BITMIME', 'SIZE 10240000'] });
    const client = await connect(server);
    const before = client.stats.roundTrips;
    await client.send(envelope(1), streamOf(dottedChunks(40)).stream);
    // MAIL, RCPT, two BDAT chunks, BDAT LAST: each its own round trip.
    expect(client.stats.roundTrips - before).toBe(5);
    expect(server.connections[0]!.messages).toHaveLength(1);
  });

  it('stops at a refused chunk: that refusal, the stream ended, RSET before the next message, which goes', async () => {
    const server = await serve({
      extensions: WITH_CHUNKING,
      onCommand: (command) =>
        command.verb === 'BDAT' && command.args === String(BDAT_CHUNK_BYTES) ? ['452 4.3.1 Insufficient system storage'] : undefined,
    });
    const client = await connect(server);
    const { stream, log } = streamOf(dottedChunks(120));
    const [refused, next] = await Promise.allSettled([client.send(envelope(1), stream), client.send(envelope(2), body(2))]);

    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(DataRefusedError);
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: 452, transient: true, ambiguous: false });
    expect(log.returned).toBe(true);
    expect(next).toMatchObject({ status: 'fulfilled', value: { accepted: ['r2@example.com'] } });
    const lines = sentLines(server);
    // Up to four chunks were written ahead of the first reply; then RSET and message 2.
    expect(lines.filter((line) => line === `BDAT ${BDAT_CHUNK_BYTES}`).length).toBeLessThanOrEqual(4);
    expect(lines.slice(lines.indexOf('RSET'))).toEqual(['RSET', 'MAIL FROM:<a@example.com> SIZE=25', 'RCPT TO:<r2@example.com>', 'BDAT 25 LAST']);
  });

  it('resets the transaction when the stream throws midway, and the connection goes on', async () => {
    const server = await serve({ extensions: WITH_CHUNKING });
    const client = await connect(server);
    const cause = new Error('S3 read failed');
    const { stream } = streamOf(dottedChunks(24), { fail: cause });
    const [failed, next] = await Promise.allSettled([client.send(envelope(1), stream), client.send(envelope(2), body(2))]);

    expect((failed as PromiseRejectedResult).reason).toMatchObject({ name: 'ProtocolError', transient: true, ambiguous: false, cause });
    expect(next).toMatchObject({ status: 'fulfilled' });
    expect(client.closed).toBe(false);
    expect(sentLines(server).slice(1)).toEqual([
      `MAIL FROM:<a@example.com> SIZE=${24 * 65536} BODY=8BITMIME`,
      'RCPT TO:<r1@example.com>',
      `BDAT ${BDAT_CHUNK_BYTES}`,
      'RSET',
      'MAIL FROM:<a@example.com> SIZE=25',
      'RCPT TO:<r2@example.com>',
      'BDAT 25 LAST',
    ]);
    expect(server.connections[0]!.messages.map((m) => m.envelope.to)).toEqual([['r2@example.com']]);
  });

  it('is ambiguous when the server drops after BDAT LAST, not before it', async () => {
    const server = await serve({ extensions: WITH_CHUNKING, onData: () => 'drop' });
    const client = await connect(server);
    const error = await rejection(client.send(envelope(1), streamOf(dottedChunks(20)).stream), ConnectionError);
    expect(error).toMatchObject({ phase: 'data', ambiguous: true });

    const early = await serve({
      extensions: WITH_CHUNKING,
      onCommand: (command) => (command.verb === 'BDAT' && !command.args.endsWith('LAST') ? 'drop' : undefined),
    });
    const other = await connect(early);
    const cut = await rejection(other.send(envelope(1), streamOf(dottedChunks(40)).stream), ConnectionError);
    expect(cut).toMatchObject({ phase: 'data', transient: true, ambiguous: false });
  });
});
