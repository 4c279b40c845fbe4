/**
 * Adversarial checks of reply counting (issue 13, item 7) against the scripted server: pipelined
 * groups where the number of replies varies (LMTP after the data, refused envelopes under BDAT,
 * the smuggling-hardened fallback, 421s inside a group), replies split across segments, large
 * legitimate replies, and how a failure after the content is classified.
 */
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { SmtpClient } from '../../lib/smtp/index.js';
import { DEFAULT_EXTENSIONS, type ScriptedServerHandle, type ScriptedServerOptions } from '../support/scriptedServer.js';
import { useScriptedServers } from '../support/scriptedSession.js';

const { serve, connect, clients } = useScriptedServers();
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const PIPELINING_DATA = ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES'];
const PIPELINING_BDAT = ['PIPELINING', 'CHUNKING', '8BITMIME', 'ENHANCEDSTATUSCODES'];

/** An LMTP scripted server on a unix socket (LMTP has no default TCP port worth using here). */
async function serveLmtp(options: ScriptedServerOptions): Promise<{ server: ScriptedServerHandle; client: SmtpClient }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lmtp-adv-'));
  dirs.push(dir);
  const server = await serve({ lmtp: true, socketPath: path.join(dir, 'lmtp.sock'), ...options });
  const client = await SmtpClient.connect({ host: server.path ?? '', protocol: 'lmtp', security: 'none', clientName: 'client.test' });
  clients.push(client);
  return { server, client };
}

const envelope = (n: number, to = [`r${n}@example.com`]) => ({ from: 'a@example.com', to });
const body = (n: number) => `Subject: ${n}\r\n\r\nmessage ${n}\r\n`;
const refuseGone: ScriptedServerOptions['onCommand'] = (c) =>
  c.verb === 'RCPT' && c.args.includes('gone') ? ['550 5.1.1 <gone> unknown'] : undefined;

describe('LMTP: one reply per accepted recipient after the content', () => {
  it('pipelined DATA: replies after each dot are matched to the right message when recipients were refused', async () => {
    const { server, client } = await serveLmtp({ extensions: PIPELINING_DATA, onCommand: refuseGone });
    const results = await Promise.all([
      client.send(envelope(1, ['a1@example.com', 'gone1@example.com', 'b1@example.com']), body(1)),
      client.send(envelope(2, ['gone2@example.com', 'a2@example.com']), body(2)),
      client.send(envelope(3, ['a3@example.com', 'b3@example.com', 'c3@example.com']), body(3)),
    ]);
    expect(results.map((r) => [r.accepted, r.rejected.map((x) => x.recipient)])).toEqual([
      [['a1@example.com', 'b1@example.com'], ['gone1@example.com']],
      [['a2@example.com'], ['gone2@example.com']],
      [['a3@example.com', 'b3@example.com', 'c3@example.com'], []],
    ]);
    expect(results.map((r) => r.reply.lines[0])).toEqual(['Ok: queued as M1', 'Ok: queued as M2', 'Ok: queued as M3']);
    expect(client.closed).toBe(false);
    await expect(client.noop()).resolves.toMatchObject({ code: 250 });
    // N + 1 writes: the dot and the next envelope share one.
    expect(server.connections[0]?.messages).toHaveLength(3);
  });

  it('BDAT window: fewer replies than recipients (refusals, a refused sender) are released, the session stays usable', async () => {
    const { server, client } = await serveLmtp({
      extensions: PIPELINING_BDAT,
      onCommand: (c, conn) => {
        if (c.verb === 'MAIL' && c.args.includes('bad@')) return ['550 5.7.1 sender refused'];
        return refuseGone(c, conn);
      },
    });
    const before = client.stats.writes;
    const outcomes = await Promise.allSettled([
      client.send(envelope(1, ['a1@example.com', 'gone1@example.com', 'b1@example.com']), body(1)),
      client.send({ from: 'bad@example.com', to: ['a2@example.com', 'b2@example.com'] }, body(2)),
      client.send(envelope(3, ['gone3@example.com', 'gone3b@example.com']), body(3)),
      client.send(envelope(4, ['a4@example.com', 'b4@example.com']), body(4)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(outcomes[0]).toMatchObject({ value: { accepted: ['a1@example.com', 'b1@example.com'] } });
    expect(outcomes[1]).toMatchObject({ reason: { name: 'SenderRefusedError', code: 550, transient: false, ambiguous: false } });
    expect(outcomes[2]).toMatchObject({ reason: { name: 'RecipientsRefusedError', code: 550, transient: false, ambiguous: false } });
    expect(outcomes[3]).toMatchObject({ value: { accepted: ['a4@example.com', 'b4@example.com'] } });
    expect(client.stats.writes - before).toBe(1);
    expect(client.closed).toBe(false);
    await expect(client.noop()).resolves.toMatchObject({ code: 250 });
    expect(server.connections[0]?.messages.filter((m) => m.envelope.to.length > 0).map((m) => m.envelope.to)).toEqual([
      ['a1@example.com', 'b1@example.com'],
      ['a4@example.com', 'b4@example.com'],
    ]);
  });
});

describe('the smuggling-hardened fallback', () => {
  it('resends unpipelined with refusals and RSETs in the mix, every reply matched to its message', async () => {
    const server = await serve({ extensions: PIPELINING_DATA, rejectPipeliningAfterDot: true, onCommand: refuseGone });
    const client = await connect(server);
    const outcomes = await Promise.allSettled([
      client.send(envelope(1), body(1)),
      client.send(envelope(2, ['ok2@example.com', 'gone2@example.com']), body(2)),
      client.send(envelope(3, ['gone3@example.com']), body(3)),
      client.send(envelope(4), body(4)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes[1]).toMatchObject({ value: { accepted: ['ok2@example.com'], rejected: [{ recipient: 'gone2@example.com', code: 550 }] } });
    expect(outcomes[2]).toMatchObject({ reason: { name: 'RecipientsRefusedError', code: 550, transient: false } });
    const connection = server.connections[0];
    expect(connection?.messages.map((m) => m.envelope.to)).toEqual([['r1@example.com'], ['ok2@example.com'], ['r4@example.com']]);
    // Only the first envelope ever followed a dot; the RSET after the refused third goes alone with the fourth.
    expect(connection?.commands.filter((c) => c.afterDot).map((c) => c.verb)).toEqual(['MAIL', 'RCPT', 'RCPT', 'DATA']);
    expect(client.closed).toBe(false);
  });
});

describe('replies that come in pieces or in bulk', () => {
  it('a pipelined group answered one reply per segment, with multi-line replies, is read in order', async () => {
    const server = await serve({
      extensions: PIPELINING_DATA,
      onCommand: async (c, conn) => {
        if (c.verb !== 'MAIL' && c.verb !== 'RCPT') return undefined;
        // Each reply alone and late, the RCPT ones on three lines.
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (c.verb === 'MAIL') return undefined;
        conn.write('250-2.1.5 first line\r\n');
        await new Promise((resolve) => setTimeout(resolve, 5));
        conn.write('250-2.1.5 second line\r\n');
        return c.args.includes('gone') ? ['550 5.1.1 refused'] : ['250 2.1.5 last line'];
      },
    });
    const client = await connect(server);
    const results = await Promise.all([
      client.send(envelope(1, ['a@example.com', 'b@example.com']), body(1)),
      client.send(envelope(2, ['c@example.com']), body(2)),
    ]);
    expect(results.map((r) => r.accepted)).toEqual([['a@example.com', 'b@example.com'], ['c@example.com']]);
    expect(client.closed).toBe(false);
  });

  it('a large EHLO reply and an LMTP reply set for 1,000 recipients are taken', async () => {
    const extensions = [...PIPELINING_DATA, ...Array.from({ length: 300 }, (_, i) => `X-VENDOR-EXTENSION-${i} ${'p'.repeat(100)}`)];
    const { client } = await serveLmtp({ extensions });
    expect(client.capabilities.pipelining).toBe(true);
    const to = Array.from({ length: 1_000 }, (_, i) => `recipient-with-a-long-name-${i}@example.com`);
    const result = await client.send({ from: 'a@example.com', to }, body(1));
    expect(result.accepted).toHaveLength(1_000);
    expect(client.closed).toBe(false);
  });

  it('a BDAT window of 3,000 short messages: the replies held for it are not taken for a flood', async () => {
    const server = await serve({ extensions: PIPELINING_BDAT });
    const client = await connect(server);
    const results = await Promise.all(Array.from({ length: 3_000 }, (_, n) => client.send(envelope(n), body(n))));
    expect(results).toHaveLength(3_000);
    expect(client.stats.writes).toBeLessThanOrEqual(1 + 3); // greeting counts no write; EHLO, one window
    expect(server.connections[0]?.messages).toHaveLength(3_000);
  });
});

describe('421 inside a pipelined group', () => {
  it('DATA: a 421 to the dot refuses that message (not ambiguous); the envelope pipelined behind it was not attempted', async () => {
    const server = await serve({ extensions: PIPELINING_DATA, onData: () => ['421 4.3.2 Shutting down'] });
    const client = await connect(server);
    const [first, second] = await Promise.allSettled([client.send(envelope(1), body(1)), client.send(envelope(2), body(2))]);
    expect(first).toMatchObject({ status: 'rejected', reason: { name: 'ConnectionError', code: 421, transient: true, ambiguous: false } });
    expect(second).toMatchObject({ status: 'rejected', reason: { name: 'ConnectionError', transient: true, ambiguous: false } });
  });

  it('BDAT: a 421 to the second MAIL keeps the first message, refuses the rest for now', async () => {
    const server = await serve({
      extensions: PIPELINING_BDAT,
      onCommand: (c, conn) => (c.verb === 'MAIL' && conn.messages.length === 1 ? ['421 4.3.2 Shutting down'] : undefined),
    });
    const client = await connect(server);
    const outcomes = await Promise.allSettled([1, 2, 3].map((n) => client.send(envelope(n), body(n))));
    expect(outcomes[0]).toMatchObject({ status: 'fulfilled', value: { accepted: ['r1@example.com'] } });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 421, transient: true, ambiguous: false } });
    expect(outcomes[2]).toMatchObject({ status: 'rejected', reason: { transient: true, ambiguous: false } });
  });
});

describe('ends of sessions', () => {
  it('quit() against a server that closes right after its 221 resolves, and nothing is left waiting', async () => {
    const server = await serve({ extensions: PIPELINING_DATA, onCommand: (c) => (c.verb === 'QUIT' ? ['221 2.0.0 Bye'] : undefined) });
    const client = await connect(server);
    const sent = client.send(envelope(1), body(1));
    await client.quit();
    await expect(sent).resolves.toMatchObject({ accepted: ['r1@example.com'] });
    expect(client.closed).toBe(true);
    await expect(client.noop()).rejects.toMatchObject({ name: 'ConnectionError' });
  });

  it('an unknown command answered with a multi-line 502 answers that command only', async () => {
    const server = await serve({
      extensions: PIPELINING_DATA,
      onCommand: (c) => (c.verb === 'XFOO' ? ['502-5.5.2 Command not recognized', '502 5.5.2 try HELP'] : undefined),
    });
    const client = await connect(server);
    await expect(client.command('XFOO bar')).resolves.toEqual({ code: 502, enhancedCode: '5.5.2', lines: ['Command not recognized', 'try HELP'] });
    await expect(client.send(envelope(1), body(1))).resolves.toMatchObject({ accepted: ['r1@example.com'] });
  });

  it('STARTTLS: a half line buffered behind the 220 is dropped with the rest', async () => {
    const server = await serve({
      extensions: DEFAULT_EXTENSIONS.filter((e) => e !== 'CHUNKING'),
      onCommand: (c) => (c.verb === 'STARTTLS' ? { raw: '220 2.0.0 Go ahead\r\n250 2.0.0 inj' } : undefined),
    });
    const client = await connect(server, { security: 'starttls', tls: { ca: server.ca } });
    await expect(client.send(envelope(1), body(1))).resolves.toMatchObject({ accepted: ['r1@example.com'] });
  });
});

describe('classification after the content was written', () => {
  it('BDAT: a sender refused before a drop is refused for good, not "may have been delivered"', async () => {
    const server = await serve({
      extensions: PIPELINING_BDAT,
      onCommand: (c) => {
        if (c.verb === 'MAIL') return ['550 5.7.1 sender refused'];
        if (c.verb === 'BDAT') return 'drop';
        return undefined;
      },
    });
    const client = await connect(server);
    await expect(client.send(envelope(1), body(1))).rejects.toMatchObject({
      name: 'SenderRefusedError',
      code: 550,
      transient: false,
      ambiguous: false,
    });
  });

  it('BDAT: every recipient refused before a drop is a recipient refusal, not ambiguous', async () => {
    const server = await serve({
      extensions: PIPELINING_BDAT,
      onCommand: (c, conn) => (c.verb === 'BDAT' ? 'drop' : refuseGone(c, conn)),
    });
    const client = await connect(server);
    await expect(client.send(envelope(1, ['gone@example.com']), body(1))).rejects.toMatchObject({
      name: 'RecipientsRefusedError',
      code: 550,
      transient: false,
      ambiguous: false,
    });
  });

  it('BDAT: a later message refused with 503 (would be sent again) before a drop is not sent, for now', async () => {
    const server = await serve({
      extensions: PIPELINING_BDAT,
      onCommand: (c, conn) => {
        const count = conn.commands.filter((x) => x.verb === c.verb).length;
        if (c.verb === 'MAIL' && count === 2) return ['503 5.5.0 pipelining not allowed'];
        if (c.verb === 'BDAT' && count === 2) return 'drop';
        return undefined;
      },
    });
    const client = await connect(server);
    const [first, second] = await Promise.allSettled([client.send(envelope(1), body(1)), client.send(envelope(2), body(2))]);
    expect(first).toMatchObject({ status: 'fulfilled' });
    expect(second).toMatchObject({ status: 'rejected', reason: { name: 'ConnectionError', transient: true, ambiguous: false } });
  });
});

describe('a stray reply in its own segment inside a pipelined group', () => {
  it('cannot be told from a reply by counting, but a 2xx cannot answer DATA: the connection fails at once', async () => {
    // A raw server: the first group's replies, a stray, then (later, in its own segment) the 354.
    // Counting alone took the stray for DATA's reply, took the late 354 for the next RSET's, and
    // the second message waited out commandMs. A 2xx to DATA is a protocol violation now.
    const sockets: net.Socket[] = [];
    const received: string[] = [];
    const messages: string[] = [];
    const raw = net.createServer((socket) => {
      sockets.push(socket);
      socket.write('220 raw.test ESMTP\r\n');
      // In order, as a real server: after DATA it is in data mode, whatever comes next is message text.
      let mode: 'command' | 'data' = 'command';
      let text = '';
      socket.on('data', (chunk) => {
        received.push(chunk.toString('latin1'));
        text += chunk.toString('latin1');
        if (mode === 'data') {
          const end = text.indexOf('\r\n.\r\n');
          if (end >= 0) {
            messages.push(text.slice(0, end));
            socket.write('250 2.0.0 queued\r\n');
          }
          return;
        }
        if (text.startsWith('EHLO')) socket.write('250-raw.test\r\n250 PIPELINING\r\n');
        else if (text.includes('DATA\r\n')) {
          mode = 'data';
          socket.write('250 2.1.0 ok\r\n250 2.1.5 ok\r\n250 2.0.0 stray\r\n');
          setTimeout(() => socket.write('354 go ahead\r\n'), 200);
        }
        text = '';
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const port = (raw.address() as net.AddressInfo).port;
      // The default command timeout (30 s): a stall would fail the test, not end in a TimeoutError.
      const client = await SmtpClient.connect({ host: '127.0.0.1', port, security: 'none', clientName: 'client.test' });
      clients.push(client);
      const [first, second] = await Promise.allSettled([client.send(envelope(1), body(1)), client.send(envelope(2), body(2))]);
      // The stray lands on DATA: the connection fails there; neither message was sent.
      expect(first).toMatchObject({
        status: 'rejected',
        reason: { name: 'ProtocolError', phase: 'data', transient: true, ambiguous: false, message: expect.stringContaining('250 2.0.0 stray') },
      });
      expect(second).toMatchObject({ status: 'rejected', reason: { name: 'ProtocolError', transient: true, ambiguous: false } });
      expect(client.closed).toBe(true);
      // Nothing was written after the first group: no RSET, no second envelope, no message text.
      expect(received.at(-1)).toMatch(/^MAIL FROM:<a@example.com>\r\nRCPT TO:<r1@example.com>\r\nDATA\r\n$/);
      expect(received.join('')).not.toContain('message 1');
      expect(messages).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });
});
