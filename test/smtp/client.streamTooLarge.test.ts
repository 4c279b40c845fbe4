/**
 * A 552 ("too large") during a streamed send is a {@link MessageTooLargeError}: permanent, the
 * reply in its message, never a truncated message taken. With DATA the server may answer 552
 * early (right after the 354), in the middle of the stream, or after the end; with BDAT it answers
 * a chunk, then reads on or closes. Against the scripted server, and smtp-server with a size limit
 * it does not announce (`hideSize`), which answers 552 after the end.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionError, MessageTooLargeError, SmtpClient, type MessageStream, type SmtpError, type TranscriptEntry } from '../../lib/smtp/index.js';
import { rejection } from './rejection.js';
import { DEFAULT_EXTENSIONS } from '../support/scriptedServer.js';
import type { ScriptedConnection, ScriptedServerHandle } from '../support/scriptedServer.js';
import { useScriptedServers } from '../support/scriptedSession.js';
import { startSmtpServer } from '../support/smtpServer.js';

const { serve, connect, servers, clients } = useScriptedServers();

const WITHOUT_CHUNKING = DEFAULT_EXTENSIONS.filter((e) => e !== 'CHUNKING' && e !== 'STARTTLS' && !e.startsWith('AUTH'));
const WITH_CHUNKING = DEFAULT_EXTENSIONS.filter((e) => e !== 'STARTTLS' && !e.startsWith('AUTH'));
const CHUNKING_UNPIPELINED = WITH_CHUNKING.filter((e) => e !== 'PIPELINING');
const envelope = (n: number) => ({ from: 'a@example.com', to: [`r${n}@example.com`] });
const TOO_BIG = '552 5.3.4 Message size exceeds fixed maximum message size';

/** A message of `lines` lines of 64 octets, streamed in parts of 64 KiB; `beforePart` may hold the stream back. */
function bigStream(lines: number, beforePart?: (index: number) => Promise<void>): MessageStream {
  const line = Buffer.from(`${'x'.repeat(62)}\r\n`);
  const header = Buffer.from('Subject: big\r\n\r\n');
  const perPart = 1024;
  const parts = Math.ceil(lines / perPart);
  return {
    size: header.length + lines * line.length,
    chunks: () =>
      (async function* () {
        yield header;
        for (let index = 0; index < parts; index += 1) {
          await beforePart?.(index);
          const count = Math.min(perPart, lines - index * perPart);
          yield Buffer.concat(Array.from({ length: count }, () => line));
        }
      })(),
  };
}

/** Waits until `check` holds (polling every 5 ms), for at most 5 s. */
async function until(check: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function expectTooLarge(error: MessageTooLargeError): void {
  expect(error).toMatchObject({ phase: 'data', code: 552, enhancedCode: '5.3.4', transient: false, ambiguous: false });
  expect(error.message).toContain('552 5.3.4 Message size exceeds fixed maximum message size');
}

describe('552 during a streamed message over DATA', () => {
  it('early, right after the 354: MessageTooLargeError, permanent, and no end of data is sent; the message queued behind is not sent, transient, not "too large"', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING, onCommand: (c) => (c.verb === 'DATA' ? ['354 go ahead', TOO_BIG] : undefined) });
    const client = await connect(server);
    const [big, queued] = await Promise.allSettled([
      client.send(envelope(1), bigStream(20_000)),
      client.send(envelope(2), 'Subject: 2\r\n\r\nsmall\r\n'),
    ]);
    const error = await rejection(Promise.reject((big as PromiseRejectedResult).reason as Error), MessageTooLargeError);
    expectTooLarge(error);
    const bystander = (queued as PromiseRejectedResult).reason as SmtpError;
    expect(bystander).toBeInstanceOf(ConnectionError);
    expect(bystander).toMatchObject({ transient: true, ambiguous: false, code: undefined });
    expect(server.connections[0]!.messages).toEqual([]);
    expect(server.connections[0]!.received().toString('latin1')).not.toContain('\r\n.\r\n');
  });

  it('in the middle of the stream: MessageTooLargeError, permanent; the message is never ended (no dot)', async () => {
    const transcript: TranscriptEntry[] = [];
    let connection: ScriptedConnection | undefined;
    const server = await serve({ extensions: WITHOUT_CHUNKING });
    const client = await connect(server, { transcript: (entry) => transcript.push(entry) });
    connection = server.connections[0];
    // The first write (256 KiB) goes, then the server says 552 and the stream waits until the client read it.
    const stream = bigStream(20_000, async (index) => {
      if (index !== 5) return;
      await until(() => (connection?.received().length ?? 0) > 250_000);
      connection?.write(`${TOO_BIG}\r\n`);
      await until(() => transcript.some((entry) => entry.dir === 'S' && entry.line.startsWith('552')));
    });
    const error = await rejection(client.send(envelope(1), stream), MessageTooLargeError);
    expectTooLarge(error);
    connection = server.connections[0]!;
    expect(connection.messages).toEqual([]);
    expect(connection.received().toString('latin1')).not.toContain('\r\n.\r\n');
  });

  it('after the end (the reply to the dot): MessageTooLargeError, permanent, and the connection stays usable', async () => {
    const server = await serve({ extensions: WITHOUT_CHUNKING, onData: (m) => (m.envelope.to[0] === 'r1@example.com' ? [TOO_BIG] : undefined) });
    const client = await connect(server);
    const error = await rejection(client.send(envelope(1), bigStream(8_000)), MessageTooLargeError);
    expectTooLarge(error);
    await expect(client.send(envelope(2), 'Subject: small\r\n\r\nok\r\n')).resolves.toMatchObject({ accepted: ['r2@example.com'] });
  });
});

describe('552 on a BDAT chunk of a streamed message', () => {
  it.each([
    { name: 'with PIPELINING', extensions: WITH_CHUNKING },
    { name: 'without PIPELINING', extensions: CHUNKING_UNPIPELINED },
  ])('$name, the server reading on: MessageTooLargeError, no BDAT LAST, and the connection stays usable', async ({ extensions }) => {
    const server = await serve({
      extensions,
      onCommand: (c) => (c.verb === 'BDAT' && !/LAST/i.test(c.args) ? [TOO_BIG] : undefined),
    });
    const client = await connect(server);
    const error = await rejection(client.send(envelope(1), bigStream(40_000)), MessageTooLargeError);
    expectTooLarge(error);
    expect(server.connections[0]!.commands.some((c) => /LAST/i.test(c.args))).toBe(false);
    await expect(client.send(envelope(2), 'Subject: small\r\n\r\nok\r\n')).resolves.toMatchObject({ accepted: ['r2@example.com'] });
    expect(server.connections[0]!.messages.map((m) => m.envelope.to)).toEqual([['r2@example.com']]);
  });

  it('the server closing after its 552: still MessageTooLargeError with the reply, not a lost connection', async () => {
    const server = await serve({
      extensions: WITH_CHUNKING,
      onCommand: (c, connection) => {
        if (c.verb !== 'BDAT' || /LAST/i.test(c.args)) return undefined;
        connection.write(`${TOO_BIG}\r\n`);
        return 'close';
      },
    });
    const client = await connect(server);
    const error = await rejection(client.send(envelope(1), bigStream(40_000)), MessageTooLargeError);
    expectTooLarge(error);
    expect(server.connections[0]!.messages).toEqual([]);
  });
});

describe('552 from smtp-server (a size limit it does not announce)', () => {
  it('after the end of a streamed message: MessageTooLargeError, permanent, nothing delivered', async () => {
    const smtp = await startSmtpServer({ size: 100_000, hideSize: true, requireTls: false, auth: false });
    servers.push({ stop: () => smtp.stop() } as ScriptedServerHandle);
    const client = await SmtpClient.connect({ host: smtp.host, port: smtp.port, security: 'none', clientName: 'client.test' });
    clients.push(client);
    expect(client.capabilities.size).toBeFalsy();
    const error = await rejection(client.send(envelope(1), bigStream(4_000)), MessageTooLargeError);
    expect(error).toMatchObject({ phase: 'data', code: 552, transient: false, ambiguous: false });
    expect(error.message).toContain('552 5.3.4 Error: message exceeds fixed maximum message size 100000');
    expect(smtp.messages).toEqual([]);
  });
});
