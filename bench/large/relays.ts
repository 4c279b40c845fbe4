/**
 * The two relays of the `large` bench, both in this process's control so that a child's memory is
 * the handler's alone: smtp-server in-process (STARTTLS + AUTH, PIPELINING, no CHUNKING: every
 * message goes as DATA) and a private Postfix (STARTTLS + AUTH through Dovecot, CHUNKING) with its
 * `message_size_limit` well above 40 MB. Each tells what it received as raw messages.
 * @module
 */
import { startPostfix } from '../../test/support/postfix.js';
import { startSmtpServer } from '../../test/support/smtpServer.js';

/** Which relay: the in-process smtp-server (DATA only) or Postfix (CHUNKING). */
export type RelayKind = 'DATA' | 'CHUNKING';

/** A running relay of the bench. */
export interface BenchRelay {
  kind: RelayKind;
  host: '127.0.0.1';
  port: number;
  /** PEM of the CA that signed the relay's certificate. */
  ca: string;
  user: string;
  pass: string;
  /** Forgets what was received so far. */
  clear(): Promise<void>;
  /**
   * The messages received since {@link clear}, once `count` have come or `timeoutMs` has passed
   * (then fewer: a failed delivery shows, it does not throw).
   */
  received(count: number, timeoutMs: number): Promise<Buffer[]>;
  stop(): Promise<void>;
}

/** The SIZE both relays announce: well above the 40 MB messages (and the function's 40 MiB default). */
export const RELAY_SIZE_LIMIT = 64 * 1024 * 1024;

/**
 * Starts one relay.
 * @throws when Postfix is asked for and cannot start (not root, not installed: `bash scripts/postfix.sh install`)
 */
export async function startBenchRelay(kind: RelayKind): Promise<BenchRelay> {
  if (kind === 'DATA') {
    const server = await startSmtpServer({ size: RELAY_SIZE_LIMIT });
    return {
      kind,
      host: server.host,
      port: server.port,
      ca: server.ca,
      user: server.user,
      pass: server.pass,
      clear: () => {
        server.messages.splice(0);
        return Promise.resolve();
      },
      async received(count, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (server.messages.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
        return server.messages.map((message) => message.raw);
      },
      stop: () => server.stop(),
    };
  }
  const postfix = await startPostfix({ chunking: true, sizeLimit: RELAY_SIZE_LIMIT });
  return {
    kind,
    host: postfix.host,
    port: postfix.port,
    ca: postfix.ca,
    user: postfix.user,
    pass: postfix.pass,
    clear: () => postfix.clearMailbox(),
    async received(count, timeoutMs) {
      try {
        return (await postfix.waitForMessages(count, timeoutMs)).map((message) => message.raw);
      } catch {
        return (await postfix.readMailbox()).map((message) => message.raw);
      }
    },
    stop: () => postfix.stop(),
  };
}
