/**
 * The SMTP client's public API (DESIGN.md, "The SMTP client contract"): connect, send, the
 * single commands, quit and close. The order bytes go out in is the {@link PipelineScheduler}'s.
 * @module
 */
import { checkCommandLine, checkVerifyArgument } from './arguments.js';
import type { ConnectionStats, SmtpConnection } from './connection.js';
import { ConnectionError, type SmtpError } from './errors.js';
import { PipelineScheduler } from './PipelineScheduler.js';
import { isPositive, type ReplyRule } from './reply.js';
import { openSession, type Session } from './session.js';
import { prepareTransaction } from './transaction.js';
import type { Capabilities, Envelope, MessageStream, SendResult, SmtpConnectOptions, SmtpPhase, SmtpReply } from './types.js';

/** Longest wait for the reply to QUIT: the session is over either way. */
const QUIT_TIMEOUT_MS = 5_000;

/**
 * An SMTP (or LMTP) client session with smtplib's semantics and full pipelining.
 *
 * `send` may be called many times without waiting: the messages are queued and, when the server
 * offers PIPELINING, one message's end of data and the next message's MAIL, RCPT and DATA leave in
 * one write (N messages: setup + N + 1 round trips). With CHUNKING, whole messages stream as
 * `BDAT n LAST` without waiting at all. A server that refuses commands pipelined after the end of
 * data (a hardening against SMTP smuggling) gets the unpipelined order for the rest of the session,
 * and the refused message is sent again, not failed.
 *
 * @example
 * const client = await SmtpClient.connect({ host: 'smtp.example.com', auth: { user, pass } });
 * const results = await Promise.all(messages.map((m) => client.send(m.envelope, m.raw)));
 * await client.quit();
 */
export class SmtpClient {
  /** What the server announced in EHLO (after STARTTLS, when used). */
  readonly capabilities: Capabilities;
  readonly #session: Session;
  readonly #connection: SmtpConnection;
  readonly #scheduler: PipelineScheduler;
  #closing = false;
  #quitting: Promise<void> | undefined;

  private constructor(session: Session) {
    this.#session = session;
    this.#connection = session.connection;
    this.capabilities = session.capabilities;
    this.#scheduler = new PipelineScheduler(session);
  }

  /**
   * Connects, reads the greeting, says EHLO, secures the connection and authenticates.
   * @throws {ConnectionError} no host could be reached or greeted; {@link TimeoutError};
   *   {@link TlsRequiredError} STARTTLS missing, refused or failed under `security: 'starttls'`;
   *   {@link AuthenticationError} wrong credentials, or credentials that would cross in clear.
   * @example
   * const client = await SmtpClient.connect({ host: ['mx1.example:587', 'mx2.example'], auth: { user: 'u', pass: 'p' } });
   */
  static async connect(options: SmtpConnectOptions): Promise<SmtpClient> {
    return new SmtpClient(await openSession(options));
  }

  /** Writes and round trips spent so far (a round trip is each wait for the server after a write). */
  get stats(): Readonly<ConnectionStats> {
    return this.#connection.stats;
  }

  /** True once the session ended (QUIT, close, or a failure). */
  get closed(): boolean {
    return this.#connection.closed;
  }

  /**
   * Sends one message. Resolves when at least one recipient took it (the refused ones are listed);
   * concurrent calls are queued and pipelined. Never throws synchronously.
   *
   * The message is a string, bytes, or a {@link MessageStream} (`{ size, chunks() }`) for content
   * that should not be held in memory: its declared size goes as `SIZE=` and is checked against the
   * server's SIZE before MAIL; its chunks are encoded as they come (CRLF line ends, dot-stuffing
   * across chunk boundaries) and written as the socket takes them, with BDAT in chunks of about
   * 1 MiB under CHUNKING. It keeps its place among the queued sends. It is never accepted
   * truncated: the end of data (the dot, `BDAT LAST`) leaves only once the stream ended with
   * exactly `size` octets. A stream that throws, or yields more or fewer octets than declared,
   * fails its send with a {@link ProtocolError} (phase 'data', not ambiguous; transient with the
   * stream's error as `cause` when it threw, permanent for a wrong size); with BDAT the
   * transaction is reset and the connection goes on; with DATA the content cannot be taken back,
   * so the connection is closed without the dot (the server drops the message) and what was
   * queued behind it fails as not sent. A server lost while the content is written: a
   * {@link ConnectionError}, not ambiguous; lost after the end: ambiguous, as for any message.
   * @throws {RecipientsRefusedError} every recipient refused (`.rejected` has each reply).
   * @throws {SenderRefusedError} {@link DataRefusedError} {@link MessageTooLargeError} {@link ProtocolError}
   *   {@link ConnectionError} {@link TimeoutError}: see `transient` and `ambiguous` on the error.
   * @example
   * const { size } = await stat('big.eml');
   * await client.send({ from: 'a@example.com', to: ['b@example.com'] }, { size, chunks: () => createReadStream('big.eml') });
   */
  send(envelope: Envelope, message: string | Uint8Array | MessageStream): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      const unusable = this.#unusable('mail');
      if (unusable) {
        reject(unusable);
        return;
      }
      const tx = prepareTransaction(envelope, message, this.capabilities, this.#scheduler.mode, { resolve, reject });
      this.#scheduler.enqueue({ kind: 'send', tx });
    });
  }

  /**
   * VRFY: resolves with whatever complete reply came (like smtplib), rejects only on connection or protocol errors.
   * @throws {ProtocolError} for an empty argument or one with a control character (TAB too), before anything is written.
   */
  verify(address: string): Promise<SmtpReply> {
    return this.#command(() => checkVerifyArgument(address), 'rcpt', 'any');
  }

  /**
   * Sends one raw command line (like smtplib's `docmd`) and resolves with its complete reply, whatever its code.
   * @throws {ProtocolError} for CR, LF, TAB or any other control character, before anything is written.
   */
  command(line: string): Promise<SmtpReply> {
    return this.#command(() => checkCommandLine(line), 'mail', 'any');
  }

  /**
   * NOOP.
   * @throws {ProtocolError} (failing the connection) for a 3xx reply, which cannot answer NOOP.
   */
  noop(): Promise<SmtpReply> {
    return this.#command(() => 'NOOP', 'mail', 'command');
  }

  /**
   * RSET: ends any open transaction.
   * @throws {ProtocolError} (failing the connection) for a 3xx reply, which cannot answer RSET.
   */
  reset(): Promise<SmtpReply> {
    return this.#command(
      () => 'RSET',
      'mail',
      'command',
      (reply) => {
        if (isPositive(reply)) this.#scheduler.transactionClosed();
      },
    );
  }

  /**
   * Waits for what is queued, says QUIT, and closes. Waits at most 5 s (or the command timeout, if
   * shorter) for the reply, and never rejects: a session that is already gone is simply closed.
   */
  quit(): Promise<void> {
    if (this.#quitting) return this.#quitting;
    if (this.#closing || this.#connection.closed) {
      this.#connection.close();
      return Promise.resolve();
    }
    this.#closing = true;
    this.#quitting = new Promise((resolve) => {
      this.#scheduler.enqueue({
        kind: 'command',
        run: async () => {
          try {
            await this.#connection.write(['QUIT\r\n'], ['QUIT'], 'quit', 1);
            await this.#connection.readReply('quit', Math.min(this.#session.timeouts.commandMs, QUIT_TIMEOUT_MS), 'command');
          } catch {
            // The session ends either way.
          }
          this.#connection.finish();
          resolve();
        },
        fail: () => {
          this.#connection.close();
          resolve();
        },
      });
    });
    return this.#quitting;
  }

  /** Closes at once. What is queued fails with ConnectionError; a message whose end was written is ambiguous. */
  close(): void {
    this.#closing = true;
    this.#connection.close();
    this.#scheduler.failQueue(new ConnectionError('The client closed the connection', { phase: 'mail', transient: true }));
  }

  #unusable(phase: SmtpPhase): SmtpError | undefined {
    const failure = this.#connection.failureFor(phase);
    if (failure) return failure;
    if (this.#closing) return new ConnectionError('The client is closing the session', { phase, transient: true });
    return undefined;
  }

  #command(build: () => string, phase: SmtpPhase, rule: ReplyRule, after?: (reply: SmtpReply) => void): Promise<SmtpReply> {
    return new Promise((resolve, reject: (error: SmtpError) => void) => {
      const unusable = this.#unusable(phase);
      if (unusable) {
        reject(unusable);
        return;
      }
      const line = build();
      this.#scheduler.enqueue({
        kind: 'command',
        run: async () => {
          try {
            await this.#connection.write([`${line}\r\n`], [line], phase, 1);
            const reply = await this.#connection.readReply(phase, this.#session.timeouts.commandMs, rule);
            after?.(reply);
            resolve(reply);
          } catch (error) {
            reject(error as SmtpError);
            throw error;
          }
        },
        fail: reject,
      });
    });
  }
}
