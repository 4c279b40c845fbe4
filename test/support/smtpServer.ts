/**
 * A real SMTP server (the npm `smtp-server` package) run inside the test process on
 * 127.0.0.1, port 0: STARTTLS with the test certificate, AUTH PLAIN/LOGIN against one user,
 * an optional SIZE limit, and hooks so one test can override one reply. It records exactly
 * what it received: each message's envelope, MAIL parameters and raw content, and every AUTH attempt.
 * @module
 */
import type { AddressInfo, Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAddress, SMTPServerDataStream, SMTPServerSession, SMTPServerOptions } from 'smtp-server';
import { testCertificates } from './certificates.js';

/** A reply a hook gives instead of the server's own: `{ code: 550, message: 'No such user' }`. Codes below 400 accept. The server adds the enhanced status code itself. */
export interface SmtpServerReply {
  code: number;
  message: string;
}

type Awaitable<T> = T | Promise<T>;

/** Options of {@link startSmtpServer}; every one is optional. */
export interface SmtpServerOptions {
  /** @default 'tester' */
  user?: string;
  /** @default 'correct horse battery' */
  pass?: string;
  /** SIZE limit in octets: announced in EHLO, checked against `MAIL ... SIZE=`, and a larger message is refused with 552. */
  size?: number;
  /** With `size`: EHLO says `SIZE` without the figure, so a client cannot check first; the server still answers 552 after an oversized message. */
  hideSize?: boolean;
  /** Mail and AUTH only after STARTTLS (530 before it). `false` also allows AUTH in clear. @default true */
  requireTls?: boolean;
  /** `true`: AUTH required before MAIL; `'optional'`: offered, not required; `false`: AUTH not offered at all. @default true */
  auth?: boolean | 'optional';
  /** @default ['PLAIN', 'LOGIN'] */
  authMethods?: Array<'PLAIN' | 'LOGIN' | 'XOAUTH2'>;
  /** After a failed AUTH, reply 535 and then close the connection. @default false */
  closeOnAuthFailure?: boolean;
  /** STARTTLS not announced in EHLO (the command still works if sent). */
  hideSTARTTLS?: boolean;
  /** STARTTLS not available at all (502 if sent). Implies `requireTls: false`. */
  disableSTARTTLS?: boolean;
  hidePIPELINING?: boolean;
  hide8BITMIME?: boolean;
  hideSMTPUTF8?: boolean;
  hideENHANCEDSTATUSCODES?: boolean;
  /** Refuse recipients past this many per transaction with `452 4.5.3 Error: too many recipients` (smtp-server's own `maxRecipients`). */
  maxRecipients?: number;
  /** Speak LMTP (LHLO, one reply per recipient after the data). */
  lmtp?: boolean;
  /** Overrides the reply to MAIL FROM; return nothing for the normal 250. */
  onMailFrom?: (address: string, session: SMTPServerSession) => Awaitable<SmtpServerReply | undefined>;
  /** Overrides the reply to one RCPT TO, e.g. 550 for one recipient and 450 for another. */
  onRcptTo?: (address: string, session: SMTPServerSession) => Awaitable<SmtpServerReply | undefined>;
  /**
   * Overrides the reply after the data. The message is recorded in `messages` only when it is
   * accepted. In LMTP, an array gives one reply per recipient, in RCPT order.
   */
  onData?: (raw: Buffer, session: SMTPServerSession) => Awaitable<SmtpServerReply | SmtpServerReply[] | undefined>;
}

/** One message the server accepted, exactly as received. */
export interface ReceivedMessage {
  from: string;
  to: string[];
  /** The content after dot-unstuffing, with its CRLF line ends, without the final dot. */
  raw: Buffer;
  /** TLS was active when the message came. */
  secure: boolean;
  /** The authenticated user name, if any. */
  user?: string;
  /** MAIL FROM carried SMTPUTF8. */
  utf8?: boolean;
  /** The BODY= parameter of MAIL FROM as sent (e.g. `'8BITMIME'`), when present. */
  body8bit?: string;
  /** Every MAIL FROM parameter, keys upper case; a keyword without value is `true`. */
  mailArgs: Record<string, string | true>;
}

/** One AUTH exchange that reached the credential check. */
export interface AuthAttempt {
  method: string;
  user: string;
  ok: boolean;
}

/** A running test SMTP server. */
export interface SmtpServerHandle {
  host: '127.0.0.1';
  port: number;
  /** The CA that signed the server certificate (pass it as the client's `tls.ca`). */
  ca: string;
  user: string;
  pass: string;
  messages: ReceivedMessage[];
  authAttempts: AuthAttempt[];
  /** Closes every connection and the listener. */
  stop(): Promise<void>;
}

function replyError(reply: SmtpServerReply): Error & { responseCode: number } {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

/** Runs a hook and translates its answer into smtp-server's callback convention. */
function answerWith(hook: () => Awaitable<SmtpServerReply | undefined>, callback: (err?: Error | null) => void): void {
  Promise.resolve()
    .then(hook)
    .then(
      (reply) => callback(reply && reply.code >= 400 ? replyError(reply) : null),
      (err: unknown) => callback(replyError({ code: 451, message: `test hook failed: ${String(err)}` })),
    );
}

/** The whole message as received. */
async function readAll(stream: SMTPServerDataStream): Promise<Buffer> {
  return Buffer.concat((await stream.toArray()) as Buffer[]);
}

/**
 * Starts `smtp-server` on 127.0.0.1, port 0, with STARTTLS (the test certificate) and AUTH
 * PLAIN/LOGIN required by default.
 *
 * @example
 * ```ts
 * const server = await startSmtpServer({
 *   onRcptTo: (to) => (to === 'gone@example.com' ? { code: 550, message: 'No such user' } : undefined),
 * });
 * const client = await SmtpClient.connect({
 *   host: server.host, port: server.port, tls: { ca: server.ca }, auth: { user: server.user, pass: server.pass },
 * });
 * // ... then: server.messages[0].to, server.messages[0].raw
 * await server.stop();
 * ```
 */
export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<SmtpServerHandle> {
  const { ca, key, cert } = await testCertificates();
  const user = options.user ?? 'tester';
  const pass = options.pass ?? 'correct horse battery';
  const auth = options.auth ?? true;
  const requireTls = (options.requireTls ?? true) && !options.disableSTARTTLS;
  const messages: ReceivedMessage[] = [];
  const authAttempts: AuthAttempt[] = [];

  const disabledCommands: string[] = [];
  if (auth === false) disabledCommands.push('AUTH');
  if (options.disableSTARTTLS) disabledCommands.push('STARTTLS');

  const serverOptions: SMTPServerOptions = {
    key,
    cert,
    name: 'localhost',
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 500,
    authMethods: options.authMethods ?? ['PLAIN', 'LOGIN'],
    authOptional: auth !== true,
    allowInsecureAuth: !requireTls,
    disabledCommands,
    hideSTARTTLS: options.hideSTARTTLS ?? false,
    hidePIPELINING: options.hidePIPELINING ?? false,
    hide8BITMIME: options.hide8BITMIME ?? false,
    hideSMTPUTF8: options.hideSMTPUTF8 ?? false,
    hideENHANCEDSTATUSCODES: options.hideENHANCEDSTATUSCODES ?? false,
    lmtp: options.lmtp ?? false,
    ...(options.size === undefined ? {} : { size: options.size, rejectOversized: true, hideSize: options.hideSize ?? false }),
    ...(options.maxRecipients === undefined ? {} : { maxRecipients: options.maxRecipients }),

    onAuth(attempt, session, callback) {
      const name = attempt.username ?? '';
      const ok = name === user && attempt.password === pass;
      authAttempts.push({ method: attempt.method, user: name, ok });
      if (ok) {
        callback(null, { user: name });
        return;
      }
      callback(null, { responseCode: 535, message: 'Error: authentication failed' });
      if (options.closeOnAuthFailure) {
        // After the 535 has been written: find this session's connection and close it.
        setImmediate(() => {
          for (const connection of server.connections) if (connection.id === session.id) connection.close();
        });
      }
    },

    onMailFrom(address: SMTPServerAddress, session, callback) {
      const { onMailFrom } = options;
      if (requireTls && !session.secure) callback(replyError({ code: 530, message: 'Must issue a STARTTLS command first' }));
      else if (onMailFrom) answerWith(() => onMailFrom(address.address, session), callback);
      else callback();
    },

    onRcptTo(address: SMTPServerAddress, session, callback) {
      const { onRcptTo } = options;
      if (onRcptTo) answerWith(() => onRcptTo(address.address, session), callback);
      else callback();
    },

    onData(stream, session, callback) {
      readAll(stream)
        .then(async (raw) => {
          if (stream.sizeExceeded) {
            callback(replyError({ code: 552, message: 'Message exceeds the size limit' }));
            return;
          }
          const verdict = await options.onData?.(raw, session);
          const replies = verdict === undefined ? [] : Array.isArray(verdict) ? verdict : [verdict];
          if (replies.length === 0 || replies.some((reply) => reply.code < 400)) messages.push(record(raw, session));
          const [reply] = replies;
          if (reply === undefined) callback(null, 'OK: message queued');
          else if (options.lmtp && Array.isArray(verdict))
            callback(
              null,
              replies.map((each) => (each.code >= 400 ? replyError(each) : each.message)),
            );
          else if (reply.code >= 400) callback(replyError(reply));
          else callback(null, reply.message);
        })
        .catch((err: unknown) => callback(replyError({ code: 451, message: `test server failed: ${String(err)}` })));
    },
  };

  const server = new SMTPServer(serverOptions);
  // Replies go out at once (no Nagle wait for the client's ACK), as a tuned MTA does: round trips
  // measured through this server are then the protocol's, not the TCP stack's.
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  // A client that drops mid-session (EPIPE, ECONNRESET) is the client's business: smtp-server
  // re-emits it on the server, where an unheard 'error' would end the test process.
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    ca,
    user,
    pass,
    messages,
    authAttempts,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const connection of server.connections) connection.close();
        server.close(() => resolve());
      }),
  };
}

function record(raw: Buffer, session: SMTPServerSession): ReceivedMessage {
  const { mailFrom, rcptTo } = session.envelope;
  const mailArgs = (mailFrom && mailFrom.args) || {};
  const body = mailArgs['BODY'];
  return {
    from: mailFrom ? mailFrom.address : '',
    to: rcptTo.map((rcpt) => rcpt.address),
    raw,
    secure: session.secure,
    ...(typeof session.user === 'string' ? { user: session.user } : {}),
    utf8: mailArgs['SMTPUTF8'] === true,
    ...(typeof body === 'string' ? { body8bit: body } : {}),
    mailArgs: { ...mailArgs },
  };
}
