/**
 * A TCP proxy between the function and the relay that breaks some connections on purpose, as a
 * network and a sick relay do: it cuts a connection at a random byte offset in either direction,
 * right after the client's end of data has reached the relay (swallowing the relay's reply), or
 * stalls one direction for a while (then goes on, or cuts). Each connection's fate is drawn when
 * it is accepted; every fault is logged with the connection's id (`c12`).
 *
 * It also watches what reaches the client: a relay reply `… queued as C17` forwarded in full marks
 * copy C17 as acknowledged. A copy whose reply never reached the client is one the function could
 * not know was delivered (the end of data sent without a reply): its duplicate is unavoidable.
 * @module
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FaultLog } from './FaultLog.js';
import type { SeededRandom } from './random.js';

/** The proxy's fault rates (chances per connection) and sizes. */
export interface SmtpProxyFaults {
  /** Cut at a random offset of what the client sends. */
  dropClientToServer: number;
  /** Cut at a random offset of what the relay sends. */
  dropServerToClient: number;
  /** Cut right after the n-th end of data reached the relay, before its reply gets back. */
  dropAfterDot: number;
  /** Hold the relay's reply to the n-th end of data for {@link stallMs} (a relay stalling after the last dot), then pass it on. */
  stallAfterDot: number;
  /** Hold one direction at a random offset for {@link stallMs}, then go on or cut. */
  stall: number;
  /** Stall length range, milliseconds. */
  stallMs: [number, number];
  /** Offsets are drawn up to about this many bytes (client side; the relay side a fifth of it). */
  spanBytes: number;
}

type Direction = 'c2s' | 's2c';
type Plan =
  | { kind: 'none' }
  | { kind: 'drop'; dir: Direction; at: number }
  | { kind: 'dropAfterDot'; dot: number }
  | { kind: 'stallAfterDot'; dot: number; ms: number }
  | { kind: 'stall'; dir: Direction; at: number; ms: number; thenDrop: boolean };

/** The running proxy. */
export interface SmtpFaultProxy {
  port: number;
  /** Copy ids whose final reply was forwarded in full to the client. */
  acknowledged: Set<string>;
  /** The proxy connection of a relay-side port (the upstream socket's local port). */
  connOf(relayPort: number): string | undefined;
  /** Told of each copy as its final reply reaches the client (the run kills some invocations then). */
  onAcknowledged?: (copyId: string) => void;
  stop(): Promise<void>;
}

const END_OF_DATA = Buffer.from('\r\n.\r\n');

/**
 * Starts the proxy on 127.0.0.1, port 0, in front of `target`.
 * @example
 * const proxy = await startSmtpFaultProxy(relay.port, faults, SeededRandom.fork(seed, 'smtp'), log);
 */
export async function startSmtpFaultProxy(targetPort: number, faults: SmtpProxyFaults, random: SeededRandom, log: FaultLog): Promise<SmtpFaultProxy> {
  const acknowledged = new Set<string>();
  // eslint-disable-next-line prefer-const -- assigned once the listener is up; the connections read it later
  let proxy: SmtpFaultProxy;
  const byPort = new Map<number, string>();
  const open = new Set<net.Socket>();
  let count = 0;

  const drawPlan = (): Plan => {
    const roll = random.next();
    const edges = [faults.dropClientToServer, faults.dropServerToClient, faults.dropAfterDot, faults.stall, faults.stallAfterDot].map((_, i, all) =>
      all.slice(0, i + 1).reduce((sum, p) => sum + p, 0),
    );
    if (roll < edges[0]!) return { kind: 'drop', dir: 'c2s', at: random.int(0, faults.spanBytes) };
    if (roll < edges[1]!) return { kind: 'drop', dir: 's2c', at: random.int(0, Math.round(faults.spanBytes / 5)) };
    if (roll < edges[2]!) return { kind: 'dropAfterDot', dot: random.int(1, 4) };
    if (roll >= edges[3]! && roll < edges[4]!) return { kind: 'stallAfterDot', dot: random.int(1, 4), ms: random.int(...faults.stallMs) };
    if (roll < edges[3]!) {
      const dir = random.pick(['c2s', 's2c'] as const);
      return {
        kind: 'stall',
        dir,
        at: random.int(0, dir === 'c2s' ? faults.spanBytes : Math.round(faults.spanBytes / 5)),
        ms: random.int(...faults.stallMs),
        thenDrop: random.chance(0.5),
      };
    }
    return { kind: 'none' };
  };

  const server = net.createServer((client) => {
    const id = `c${(count += 1)}`;
    const plan = drawPlan();
    const upstream = net.connect(targetPort, '127.0.0.1');
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    open.add(client);
    open.add(upstream);
    upstream.once('connect', () => byPort.set(upstream.localPort!, id));

    const sent: Record<Direction, number> = { c2s: 0, s2c: 0 };
    const held: Record<Direction, Buffer[]> = { c2s: [], s2c: [] };
    const stalled: Record<Direction, boolean> = { c2s: false, s2c: false };
    let dots = 0;
    let dotTail = Buffer.alloc(0);
    let swallowReply = false;
    let holdReply = false;
    let replyLine = '';
    let cut = false;
    const ended: Record<Direction, boolean> = { c2s: false, s2c: false };

    const cutBoth = (): void => {
      if (cut) return;
      cut = true;
      client.destroy();
      upstream.destroy();
    };
    /** Writes to the other side; calls `then` once the bytes are handed to the kernel. */
    const write = (dir: Direction, bytes: Buffer, then?: () => void): void => {
      const to = dir === 'c2s' ? upstream : client;
      if (cut || to.destroyed) return;
      sent[dir] += bytes.length;
      to.write(bytes, (error) => {
        if (error) return;
        if (dir === 's2c') noteReplies(bytes);
        then?.();
      });
    };
    const noteReplies = (bytes: Buffer): void => {
      replyLine += bytes.toString('latin1');
      const lines = replyLine.split('\r\n');
      replyLine = lines.pop() ?? '';
      for (const line of lines) {
        const copy = /queued as (C\d+)/.exec(line)?.[1];
        if (copy === undefined) continue;
        acknowledged.add(copy);
        proxy.onAcknowledged?.(copy);
      }
    };

    const forward = (dir: Direction, chunk: Buffer): void => {
      if (cut) return;
      if (stalled[dir]) {
        held[dir].push(chunk);
        return;
      }
      if (dir === 's2c' && swallowReply) {
        log.add('smtpDropAfterDot', `reply swallowed (${JSON.stringify(chunk.toString('latin1').slice(0, 40))})`, id);
        cutBoth();
        return;
      }
      if (dir === 's2c' && holdReply && plan.kind === 'stallAfterDot') {
        holdReply = false;
        log.add('smtpStall', `reply to end of data #${plan.dot} held for ${plan.ms} ms`, id);
        stalled.s2c = true;
        held.s2c.push(chunk);
        setTimeout(() => {
          stalled.s2c = false;
          for (const piece of held.s2c.splice(0)) forward('s2c', piece);
          if (ended.s2c) finish('s2c');
        }, plan.ms).unref();
        return;
      }
      if ((plan.kind === 'drop' || plan.kind === 'stall') && plan.dir === dir && sent[dir] + chunk.length >= plan.at) {
        const head = chunk.subarray(0, plan.at - sent[dir]);
        const rest = chunk.subarray(head.length);
        if (plan.kind === 'drop') {
          log.add(dir === 'c2s' ? 'smtpDropClientToServer' : 'smtpDropServerToClient', `after ${plan.at} bytes`, id);
          write(dir, head, cutBoth);
          if (head.length === 0) cutBoth();
          return;
        }
        log.add('smtpStall', `${dir} after ${plan.at} bytes for ${plan.ms} ms, then ${plan.thenDrop ? 'cut' : 'resumed'}`, id);
        write(dir, head);
        stalled[dir] = true;
        held[dir].push(rest);
        (plan as { at: number }).at = Number.POSITIVE_INFINITY; // once
        setTimeout(() => {
          if (plan.thenDrop) {
            cutBoth();
            return;
          }
          stalled[dir] = false;
          for (const piece of held[dir].splice(0)) forward(dir, piece);
          if (ended[dir]) finish(dir);
        }, plan.ms).unref();
        return;
      }
      if (dir === 'c2s' && (plan.kind === 'dropAfterDot' || plan.kind === 'stallAfterDot') && !swallowReply && !holdReply) {
        const scan = Buffer.concat([dotTail, chunk]);
        let from = 0;
        for (;;) {
          const at = scan.indexOf(END_OF_DATA, from);
          if (at === -1) break;
          dots += 1;
          from = at + END_OF_DATA.length;
          if (dots === plan.dot && plan.kind === 'stallAfterDot') {
            holdReply = true;
            break;
          }
          if (dots === plan.dot) {
            // Forward up to and including this dot; nothing after it; cut when the reply comes.
            const end = from - dotTail.length;
            swallowReply = true;
            write(dir, chunk.subarray(0, end));
            setTimeout(cutBoth, 5000).unref(); // a relay that never answers: cut anyway
            return;
          }
        }
        dotTail = scan.subarray(Math.max(0, scan.length - (END_OF_DATA.length - 1)));
      }
      write(dir, chunk);
    };

    client.on('data', (chunk: Buffer) => forward('c2s', chunk));
    upstream.on('data', (chunk: Buffer) => forward('s2c', chunk));
    // A side that goes away while its direction is stalled is passed on after the held bytes.
    const finish = (dir: Direction): void => {
      if (stalled[dir]) ended[dir] = true;
      else (dir === 'c2s' ? upstream : client).end();
    };
    client.on('end', () => finish('c2s'));
    upstream.on('end', () => finish('s2c'));
    client.on('error', () => finish('c2s'));
    upstream.on('error', () => finish('s2c'));
    client.on('close', () => {
      open.delete(client);
      finish('c2s');
    });
    upstream.on('close', () => {
      open.delete(upstream);
      finish('s2c');
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  proxy = {
    port: (server.address() as AddressInfo).port,
    acknowledged,
    connOf: (relayPort) => byPort.get(relayPort),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return proxy;
}
