/**
 * An SMTP server of our own on a plain `net` socket, for the faults no real server produces on
 * cue: a 421 at any point, a drop before or after the final dot, silence, garbage, overlong
 * replies, bytes injected after the STARTTLS reply, HELO-only servers, and servers hardened against
 * SMTP smuggling. By default it is a sane, permissive ESMTP server (see {@link ScriptedConnection}).
 *
 * Every connection records exactly what arrived: each read chunk, every command line (and whether
 * TLS was active for it), and every message with its envelope.
 *
 * @module
 */
import net from 'node:net';
import { testCertificates } from './certificates.js';
import { ScriptedConnection } from './ScriptedConnection.js';
import type { ReceivedCommand, ScriptedMessage, ScriptedReply } from './ScriptedConnection.js';

export { ScriptedConnection, DEFAULT_EXTENSIONS } from './ScriptedConnection.js';
export type { ReceivedCommand, ScriptedMessage, ScriptedReply, AuthRecord } from './ScriptedConnection.js';

type Awaitable<T> = T | Promise<T>;

/** Options of {@link startScriptedServer}; every one is optional. */
export interface ScriptedServerOptions {
  /**
   * What the server says first. `'silent'` says nothing (a greeting timeout), `['421 4.3.2 Busy']`
   * refuses the session and closes.
   * @default ['220 scripted.test ESMTP ready'] (LMTP: `... LMTP ready`)
   */
  greeting?: ScriptedReply | ((connection: ScriptedConnection) => Awaitable<ScriptedReply>);
  /** Keywords announced in the EHLO reply, in order. */
  extensions?: string[];
  /** Keywords announced in the EHLO reply after STARTTLS. @default `extensions` without STARTTLS */
  extensionsAfterTls?: string[];
  /** EHLO is refused with `500` (HELO works): an old server the client must fall back to HELO for. */
  helloOnly?: boolean;
  /** Speak LMTP: LHLO, and one reply per accepted recipient after the data. */
  lmtp?: boolean;
  /** AUTH checks these credentials (535 5.7.8 when wrong); without them any credentials are accepted. */
  credentials?: { user: string; pass: string };
  /**
   * Hardened against SMTP smuggling (like Postfix's hardening): every command line whose bytes
   * had already arrived together with the end-of-data dot (pipelined after the dot) gets
   * `503 5.5.0 pipelining after data not allowed`.
   */
  rejectPipeliningAfterDot?: boolean;
  /**
   * Replaces the reply to one command. Return `undefined` for the default behaviour. Called for
   * every command line (not for AUTH continuation lines); for BDAT, once its octets have arrived.
   */
  onCommand?: (command: ReceivedCommand, connection: ScriptedConnection) => Awaitable<ScriptedReply | undefined>;
  /** Replaces the reply after a complete message (after the dot, or after `BDAT n LAST`'s octets). */
  onData?: (message: ScriptedMessage, connection: ScriptedConnection) => Awaitable<ScriptedReply | undefined>;
  /** Listen on this unix socket path instead of 127.0.0.1 (e.g. for LMTP over a unix socket). */
  socketPath?: string;
}

/** A running scripted server. */
export interface ScriptedServerHandle {
  host: '127.0.0.1';
  /** The TCP port (0 when listening on a unix socket). */
  port: number;
  /** The unix socket path, when `socketPath` was given. */
  path?: string;
  /** The CA that signed the STARTTLS certificate (the client's `tls.ca`). */
  ca: string;
  /** Every connection accepted so far, in order. */
  connections: ScriptedConnection[];
  /** Destroys every connection and closes the listener. */
  stop(): Promise<void>;
}

/**
 * Starts the scripted SMTP server on 127.0.0.1, port 0 (or on a unix socket).
 *
 * @example
 * ```ts
 * // 421 in the middle of the session: the second RCPT gets it and the server closes.
 * const server = await startScriptedServer({
 *   onCommand: (command, connection) =>
 *     command.verb === 'RCPT' && connection.transaction?.to.length === 1 ? ['421 4.3.2 Shutting down'] : undefined,
 * });
 * // The end of data arrives and the server drops the connection without a reply (ambiguous).
 * const dropping = await startScriptedServer({ onData: () => 'drop' });
 * // Assert the exact bytes and the writes: dropping.connections[0].chunks, .lines, .commands, .messages
 * ```
 */
export async function startScriptedServer(options: ScriptedServerOptions = {}): Promise<ScriptedServerHandle> {
  const certificates = await testCertificates();
  const connections: ScriptedConnection[] = [];
  const server = net.createServer((socket) => {
    connections.push(new ScriptedConnection(socket, options, certificates, connections.length));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (options.socketPath) server.listen(options.socketPath, () => resolve());
    else server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return {
    host: '127.0.0.1',
    port: typeof address === 'object' && address ? address.port : 0,
    ...(options.socketPath ? { path: options.socketPath } : {}),
    ca: certificates.ca,
    connections,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const connection of connections) connection.destroy();
        server.close(() => resolve());
      }),
  };
}
