/**
 * The benchmark's handle on its server child process (`serverProcess.ts`): start `smtp-server`
 * and latency proxies there, read the proxies' round-trip counters.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProxyStats } from '../latencyProxy.js';

/** The requests the child understands. */
export type ServerRequest =
  | { op: 'startSmtpServer' }
  | { op: 'takeSmtpMessages' }
  | { op: 'startProxy'; target: { host: string; port: number }; rttMs: number }
  | { op: 'proxyStats' | 'resetProxy' | 'proxyIdle' | 'stopProxy'; id: number }
  | { op: 'shutdown' };

/** Where and as whom a client sends. */
export interface SmtpTarget {
  host: string;
  port: number;
  ca: string;
  user: string;
  pass: string;
}

/** A latency proxy living in the child process. */
export interface RemoteProxy {
  host: string;
  port: number;
  stats(): Promise<ProxyStats>;
  reset(): Promise<void>;
  /** Resolves once every connection through the proxy has closed. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** The child process hosting the servers and proxies of the SMTP benchmark. */
export class RemoteServers {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (message: Reply | { ready: true }) => {
      if (!('id' in message)) return;
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.ok) waiter?.resolve(message.result);
      else waiter?.reject(new Error(`server process: ${message.error}`));
    });
    child.on('exit', (code) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`server process exited (${code})`));
      this.waiting.clear();
    });
  }

  /** Forks the child (with this process's runtime flags, so the TypeScript loader comes along). */
  static async start(): Promise<RemoteServers> {
    const child = fork(fileURLToPath(new URL('./serverProcess.ts', import.meta.url)), { stdio: 'inherit' });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`server process exited before it was ready (${code})`)));
    });
    return new RemoteServers(child);
  }

  private call<T>(request: ServerRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: (value) => resolve(value as T), reject });
      this.child.send({ id, request });
    });
  }

  /** Starts (once) `smtp-server` with STARTTLS and AUTH required, PIPELINING, no CHUNKING. */
  startSmtpServer(): Promise<SmtpTarget> {
    return this.call({ op: 'startSmtpServer' });
  }

  /** Returns and forgets what `smtp-server` received so far (recipient count and size of each message). */
  takeSmtpMessages(): Promise<Array<{ to: number; bytes: number }>> {
    return this.call({ op: 'takeSmtpMessages' });
  }

  /** Starts a latency proxy in front of `target`. */
  async startProxy(target: { host: string; port: number }, rttMs: number): Promise<RemoteProxy> {
    const { id, host, port } = await this.call<{ id: number; host: string; port: number }>({ op: 'startProxy', target, rttMs });
    return {
      host,
      port,
      stats: () => this.call({ op: 'proxyStats', id }),
      reset: () => this.call({ op: 'resetProxy', id }),
      idle: () => this.call({ op: 'proxyIdle', id }),
      stop: () => this.call({ op: 'stopProxy', id }),
    };
  }

  /** Stops everything in the child and lets it exit. */
  async shutdown(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await this.call({ op: 'shutdown' });
    await exited;
  }
}
