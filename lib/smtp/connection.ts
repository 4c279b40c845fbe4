/**
 * The wire under the client: a TCP, TLS or unix socket; writes (each call is one write to the
 * socket, so pipelined commands leave together, and says how many replies it expects); the
 * STARTTLS switch, which drops everything read before the handshake (the handshake itself is
 * {@link handshakeTls}); the overall deadline. The replies themselves are framed and matched to the
 * writes by {@link ReplyStream}.
 *
 * Once anything goes wrong (the socket closes, a timeout, garbage from the server, a reply no
 * command asked for or one its command cannot get, a 421, the deadline) the connection is failed
 * for good: every pending and later read rejects with an error of the reader's phase. No reply
 * can be matched to the wrong command after that.
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import type { SmtpError } from './errors.js';
import { errorFor, type Failure } from './failure.js';
import type { ReplyRule } from './reply.js';
import { ReplyStream } from './ReplyStream.js';
import { openSocket, type SocketOptions } from './socket.js';
import type { Target } from './target.js';
import { handshakeTls } from './tlsHandshake.js';
import type { SmtpPhase, SmtpReply, TranscriptEntry } from './types.js';

/** Counters of one connection, for tests, metrics and the benchmark. */
export interface ConnectionStats {
  /** Socket writes made (pipelined commands count as one). */
  writes: number;
  /** Times the client waited for the server after writing: the round trips spent. */
  roundTrips: number;
}

/** Settings for opening a connection. */
export interface OpenOptions extends SocketOptions {
  /** Longest wait for the socket to take more of a write (the server stopped reading). @default connectMs */
  writeMs?: number;
  transcript?: (entry: TranscriptEntry) => void;
}

/** One SMTP connection's socket, reply stream and failure state. */
export class SmtpConnection {
  readonly stats: ConnectionStats = { writes: 0, roundTrips: 0 };
  readonly target: Target;
  #socket: net.Socket;
  #replies = new ReplyStream({
    log: (line) => this.#log('S', line),
    fail: (failure) => this.fail(failure),
  });
  #failure: Failure | undefined;
  readonly #lost = Promise.withResolvers<undefined>();
  #unflushed = 0;
  #wroteSinceRead = true;
  #transcript: ((entry: TranscriptEntry) => void) | undefined;
  #signal: AbortSignal | undefined;
  #writeMs: number;
  #onAbort = (): void => this.fail({ kind: 'aborted', message: 'The deadline passed (the abort signal fired)' });
  #onData = (chunk: Buffer): void => this.#replies.receive(chunk);
  #onClose = (): void => this.fail({ kind: 'closed', message: 'The server closed the connection' });
  #onError = (error: Error): void => this.fail({ kind: 'closed', message: `Connection lost: ${error.message}`, cause: error });

  private constructor(target: Target, socket: net.Socket, options: OpenOptions) {
    this.target = target;
    this.#socket = socket;
    this.#transcript = options.transcript;
    this.#signal = options.signal;
    this.#writeMs = options.writeMs ?? options.connectMs;
    this.#attach(socket);
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /**
   * Opens a connection to one target.
   * @throws {ConnectionError} when the connection is refused or lost; {@link TimeoutError} after `connectMs`
   *   or when the signal fires; {@link TlsRequiredError} when the implicit-TLS handshake fails.
   */
  static async open(target: Target, options: OpenOptions): Promise<SmtpConnection> {
    return new SmtpConnection(target, await openSocket(target, options), options);
  }

  /** True once the connection runs over TLS. */
  get secure(): boolean {
    return this.#socket instanceof tls.TLSSocket && this.#socket.encrypted;
  }

  /** The peer's IP address (undefined for unix sockets). */
  get remoteAddress(): string | undefined {
    return this.#socket.remoteAddress;
  }

  /** This end's IP address (undefined for unix sockets). */
  get localAddress(): string | undefined {
    return this.#socket.localAddress;
  }

  /**
   * Bytes of the last writes that were still in this process when the connection failed: they
   * never reached the network, so a message whose end was among them was certainly not delivered.
   */
  get unflushedBytes(): number {
    return this.#unflushed;
  }

  /** Settles once the connection failed or was closed (for waits on something else than the server, like a message stream). */
  get lost(): Promise<void> {
    return this.#lost.promise;
  }

  /** True once the connection failed or was closed. */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /** The error a reader in `phase` gets now, or undefined while the connection is usable. */
  failureFor(phase: SmtpPhase): SmtpError | undefined {
    return this.#failure && errorFor(this.#failure, phase);
  }

  /**
   * Waits for the next expected reply (one a write asked for), which must be of a class its
   * command can get (`rule`, RFC 5321 s. 4.3.2). A 421 reply fails the connection (the server is
   * closing) and rejects with a {@link ConnectionError} carrying code 421.
   * @throws {SmtpError} of the class that fits the failure, with this `phase`; a
   *   {@link ProtocolError} (failing the connection) when no write expects a reply, or when the
   *   reply cannot answer its command (a stray, or replies out of step: a 2xx to DATA, a 3xx to MAIL).
   */
  async readReply(phase: SmtpPhase, timeoutMs: number, rule: ReplyRule): Promise<SmtpReply> {
    const reply = await this.#nextReply(phase, timeoutMs);
    if (this.#replies.accepts(reply, rule)) return reply;
    // The failure carries no code: the reply is not an answer (after the dot, the message may have been delivered).
    throw errorFor(this.#failure ?? { kind: 'protocol', message: 'Unexpected reply' }, phase);
  }

  #nextReply(phase: SmtpPhase, timeoutMs: number): Promise<SmtpReply> {
    const held = this.#replies.take();
    if (held) return Promise.resolve(held);
    if (!this.#failure && this.#replies.owed === 0) {
      this.fail({ kind: 'protocol', message: 'The client waited for a reply no command asked for' });
    }
    if (this.#failure) return Promise.reject(errorFor(this.#failure, phase));
    if (this.#wroteSinceRead) {
      this.stats.roundTrips += 1;
      this.#wroteSinceRead = false;
    }
    return this.#replies.wait(phase, timeoutMs);
  }

  /**
   * Writes the chunks as one socket write (corked), after logging `lines` to the transcript;
   * the server owes `replies` replies for them (every command of a pipelined group counts).
   * Resolves once the socket takes more (backpressure), not when the peer got the bytes.
   * @throws {SmtpError} when the connection already failed.
   */
  async write(chunks: readonly (string | Uint8Array)[], lines: readonly string[], phase: SmtpPhase, replies: number): Promise<void> {
    if (this.#failure) throw errorFor(this.#failure, phase);
    this.#replies.expect(replies);
    await this.#send(chunks, lines, phase);
  }

  /**
   * `replies` of the replies counted at a write will not come (LMTP after `BDAT LAST`: one per
   * accepted recipient). Fails the connection if more than that already arrived.
   */
  release(replies: number): void {
    if (!this.#failure) this.#replies.release(replies);
  }

  /**
   * Says STARTTLS and reads its reply. After a 220, whatever the server sends before the
   * handshake is dropped, never read as a reply; call {@link upgradeToTls} next.
   * @throws {SmtpError} when the connection fails.
   */
  async requestTls(timeoutMs: number): Promise<SmtpReply> {
    if (this.#failure) throw errorFor(this.#failure, 'starttls');
    this.#replies.expectTlsSwitch();
    await this.#send(['STARTTLS\r\n'], ['STARTTLS'], 'starttls');
    return this.readReply('starttls', timeoutMs, 'command');
  }

  async #send(chunks: readonly (string | Uint8Array)[], lines: readonly string[], phase: SmtpPhase): Promise<void> {
    for (const line of lines) this.#log('C', line);
    this.stats.writes += 1;
    this.#wroteSinceRead = true;
    const socket = this.#socket;
    socket.cork();
    let flowing = true;
    for (const chunk of chunks) flowing = socket.write(chunk);
    socket.uncork();
    if (!flowing) await this.#drained(socket, phase);
  }

  /**
   * Switches to TLS after a 220 reply to STARTTLS. Whatever the server sent before the handshake
   * (buffered bytes or whole replies) is dropped, never read as a reply after it (RFC 3207 s. 6).
   * @throws {TlsRequiredError} when the handshake fails or does not finish within `timeoutMs`.
   */
  async upgradeToTls(options: tls.ConnectionOptions, timeoutMs: number): Promise<void> {
    this.#replies.reset();
    const plain = this.#socket;
    this.#detach(plain);
    const handshake = await handshakeTls(plain, options, timeoutMs, this.#signal);
    this.#socket = handshake.socket;
    if (!handshake.ok) {
      this.fail(handshake.failure);
      throw errorFor(this.#failure ?? handshake.failure, 'starttls');
    }
    this.#attach(handshake.socket);
  }

  /** Ends the connection at once (no QUIT); pending reads reject with `ConnectionError`. */
  close(): void {
    this.fail({ kind: 'closed', message: 'The client closed the connection' });
  }

  /** Ends the connection after the written bytes leave (used after QUIT). */
  finish(): void {
    const failure = this.#failure ?? { kind: 'closed', message: 'The client closed the connection' };
    this.#failure = failure;
    this.#lost.resolve(undefined);
    this.#cleanup();
    this.#socket.end();
    this.#socket.destroySoon();
    this.#replies.stop((phase) => errorFor(failure, phase));
  }

  /** Marks the connection failed, destroys the socket and rejects every pending read. Idempotent. */
  fail(failure: Failure): void {
    if (this.#failure) return;
    this.#failure = failure;
    this.#lost.resolve(undefined);
    this.#unflushed = this.#socket.writableLength;
    this.#cleanup();
    this.#socket.destroy();
    this.#replies.stop((phase) => errorFor(failure, phase));
  }

  #cleanup(): void {
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#detach(this.#socket);
    // Keep a listener so a late socket error is not thrown as an uncaught exception.
    this.#socket.on('error', () => undefined);
  }

  #attach(socket: net.Socket): void {
    socket.on('data', this.#onData);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
  }

  #detach(socket: net.Socket): void {
    socket.off('data', this.#onData);
    socket.off('close', this.#onClose);
    socket.off('error', this.#onError);
  }

  /** Hands a line to the transcript hook; a hook that throws must not break the session. */
  #log(dir: 'C' | 'S', line: string): void {
    try {
      this.#transcript?.({ dir, line });
    } catch {
      // The hook is the caller's; its failure is not the connection's.
    }
  }

  #drained(socket: net.Socket, phase: SmtpPhase): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail({ kind: 'timeout', message: `The server took no more of the message for ${this.#writeMs} ms` });
        finish();
      }, this.#writeMs);
      const finish = (): void => {
        clearTimeout(timer);
        socket.off('drain', finish);
        socket.off('close', finish);
        if (this.#failure) reject(errorFor(this.#failure, phase));
        else resolve();
      };
      socket.once('drain', finish);
      socket.once('close', finish);
    });
  }
}
