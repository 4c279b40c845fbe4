/**
 * A streamed message is never held whole: 64 MiB go through `smtp-server` (in-process, which only
 * hashes and counts what it gets; DATA), and through a minimal CHUNKING server of this file that
 * does the same with BDAT in a child process (smtp-server has no CHUNKING, the scripted server keeps every byte),
 * while this process's memory is sampled. A memory bound, not a time bound.
 */
import { spawn } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { SMTPServer } from 'smtp-server';
import { afterEach, expect, it } from 'vitest';
import { SmtpClient, type MessageStream } from '../../lib/smtp/index.js';

const MESSAGE_BYTES = 64 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

let server: SMTPServer | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** 64 KiB of 1024 CRLF lines of 64 octets, one line in four starting with a dot (so DATA stuffs it). */
function chunk(seed: number): Buffer {
  const lines = Array.from({ length: 1024 }, (_, n) => `${n % 4 === 0 ? '.' : 'L'}${String(seed).padStart(6, '0')}${'x'.repeat(55)}\r\n`);
  return Buffer.from(lines.join(''));
}

/** A 64 MiB stream of a few distinct chunks yielded again and again (never changed after they are yielded), hashed as it goes. */
function source(): { stream: MessageStream; hash: Hash } {
  const chunks = Array.from({ length: 16 }, (_, n) => chunk(n));
  const hash = createHash('sha256');
  function* repeated(): Generator<Buffer> {
    for (let n = 0; n < MESSAGE_BYTES / CHUNK_BYTES; n += 1) {
      const next = chunks[n % chunks.length]!;
      hash.update(next);
      yield next;
    }
  }
  // A Node Readable, as an S3 body or a file stream is.
  const stream: MessageStream = {
    size: MESSAGE_BYTES,
    chunks: () => Readable.from(repeated()),
  };
  return { stream, hash };
}

/** Sends `stream` to the server on `port` while sampling memory; returns the peak growth of arrayBuffers and rss. */
async function sendMeasured(port: number, stream: MessageStream): Promise<{ arrayBuffers: number; rss: number }> {
  const client = await SmtpClient.connect({ host: '127.0.0.1', port, security: 'none', clientName: 'client.test' });
  const before = process.memoryUsage();
  let peak = before;
  const sampler = setInterval(() => {
    const now = process.memoryUsage();
    peak = { ...peak, rss: Math.max(peak.rss, now.rss), arrayBuffers: Math.max(peak.arrayBuffers, now.arrayBuffers) };
  }, 10);
  try {
    const result = await client.send({ from: 'a@example.com', to: ['b@example.com'] }, stream);
    expect(result.accepted).toEqual(['b@example.com']);
  } finally {
    clearInterval(sampler);
    await client.quit();
  }
  return { arrayBuffers: peak.arrayBuffers - before.arrayBuffers, rss: peak.rss - before.rss };
}

const mib = (octets: number) => `${(octets / 2 ** 20).toFixed(1)} MiB`;

it('streams 64 MiB over DATA with memory growth far below the message size, and the server gets every octet', async () => {
  let received = 0;
  const serverHash = createHash('sha256');
  server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    size: 2 * MESSAGE_BYTES,
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', (data: Buffer) => {
        received += data.length;
        serverHash.update(data);
      });
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const { stream, hash } = source();

  const growth = await sendMeasured(port, stream);

  expect(received).toBe(MESSAGE_BYTES);
  expect(serverHash.digest('hex')).toBe(hash.digest('hex'));
  console.log(`64 MiB streamed over DATA: peak growth arrayBuffers ${mib(growth.arrayBuffers)}, rss ${mib(growth.rss)}`);
  expect(growth.arrayBuffers).toBeLessThan(16 * 1024 * 1024);
  expect(growth.rss).toBeLessThan(32 * 1024 * 1024);
}, 120_000);

/**
 * A CHUNKING server, in a child process (so that what it reads is not counted as this process's
 * memory), that answers every command 250 and hashes BDAT octets without keeping them. It prints
 * its port, then, once the client quits, `{ received, hash, bdats }` as JSON.
 */
const COUNTING_SERVER = `
const net = require('node:net');
const { createHash } = require('node:crypto');
const hash = createHash('sha256');
const bdats = [];
let received = 0;
const server = net.createServer((socket) => {
  let pending = Buffer.alloc(0);
  let remaining = 0;
  socket.write('220 counting.test ESMTP\\r\\n');
  socket.on('data', (data) => {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    for (;;) {
      if (remaining > 0) {
        const part = pending.subarray(0, remaining);
        hash.update(part);
        received += part.length;
        remaining -= part.length;
        pending = pending.subarray(part.length);
        if (remaining > 0) return;
        socket.write('250 2.0.0 chunk ok\\r\\n');
        continue;
      }
      const end = pending.indexOf('\\r\\n');
      if (end < 0) return;
      const line = pending.subarray(0, end).toString();
      pending = pending.subarray(end + 2);
      const bdat = /^BDAT (\\d+)/.exec(line);
      if (bdat) {
        bdats.push(line);
        remaining = Number(bdat[1]);
        if (remaining === 0) socket.write('250 2.0.0 chunk ok\\r\\n');
      } else if (line.startsWith('EHLO')) socket.write('250-counting.test\\r\\n250-PIPELINING\\r\\n250-8BITMIME\\r\\n250 CHUNKING\\r\\n');
      else if (line === 'QUIT') {
        socket.end('221 2.0.0 bye\\r\\n');
        console.log(JSON.stringify({ received, hash: hash.digest('hex'), bdats }));
        server.close();
      } else socket.write('250 2.0.0 ok\\r\\n');
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

it('streams 64 MiB as BDAT chunks with memory growth far below the message size, and the server gets every octet', async () => {
  const child = spawn(process.execPath, ['-e', COUNTING_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const port = Number((await lines.next()).value);
    const { stream, hash } = source();

    const growth = await sendMeasured(port, stream);

    const report = JSON.parse(String((await lines.next()).value)) as { received: number; hash: string; bdats: string[] };
    expect(report).toEqual({
      received: MESSAGE_BYTES,
      hash: hash.digest('hex'),
      bdats: [...Array.from({ length: 64 }, () => 'BDAT 1048576'), 'BDAT 0 LAST'],
    });
    console.log(`64 MiB streamed as BDAT: peak growth arrayBuffers ${mib(growth.arrayBuffers)}, rss ${mib(growth.rss)}`);
    expect(growth.arrayBuffers).toBeLessThan(16 * 1024 * 1024);
    expect(growth.rss).toBeLessThan(32 * 1024 * 1024);
  } finally {
    child.kill();
  }
}, 120_000);
