import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLatencyProxy, type LatencyProxy } from '../../bench/latencyProxy.js';

// The benchmark's proxy: bytes pass unchanged and in order, and round trips are counted.

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server that answers every chunk with `ack:<chunk>` and greets with `hello`. */
async function startEchoServer(): Promise<number> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.write('hello');
    socket.on('data', (chunk) => socket.write(`ack:${chunk.toString()}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

async function proxyTo(port: number, rttMs: number): Promise<LatencyProxy> {
  const proxy = await startLatencyProxy({ target: { host: '127.0.0.1', port }, rttMs });
  cleanups.push(() => proxy.stop());
  return proxy;
}

function connect(proxy: LatencyProxy): Promise<{ socket: net.Socket; received: () => string; until: (text: string) => Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect(proxy.port, proxy.host, () => resolve({ socket, received: () => text, until }));
    socket.setNoDelay(true);
    let text = '';
    const waiters: Array<() => void> = [];
    socket.on('data', (chunk) => {
      text += chunk.toString();
      for (const wake of waiters.splice(0)) wake();
    });
    const until = async (wanted: string): Promise<void> => {
      while (!text.endsWith(wanted)) await new Promise<void>((wake) => waiters.push(wake));
    };
  });
}

describe('startLatencyProxy', () => {
  it('counts one turn per client write that follows a server reply', async () => {
    const proxy = await proxyTo(await startEchoServer(), 0);
    const client = await connect(proxy);
    await client.until('hello');
    for (const word of ['one', 'two', 'three']) {
      client.socket.write(word);
      await client.until(`ack:${word}`);
    }
    expect(client.received()).toBe('helloack:oneack:twoack:three');
    expect(proxy.stats).toEqual({ clientWrites: 3, serverWrites: 4, turns: 3, connections: 1 });
    client.socket.destroy();
    await proxy.idle();
    proxy.reset();
    expect(proxy.stats).toEqual({ clientWrites: 0, serverWrites: 0, turns: 0, connections: 0 });
  });

  it('keeps byte order across many separately written chunks under delay', async () => {
    const proxy = await proxyTo(await startEchoServer(), 10);
    const client = await connect(proxy);
    await client.until('hello');
    const pieces = Array.from({ length: 50 }, (_, i) => `<${i}>`);
    for (const piece of pieces) {
      client.socket.write(piece);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await client.until('<49>');
    expect(client.received().replace(/ack:/g, '')).toBe(`hello${pieces.join('')}`);
    expect(proxy.stats.clientWrites).toBeGreaterThan(1);
  });
});
