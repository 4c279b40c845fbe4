/**
 * The local run's SMTP server (npm `smtp-server`) on 127.0.0.1: STARTTLS with the local
 * certificate, AUTH PLAIN/LOGIN required (and only after STARTTLS), PIPELINING, SIZE; the
 * recipients of {@link RecipientRules} refuse; every accepted message goes to the {@link Mailbox}.
 * @module
 */
import type { Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { SmtpCredentials } from './stateDir.js';
import type { Mailbox, MailboxEntry, RefusedRecipient } from './Mailbox.js';
import { listenOn } from './ports.js';
import { RecipientRules } from './RecipientRules.js';

/**
 * Largest message the local server takes (announced as SIZE), as a relay would limit it: room for
 * what the largest job the producer takes (40 MiB of JSON, issue 11) becomes, whose base64 gains a
 * CRLF every 76 characters (+2.7 %), as SES takes 40 MB. At 25 MiB a 25 MiB attachment (a 35.9 MB
 * message) was dead-lettered as too large.
 */
export const LOCAL_SMTP_SIZE = 42 * 1024 * 1024;

/** Options of {@link startLocalSmtpServer}. */
export interface LocalSmtpServerOptions {
  port: number;
  tls: { key: string; cert: string };
  credentials: SmtpCredentials;
  mailbox: Mailbox;
  /** Told of each stored message. */
  onMessage?: (entry: MailboxEntry) => void;
}

/** A running local SMTP server. */
export interface LocalSmtpServer {
  port: number;
  /** Closes every connection and the listener. */
  stop(): Promise<void>;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/** The whole message as received. */
async function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return Buffer.concat((await stream.toArray()) as Buffer[]);
}

/**
 * Starts the server on `127.0.0.1:port`.
 * @throws {PortInUseError} when the port is taken (see ports.ts)
 * @example
 * const smtp = await startLocalSmtpServer({ port: 2587, tls, credentials, mailbox });
 */
export async function startLocalSmtpServer(options: LocalSmtpServerOptions): Promise<LocalSmtpServer> {
  const rules = new RecipientRules();
  /** Recipients refused in the transaction going on, by session. */
  const refusedBySession = new Map<string, RefusedRecipient[]>();

  const server = new SMTPServer({
    key: options.tls.key,
    cert: options.tls.cert,
    name: 'localhost',
    banner: 'outbound-mail local run',
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 500,
    size: LOCAL_SMTP_SIZE,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: false,

    onAuth(attempt, _session, callback) {
      const ok = attempt.username === options.credentials.user && attempt.password === options.credentials.pass;
      if (ok) callback(null, { user: attempt.username });
      else callback(null, { responseCode: 535, message: 'Authentication failed' });
    },

    onMailFrom(_address, session: SMTPServerSession, callback) {
      if (!session.secure) {
        callback(smtpError(530, 'Must issue a STARTTLS command first'));
        return;
      }
      refusedBySession.set(session.id, []);
      callback();
    },

    onRcptTo(address, session: SMTPServerSession, callback) {
      const verdict = rules.verdict(address.address);
      if (verdict.accept) {
        callback();
        return;
      }
      const refused = refusedBySession.get(session.id) ?? [];
      refused.push({ address: address.address, code: verdict.code });
      refusedBySession.set(session.id, refused);
      callback(smtpError(verdict.code, verdict.message));
    },

    onData(stream, session: SMTPServerSession, callback) {
      readAll(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) {
            callback(smtpError(552, 'Message exceeds the size limit'));
            return;
          }
          const entry = await options.mailbox.store({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            refused: refusedBySession.get(session.id) ?? [],
            raw,
          });
          refusedBySession.delete(session.id);
          options.onMessage?.(entry);
          callback(null, `OK: stored as ${entry.file}`);
        })
        .catch((error: unknown) => callback(smtpError(451, `Could not store the message: ${(error as Error).message}`)));
    },

    onClose(session: SMTPServerSession) {
      refusedBySession.delete(session.id);
    },
  });
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  server.on('error', () => {
    // a client that drops mid-session; nothing to do for the server
  });
  const port = await listenOn(server.server, options.port, 'SMTP', '--smtp-port');

  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections) connection.close();
        server.close(() => resolve());
      }),
  };
}
