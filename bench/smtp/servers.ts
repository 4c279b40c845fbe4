/**
 * The SMTP servers the benchmark sends to: `smtp-server` (PIPELINING, no CHUNKING) in the
 * server child process, and a private Postfix (PIPELINING and CHUNKING).
 * @module
 */
import { startPostfix } from '../../test/support/postfix.js';
import { recipientCount, type BenchMessage } from './messages.js';
import type { RemoteServers, SmtpTarget } from './remoteServers.js';

/** A running server under test. */
export interface BenchServer {
  name: string;
  target: SmtpTarget;
  /**
   * Waits until everything `messages` were sent to has landed, then forgets it (so the next run
   * starts clean and with the server idle).
   * @throws Error when something is missing.
   */
  collect(messages: BenchMessage[]): Promise<void>;
  stop(): Promise<void>;
}

/** `smtp-server` in the child process. */
export async function startSmtpServerTarget(remote: RemoteServers): Promise<BenchServer> {
  const target = await remote.startSmtpServer();
  return {
    name: 'smtp-server (PIPELINING)',
    target,
    async collect(messages) {
      const received = await remote.takeSmtpMessages();
      const recipients = received.reduce((sum, message) => sum + message.to, 0);
      if (received.length !== messages.length || recipients !== recipientCount(messages)) {
        throw new Error(
          `smtp-server got ${received.length} messages for ${recipients} recipients, expected ${messages.length} for ${recipientCount(messages)}`,
        );
      }
    },
    stop: () => Promise.resolve(), // stops with the child process
  };
}

/** A private Postfix with CHUNKING. @throws Error from `startPostfix` (not root, not installed, did not start). */
export async function startPostfixTarget(): Promise<BenchServer> {
  const postfix = await startPostfix({ chunking: true });
  return {
    name: 'Postfix (PIPELINING, CHUNKING)',
    target: { host: postfix.host, port: postfix.port, ca: postfix.ca, user: postfix.user, pass: postfix.pass },
    async collect(messages) {
      const expected = recipientCount(messages);
      const landed = await postfix.waitForMessages(expected, 60_000);
      await postfix.clearMailbox();
      if (landed.length !== expected) throw new Error(`Postfix delivered ${landed.length} copies, expected ${expected}`);
    },
    stop: () => postfix.stop(),
  };
}
