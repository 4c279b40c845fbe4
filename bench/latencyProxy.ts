/**
 * A TCP proxy on 127.0.0.1 that adds real round-trip latency in front of an SMTP server and
 * counts the round trips a client spends. TLS (STARTTLS included) passes through untouched.
 * @module
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** What crossed the proxy since the last {@link LatencyProxy.reset}, summed over its connections. */
export interface ProxyStats {
  /** Chunks read from clients (about one per client write: TCP_NODELAY on loopback). */
  clientWrites: number;
  /** Chunks read from the server. */
  serverWrites: number;
  /**
   * Round trips: client chunks that arrived after at least one server chunk since that
   * connection's previous client chunk (a client that waits for a reply before writing again).
   */
  turns: number;
  /** Connections accepted. */
  connections: number;
}

/** Options of {@link startLatencyProxy}. */
export interface LatencyProxyOptions {
  target: { host: string; port: number };
  /** Round-trip time to add: each chunk (and each close) is forwarded `rttMs / 2` after it arrived, in order. */
  rttMs: number;
}

/** A running latency proxy. */
export interface LatencyProxy {
  host: '127.0.0.1';
  port: number;
  readonly rttMs: number;
  /** Live counters (the same object throughout). */
  readonly stats: ProxyStats;
  /** Zeroes the counters. */
  reset(): void;
  /** Resolves once no connection through the proxy is open any more. */
  idle(): Promise<void>;
  /** Destroys the open connections and closes the listener. */
  stop(): Promise<void>;
}

/**
 * Starts a latency proxy on 127.0.0.1, port 0, forwarding to `target`.
 *
 * @example
 * ```ts
 * const proxy = await startLatencyProxy({ target: { host: '127.0.0.1', port: server.port }, rttMs: 40 });
 * // connect the client to proxy.host:proxy.port (certificates still name the real server)
 * console.log(proxy.stats.turns);
 * await proxy.stop();
 * ```
 */
export async function startLatencyProxy(options: LatencyProxyOptions): Promise<LatencyProxy> {
  const oneWayMs = options.rttMs / 2;
  const stats: ProxyStats = { clientWrites: 0, serverWrites: 0, turns: 0, connections: 0 };
  const open = new Set<net.Socket>();
  let idleWaiters: Array<() => void> = [];

  // Timers of the same duration fire in the order they were set, so forwarding keeps byte order.
  const later = (action: () => void): void => {
    if (oneWayMs <= 0) action();
    else setTimeout(action, oneWayMs);
  };

  const server = net.createServer((client) => {
    stats.connections++;
    const upstream = net.connect(options.target.port, options.target.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    open.add(client);
    let serverSpoke = false;

    client.on('data', (chunk: Buffer) => {
      stats.clientWrites++;
      if (serverSpoke) stats.turns++;
      serverSpoke = false;
      later(() => upstream.write(chunk));
    });
    upstream.on('data', (chunk: Buffer) => {
      stats.serverWrites++;
      serverSpoke = true;
      later(() => client.write(chunk));
    });
    client.on('end', () => later(() => upstream.end()));
    upstream.on('end', () => later(() => client.end()));
    const tearDown = (): void => later(() => (client.destroy(), upstream.destroy()));
    client.on('error', tearDown);
    upstream.on('error', tearDown);
    client.on('close', () => {
      later(() => upstream.destroy());
      open.delete(client);
      if (open.size === 0) for (const wake of idleWaiters.splice(0)) wake();
    });
    upstream.on('close', () => later(() => client.end()));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });

  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    rttMs: options.rttMs,
    stats,
    reset() {
      Object.assign(stats, { clientWrites: 0, serverWrites: 0, turns: 0, connections: 0 });
    },
    idle: () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        idleWaiters = [];
        server.close(() => resolve());
      }),
  };
}
