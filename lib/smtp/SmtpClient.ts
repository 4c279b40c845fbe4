/**
 * The SMTP client: one session, many messages, pipelined.
 * @module
 */
import { checkCommandLine, checkVerifyArgument } from './arguments.js';
import type { ConnectionStats, SmtpConnection } from './connection.js';
import { ConnectionError, ProtocolError, SmtpError, formatReply } from './errors.js';
import { isPositive } from './reply.js';
import { openSession, type Session } from './session.js';
import { contentRefused, judgeContent, judgeEnvelope, prepareTransaction, type ContentMode, type Transaction } from './transaction.js';
import type { Capabilities, Envelope, SendResult, SmtpConnectOptions, SmtpPhase, SmtpReply } from './types.js';

/** Most content bytes written ahead of replies in one BDAT window. */
const WINDOW_BYTES = 4 * 1024 * 1024;
const DOT_LINE = '.\r\n';
/** Longest wait for the reply to QUIT: the session is over either way. */
const QUIT_TIMEOUT_MS = 5_000;

type Job =
  | { kind: 'send'; tx: Transaction }
  | { kind: 'command'; run: () => Promise<void>; fail: (error: SmtpError) => void };

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
  readonly #mode: ContentMode;
  #queue: Job[] = [];
  #running = false;
  #closing = false;
  #quitting: Promise<void> | undefined;
  #needsReset = false;
  #noPipeliningAfterEnd = false;

  private constructor(session: Session) {
    this.#session = session;
    this.#connection = session.connection;
    this.capabilities = session.capabilities;
    this.#mode = session.capabilities.chunking ? 'bdat' : 'data';
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
   * @throws {RecipientsRefusedError} every recipient refused (`.rejected` has each reply).
   * @throws {SenderRefusedError} {@link DataRefusedError} {@link MessageTooLargeError} {@link ProtocolError}
   *   {@link ConnectionError} {@link TimeoutError}: see `transient` and `ambiguous` on the error.
   */
  send(envelope: Envelope, message: string | Uint8Array): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      const unusable = this.#unusable('mail');
      if (unusable) return reject(unusable);
      const tx = prepareTransaction(envelope, message, this.capabilities, this.#mode, { resolve, reject });
      this.#queue.push({ kind: 'send', tx });
      this.#kick();
    });
  }

  /**
   * VRFY: resolves with whatever complete reply came (like smtplib), rejects only on connection or protocol errors.
   * @throws {ProtocolError} for an empty argument or one with a control character (TAB too), before anything is written.
   */
  verify(address: string): Promise<SmtpReply> {
    return this.#command(() => checkVerifyArgument(address), 'rcpt');
  }

  /**
   * Sends one raw command line (like smtplib's `docmd`) and resolves with its complete reply, whatever its code.
   * @throws {ProtocolError} for CR, LF, TAB or any other control character, before anything is written.
   */
  command(line: string): Promise<SmtpReply> {
    return this.#command(() => checkCommandLine(line), 'mail');
  }

  /** NOOP. */
  noop(): Promise<SmtpReply> {
    return this.#command(() => 'NOOP', 'mail');
  }

  /** RSET: ends any open transaction. */
  reset(): Promise<SmtpReply> {
    return this.#command(() => 'RSET', 'mail', (reply) => {
      if (isPositive(reply)) this.#needsReset = false;
    });
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
      this.#queue.push({
        kind: 'command',
        run: async () => {
          try {
            await this.#connection.write(['QUIT\r\n'], ['QUIT'], 'quit', 1);
            await this.#connection.readReply('quit', Math.min(this.#session.timeouts.commandMs, QUIT_TIMEOUT_MS));
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
      this.#kick();
    });
    return this.#quitting;
  }

  /** Closes at once. What is queued fails with ConnectionError; a message whose end was written is ambiguous. */
  close(): void {
    this.#closing = true;
    this.#connection.close();
    this.#failQueue(new ConnectionError('The client closed the connection', { phase: 'mail', transient: true }));
  }

  #unusable(phase: SmtpPhase): SmtpError | undefined {
    const failure = this.#connection.failureFor(phase);
    if (failure) return failure;
    if (this.#closing) return new ConnectionError('The client is closing the session', { phase, transient: true });
    return undefined;
  }

  #command(build: () => string, phase: SmtpPhase, after?: (reply: SmtpReply) => void): Promise<SmtpReply> {
    return new Promise((resolve, reject) => {
      const unusable = this.#unusable(phase);
      if (unusable) return reject(unusable);
      const line = build();
      this.#queue.push({
        kind: 'command',
        run: async () => {
          try {
            await this.#connection.write([`${line}\r\n`], [line], phase, 1);
            const reply = await this.#connection.readReply(phase, this.#session.timeouts.commandMs);
            after?.(reply);
            resolve(reply);
          } catch (error) {
            reject(error);
            throw error;
          }
        },
        fail: reject,
      });
      this.#kick();
    });
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    // Let every send() made in this turn of the event loop (including those made after awaiting
    // already-settled promises) join the queue before the first write, so they share it.
    setImmediate(() => void this.#drain());
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0]!;
        if (head.kind === 'command') {
          this.#queue.shift();
          await head.run();
        } else if (!this.capabilities.pipelining) {
          await this.#sendOneByOne(this.#takeSend()!);
        } else if (this.#mode === 'bdat') {
          await this.#streamChunks();
        } else {
          await this.#pipelineData();
        }
      }
    } catch (error) {
      this.#connection.close();
      const failure = this.#connection.failureFor('mail') ?? (error as SmtpError);
      this.#failQueue(failure);
    } finally {
      this.#running = false;
    }
  }

  #failQueue(error: SmtpError): void {
    for (const job of this.#queue.splice(0)) {
      if (job.kind === 'send') job.tx.reject(notAttempted(error));
      else job.fail(error);
    }
  }

  #takeSend(): Transaction | undefined {
    const head = this.#queue[0];
    if (head?.kind !== 'send') return undefined;
    this.#queue.shift();
    return head.tx;
  }

  #requeue(txs: Transaction[]): void {
    this.#queue.unshift(...txs.map((tx) => ({ kind: 'send' as const, tx })));
  }

  /** Whether an RSET must precede the next MAIL (a transaction was left open), and clears it. */
  #takeReset(): boolean {
    const reset = this.#needsReset;
    this.#needsReset = false;
    return reset;
  }

  /**
   * DATA with PIPELINING: [MAIL, RCPT..., DATA] in one write; then [content, '.', next MAIL, RCPT..., DATA]
   * in one write, unless the server refused that once, in which case the end of data goes alone.
   */
  async #pipelineData(): Promise<void> {
    let open: Transaction | undefined;
    for (;;) {
      const next = !open || !this.#noPipeliningAfterEnd ? this.#takeSend() : undefined;
      if (!open && !next) return;
      const afterEnd = open !== undefined;
      const chunks: (string | Uint8Array)[] = [];
      const lines: string[] = [];
      if (open) pushContent(open, chunks, lines);
      const reset = next ? this.#takeReset() : false;
      if (next) pushEnvelope(next, reset, 'DATA', chunks, lines);
      const replies = (open ? this.#finalCount(open) : 0) + (next ? envelopeReplies(next, reset) + 1 : 0);
      const unusable = this.#connection.failureFor(open ? 'data' : 'mail');
      if (unusable) {
        open?.reject(unusable);
        next?.reject(notAttempted(unusable));
        throw unusable;
      }
      try {
        await this.#connection.write(chunks, lines, open ? 'data' : 'mail', replies);
      } catch (error) {
        // Cut while waiting for the socket to drain: the end of data left unless it was among the
        // bytes still in this process.
        const envelopeBytes = next ? Buffer.byteLength(chunks.at(-1) as string) : 0;
        const endLeft = this.#connection.unflushedBytes <= envelopeBytes;
        open?.reject(endLeft ? ambiguousUnlessAnswered(error) : notAttempted(error as SmtpError, 'data'));
        next?.reject(notAttempted(error as SmtpError));
        throw error;
      }
      if (open) {
        const finished = open;
        open = undefined;
        await this.#readFinal(finished, next ? [next] : []);
      }
      if (next) open = await this.#readEnvelope(next, reset, afterEnd);
    }
  }

  /** CHUNKING with PIPELINING: every queued message as [RSET, MAIL, RCPT..., BDAT n LAST, content] in one write. */
  async #streamChunks(): Promise<void> {
    for (;;) {
      const window = this.#takeWindow();
      if (window.length === 0) return;
      const chunks: (string | Uint8Array)[] = [];
      const lines: string[] = [];
      // Only the first message's state is known at write time; RSET before each later one keeps a
      // refused transaction from leaking its recipients into the next one.
      const resets = window.map((tx, index) => (index === 0 ? this.#takeReset() : true));
      // Where each message's last byte lies in the write, to tell after a cut write which ones left.
      const ends: number[] = [];
      let offset = 0;
      let replies = 0;
      window.forEach((tx, index) => {
        // LMTP answers BDAT LAST once per accepted recipient (once if none): count the most, release the rest.
        replies += envelopeReplies(tx, resets[index]!) + (this.#session.lmtp ? Math.max(1, tx.rcptLines.length) : 1);
        pushEnvelope(tx, resets[index]!, `BDAT ${tx.content.bytes.byteLength} LAST`, chunks, lines);
        chunks.push(tx.content.bytes);
        lines.push(contentSummary(tx));
        offset += Buffer.byteLength(chunks.at(-2) as string) + tx.content.bytes.byteLength;
        ends.push(offset);
      });
      const unusable = this.#connection.failureFor('mail');
      if (unusable) {
        for (const tx of window) tx.reject(notAttempted(unusable));
        throw unusable;
      }
      try {
        await this.#connection.write(chunks, lines, 'mail', replies);
      } catch {
        // Cut while waiting for the socket to drain: part of the window left. The replies the
        // server sent before that are still read below; the rest fail as ambiguous there.
      }
      const requeue: Transaction[] = [];
      for (const [index, tx] of window.entries()) {
        let replies: { reset?: SmtpReply; mail: SmtpReply; rcpts: SmtpReply[] } | undefined;
        const finals: SmtpReply[] = [];
        try {
          replies = await this.#readEnvelopeReplies(tx, resets[index]!);
          const expected = replies.rcpts.some(isPositive) && isPositive(replies.mail) && this.#session.lmtp ? replies.rcpts.filter(isPositive).length : 1;
          if (this.#session.lmtp) this.#connection.release(Math.max(1, tx.rcptLines.length) - expected);
          await this.#readRepliesInto(finals, 'data', expected, this.#session.timeouts.dataMs);
        } catch (error) {
          const verdict = replies && judgeEnvelope(tx, replies.mail, replies.rcpts);
          if (verdict?.ok) {
            tx.accepted = verdict.accepted;
            tx.rejected = verdict.rejected;
            this.#settleCut(tx, finals, error);
          } else {
            tx.reject(ends[index]! <= offset - this.#connection.unflushedBytes ? ambiguousUnlessAnswered(error) : notAttempted(error as SmtpError, 'data'));
          }
          const left = offset - this.#connection.unflushedBytes;
          window.forEach((lost, at) => {
            if (at > index) lost.reject(ends[at]! <= left ? ambiguousUnlessAnswered(error) : notAttempted(error as SmtpError, 'data'));
          });
          for (const refused of requeue) refused.reject(notAttempted(error as SmtpError));
          throw error;
        }
        if (index > 0 && !tx.retried && replies.mail.code === 503 && !finals.some(isPositive)) {
          this.#noPipeliningAfterEnd = true;
          tx.retried = true;
          requeue.push(tx);
          continue;
        }
        const verdict = judgeEnvelope(tx, replies.mail, replies.rcpts);
        if (!verdict.ok) {
          tx.reject(verdict.error);
          this.#needsReset = true;
          continue;
        }
        const outcome = judgeContent(verdict.accepted, verdict.rejected, finals, this.#session.lmtp);
        if (outcome instanceof SmtpError) {
          tx.reject(outcome);
          this.#needsReset = true;
        } else {
          tx.resolve(outcome);
        }
      }
      this.#requeue(requeue);
    }
  }

  /** Without PIPELINING: each command waits for its reply. */
  async #sendOneByOne(tx: Transaction): Promise<void> {
    const step = async (line: string, phase: SmtpPhase): Promise<SmtpReply> => {
      await this.#write([`${line}\r\n`], [line], phase, 1, [tx]);
      return this.#readFor(tx, phase, this.#session.timeouts.commandMs);
    };
    if (this.#takeReset()) await step('RSET', 'mail');
    const mail = await step(tx.mailLine, 'mail');
    const rcpts: SmtpReply[] = [];
    if (isPositive(mail)) for (const line of tx.rcptLines) rcpts.push(await step(line, 'rcpt'));
    const verdict = judgeEnvelope(tx, mail, rcpts);
    if (!verdict.ok) {
      tx.reject(verdict.error);
      this.#needsReset = isPositive(mail);
      return;
    }
    tx.accepted = verdict.accepted;
    tx.rejected = verdict.rejected;
    if (this.#mode === 'bdat') {
      const chunks = [`BDAT ${tx.content.bytes.byteLength} LAST\r\n`, tx.content.bytes];
      await this.#write(chunks, [`BDAT ${tx.content.bytes.byteLength} LAST`, contentSummary(tx)], 'data', this.#finalCount(tx), [tx]);
      await this.#readFinal(tx, []);
      return;
    }
    const data = await step('DATA', 'data');
    if (data.code !== 354) {
      tx.reject(dataNotAccepted(data));
      this.#needsReset = true;
      return;
    }
    const chunks: (string | Uint8Array)[] = [];
    const lines: string[] = [];
    pushContent(tx, chunks, lines);
    await this.#write(chunks, lines, 'data', this.#finalCount(tx), [tx]);
    await this.#readFinal(tx, []);
  }

  /** Reads [RSET], MAIL, RCPT... and DATA replies; returns the transaction when the server waits for its content. */
  async #readEnvelope(tx: Transaction, reset: boolean, afterEnd: boolean): Promise<Transaction | undefined> {
    let replies: { reset?: SmtpReply; mail: SmtpReply; rcpts: SmtpReply[] };
    let data: SmtpReply;
    try {
      replies = await this.#readEnvelopeReplies(tx, reset);
      data = await this.#connection.readReply('data', this.#session.timeouts.commandMs);
    } catch (error) {
      tx.reject(error as SmtpError);
      throw error;
    }
    if (data.code === 354 && !(isPositive(replies.mail) && replies.rcpts.some(isPositive))) {
      // Nothing to send, yet the server waits for content: end it empty; its refusal is expected.
      await this.#write([DOT_LINE], ['.'], 'data', 1, [tx]);
      await this.#readFor(tx, 'data', this.#session.timeouts.dataMs);
    }
    if (afterEnd && !tx.retried && replies.mail.code === 503) {
      this.#noPipeliningAfterEnd = true;
      tx.retried = true;
      this.#requeue([tx]);
      return undefined;
    }
    const verdict = judgeEnvelope(tx, replies.mail, replies.rcpts);
    if (!verdict.ok) {
      tx.reject(verdict.error);
      this.#needsReset = true;
      return undefined;
    }
    tx.accepted = verdict.accepted;
    tx.rejected = verdict.rejected;
    if (data.code !== 354) {
      tx.reject(dataNotAccepted(data));
      this.#needsReset = true;
      return undefined;
    }
    return tx;
  }

  async #readEnvelopeReplies(tx: Transaction, reset: boolean): Promise<{ reset?: SmtpReply; mail: SmtpReply; rcpts: SmtpReply[] }> {
    const timeout = this.#session.timeouts.commandMs;
    const resetReply = reset ? await this.#connection.readReply('mail', timeout) : undefined;
    const mail = await this.#connection.readReply('mail', timeout);
    const rcpts = await this.#readReplies('rcpt', tx.rcptLines.length, timeout);
    return { ...(resetReply ? { reset: resetReply } : {}), mail, rcpts };
  }

  /** Replies after a message's content: one, or in LMTP one per accepted recipient. */
  #finalCount(tx: Transaction): number {
    return this.#session.lmtp ? tx.accepted.length : 1;
  }

  /** Reads the reply (or LMTP replies) after the end of data and settles the transaction. */
  async #readFinal(tx: Transaction, alsoWritten: Transaction[]): Promise<void> {
    const expected = this.#finalCount(tx);
    const finals: SmtpReply[] = [];
    try {
      await this.#readRepliesInto(finals, 'data', expected, this.#session.timeouts.dataMs);
    } catch (error) {
      this.#settleCut(tx, finals, error);
      for (const other of alsoWritten) other.reject(notAttempted(error as SmtpError));
      throw error;
    }
    const outcome = judgeContent(tx.accepted, tx.rejected, finals, this.#session.lmtp);
    if (outcome instanceof SmtpError) tx.reject(outcome);
    else tx.resolve(outcome);
  }

  /**
   * Settles a transaction whose replies after the data were cut off. In LMTP, recipients that
   * already got a 2xx keep it (the message is theirs): the result lists the others as refused for
   * now. Otherwise the whole message failed, ambiguous unless the server answered (421).
   */
  #settleCut(tx: Transaction, finals: SmtpReply[], error: unknown): void {
    if (this.#session.lmtp && finals.some(isPositive)) {
      const cause = error as SmtpError;
      const answered = finals.map((reply, index) => ({ reply, recipient: tx.accepted[index]! }));
      const missing = tx.accepted.slice(finals.length).map((recipient) => ({
        recipient, code: cause.code ?? 0, message: `no reply after the data: ${cause.message}`, transient: true,
      }));
      const outcome = judgeContent(answered.map((a) => a.recipient), [...tx.rejected, ...missing], finals, true);
      if (!(outcome instanceof SmtpError)) {
        tx.resolve(outcome);
        return;
      }
    }
    tx.reject(ambiguousUnlessAnswered(error));
  }

  async #readReplies(phase: SmtpPhase, count: number, timeoutMs: number): Promise<SmtpReply[]> {
    const replies: SmtpReply[] = [];
    await this.#readRepliesInto(replies, phase, count, timeoutMs);
    return replies;
  }

  /** Reads `count` replies into `replies`, so that the caller keeps those read before a failure. */
  async #readRepliesInto(replies: SmtpReply[], phase: SmtpPhase, count: number, timeoutMs: number): Promise<void> {
    for (let i = 0; i < count; i += 1) replies.push(await this.#connection.readReply(phase, timeoutMs));
  }

  async #readFor(tx: Transaction, phase: SmtpPhase, timeoutMs: number): Promise<SmtpReply> {
    try {
      return await this.#connection.readReply(phase, timeoutMs);
    } catch (error) {
      tx.reject(error as SmtpError);
      throw error;
    }
  }

  async #write(chunks: (string | Uint8Array)[], lines: string[], phase: SmtpPhase, replies: number, txs: (Transaction | undefined)[]): Promise<void> {
    try {
      await this.#connection.write(chunks, lines, phase, replies);
    } catch (error) {
      for (const tx of txs) tx?.reject(error as SmtpError);
      throw error;
    }
  }

  #takeWindow(): Transaction[] {
    const window: Transaction[] = [];
    let bytes = 0;
    for (;;) {
      if (window.length > 0 && (this.#noPipeliningAfterEnd || bytes >= WINDOW_BYTES)) return window;
      const head = this.#queue[0];
      if (head?.kind !== 'send' || (window.length > 0 && bytes + head.tx.content.bytes.byteLength > WINDOW_BYTES)) return window;
      this.#queue.shift();
      window.push(head.tx);
      bytes += head.tx.content.bytes.byteLength;
    }
  }
}

function pushEnvelope(tx: Transaction, reset: boolean, last: string, chunks: (string | Uint8Array)[], lines: string[]): void {
  const commands = [...(reset ? ['RSET'] : []), tx.mailLine, ...tx.rcptLines, last];
  chunks.push(commands.map((line) => `${line}\r\n`).join(''));
  lines.push(...commands);
}

/** Replies to [RSET], MAIL and each RCPT. */
function envelopeReplies(tx: Transaction, reset: boolean): number {
  return (reset ? 1 : 0) + 1 + tx.rcptLines.length;
}

function pushContent(tx: Transaction, chunks: (string | Uint8Array)[], lines: string[]): void {
  chunks.push(tx.content.bytes, DOT_LINE);
  lines.push(contentSummary(tx), '.');
}

function contentSummary(tx: Transaction): string {
  return `[${tx.content.bytes.byteLength} octets of message content]`;
}

/** After the end of data, a lost connection or a timeout leaves the outcome unknown; a reply (421) does not. */
function ambiguousUnlessAnswered(error: unknown): SmtpError {
  const cause = error as SmtpError;
  if (cause.code !== undefined) return cause;
  const Class = cause.constructor as new (message: string, init: ConstructorParameters<typeof SmtpError>[1]) => SmtpError;
  return new Class(`${cause.message} after the end of the message was sent: it may have been delivered`, {
    phase: 'data', transient: true, ambiguous: true, cause,
  });
}

/** DATA answered with anything but 354: a refusal (4xx/5xx), or a server that does not speak SMTP. */
function dataNotAccepted(reply: SmtpReply): SmtpError {
  if (reply.code >= 400) return contentRefused(reply);
  // The server broke the protocol, as with garbage: transient, the message was not sent.
  return new ProtocolError(`The server answered DATA without asking for the message: ${formatReply(reply)}`, {
    phase: 'data', code: reply.code, ...(reply.enhancedCode === undefined ? {} : { enhancedCode: reply.enhancedCode }), transient: true,
  });
}

/** The error of a message that never (completely) left: transient, never ambiguous. */
function notAttempted(error: SmtpError, phase: SmtpPhase = 'mail'): SmtpError {
  const Class = error.constructor as new (message: string, init: ConstructorParameters<typeof SmtpError>[1]) => SmtpError;
  return new Class(`Not sent: ${error.message}`, {
    phase, transient: true, cause: error,
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.enhancedCode === undefined ? {} : { enhancedCode: error.enhancedCode }),
  });
}
