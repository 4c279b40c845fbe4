/**
 * The wire under the client: a TCP, TLS or unix socket; the reply reader; writes (each call is one
 * write to the socket, so pipelined commands leave together); the STARTTLS switch, which drops
 * everything read before the handshake; per-reply timeouts and the overall deadline.
 *
 * Once anything goes wrong (the socket closes, a timeout, garbage from the server, a 421, the
 * deadline) the connection is failed for good: every pending and later read rejects with an error
 * of the reader's phase. No reply can be matched to the wrong command after that.
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError, ProtocolError, SmtpError, TimeoutError, TlsRequiredError } from './errors.js';
import { ReplyParser } from './reply.js';
import { describeTarget, type Target } from './target.js';
import type { SmtpPhase, SmtpReply, TranscriptEntry } from './types.js';

/** Counters of one connection, for tests, metrics and the benchmark. */
export interface ConnectionStats {
  /** Socket writes made (pipelined commands count as one). */
  writes: number;
  /** Times the client waited for the server after writing: the round trips spent. */
  roundTrips: number;
}

/** Why a connection is no longer usable. */
interface Failure {
  kind: 'closed' | 'timeout' | 'protocol' | 'aborted' | 'tls';
  message: string;
  code?: number;
  enhancedCode?: string;
  cause?: unknown;
}

interface Waiter {
  phase: SmtpPhase;
  resolve: (reply: SmtpReply) => void;
  reject: (error: SmtpError) => void;
  timer: NodeJS.Timeout;
}

/** Settings for opening a connection. */
export interface OpenOptions {
  /** Connect with TLS from the first byte (implicit TLS, port 465). */
  implicitTls?: tls.ConnectionOptions;
  connectMs: number;
  /** Longest wait for the socket to take more of a write (the server stopped reading). @default connectMs */
  writeMs?: number;
  signal?: AbortSignal;
  transcript?: (entry: TranscriptEntry) => void;
}

/** One SMTP connection's socket, reply stream and failure state. */
export class SmtpConnection {
  readonly stats: ConnectionStats = { writes: 0, roundTrips: 0 };
  readonly target: Target;
  #socket: net.Socket;
  #parser = new ReplyParser();
  #replies: SmtpReply[] = [];
  #waiters: Waiter[] = [];
  #failure: Failure | undefined;
  #unflushed = 0;
  #wroteSinceRead = true;
  #transcript: ((entry: TranscriptEntry) => void) | undefined;
  #signal: AbortSignal | undefined;
  #writeMs: number;
  #onAbort = (): void => this.fail({ kind: 'aborted', message: 'The deadline passed (the abort signal fired)' });
  #onData = (chunk: Buffer): void => this.#receive(chunk);
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
  static open(target: Target, options: OpenOptions): Promise<SmtpConnection> {
    const where = describeTarget(target);
    if (options.signal?.aborted) {
      return Promise.reject(new TimeoutError(`Not connecting to ${where}: the deadline already passed`, { phase: 'connect', transient: true }));
    }
    return new Promise((resolve, reject) => {
      const socket = target.kind === 'unix'
        ? net.connect({ path: target.path })
        : options.implicitTls
          ? tls.connect({ ...options.implicitTls, host: target.host, port: target.port })
          : net.connect({ host: target.host, port: target.port });
      const readyEvent = options.implicitTls && target.kind === 'tcp' ? 'secureConnect' : 'connect';
      const settle = (error?: SmtpError): void => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        socket.off(readyEvent, onReady);
        if (error) {
          socket.destroy();
          reject(error);
        } else {
          socket.setNoDelay(true);
          resolve(new SmtpConnection(target, socket, options));
        }
      };
      const onReady = (): void => settle();
      const onError = (error: NodeJS.ErrnoException): void => {
        settle(options.implicitTls && isTlsFailure(error)
          ? new TlsRequiredError(`TLS handshake with ${where} failed: ${error.message}`, { phase: 'connect', transient: false, cause: error })
          : new ConnectionError(`Cannot connect to ${where}: ${error.message}`, { phase: 'connect', transient: true, cause: error }));
      };
      const onAbort = (): void => settle(new TimeoutError(`Connecting to ${where} stopped: the deadline passed`, { phase: 'connect', transient: true }));
      const timer = setTimeout(() => settle(new TimeoutError(`No connection to ${where} within ${options.connectMs} ms`, { phase: 'connect', transient: true })), options.connectMs);
      socket.once(readyEvent, onReady);
      socket.on('error', onError);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
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

  /** True once the connection failed or was closed. */
  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /** The error a reader in `phase` gets now, or undefined while the connection is usable. */
  failureFor(phase: SmtpPhase): SmtpError | undefined {
    return this.#failure && errorFor(this.#failure, phase);
  }

  /**
   * Waits for the next complete reply. A 421 reply fails the connection (the server is closing)
   * and rejects with a {@link ConnectionError} carrying code 421.
   * @throws {SmtpError} of the class that fits the failure, with this `phase`.
   */
  readReply(phase: SmtpPhase, timeoutMs: number): Promise<SmtpReply> {
    const queued = this.#replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#failure) return Promise.reject(errorFor(this.#failure, phase));
    if (this.#wroteSinceRead) {
      this.stats.roundTrips += 1;
      this.#wroteSinceRead = false;
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.fail({ kind: 'timeout', message: `No reply from the server within ${timeoutMs} ms` }), timeoutMs);
      this.#waiters.push({ phase, resolve, reject, timer });
    });
  }

  /**
   * Writes the chunks as one socket write (corked), after logging `lines` to the transcript.
   * Resolves once the socket takes more (backpressure), not when the peer got the bytes.
   * @throws {SmtpError} when the connection already failed.
   */
  async write(chunks: readonly (string | Uint8Array)[], lines: readonly string[], phase: SmtpPhase): Promise<void> {
    if (this.#failure) throw errorFor(this.#failure, phase);
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
    this.#parser.reset();
    this.#replies.length = 0;
    const plain = this.#socket;
    this.#detach(plain);
    const secure = tls.connect({ ...options, socket: plain });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
        const onAbort = (): void => reject(new Error('the deadline passed'));
        this.#signal?.addEventListener('abort', onAbort, { once: true });
        const done = (error?: Error): void => {
          clearTimeout(timer);
          this.#signal?.removeEventListener('abort', onAbort);
          secure.off('secureConnect', ok);
          secure.off('error', done);
          secure.off('close', closed);
          if (error) reject(error);
          else resolve();
        };
        const ok = (): void => done();
        const closed = (): void => done(new Error('the server closed the connection'));
        secure.once('secureConnect', ok);
        secure.once('error', done);
        secure.once('close', closed);
      });
    } catch (error) {
      secure.destroy();
      plain.destroy();
      this.#socket = secure;
      const message = `TLS handshake failed: ${(error as Error).message}`;
      // Certificates and TLS protocol failures are permanent; a timeout or a lost connection is not.
      const kind = isTlsFailure(error) ? 'tls' : (error as Error).message.startsWith('no handshake') || (error as Error).message.includes('deadline') ? 'timeout' : 'closed';
      this.fail({ kind, message, cause: error });
      throw errorFor(this.#failure!, 'starttls');
    }
    this.#socket = secure;
    this.#attach(secure);
  }

  /** Ends the connection at once (no QUIT); pending reads reject with `ConnectionError`. */
  close(): void {
    this.fail({ kind: 'closed', message: 'The client closed the connection' });
  }

  /** Ends the connection after the written bytes leave (used after QUIT). */
  finish(): void {
    if (!this.#failure) this.#failure = { kind: 'closed', message: 'The client closed the connection' };
    this.#cleanup();
    this.#socket.end();
    this.#socket.destroySoon();
    this.#rejectAll();
  }

  /** Marks the connection failed, destroys the socket and rejects every pending read. Idempotent. */
  fail(failure: Failure): void {
    if (this.#failure) return;
    this.#failure = failure;
    this.#unflushed = this.#socket.writableLength;
    this.#cleanup();
    this.#socket.destroy();
    this.#rejectAll();
  }

  #rejectAll(): void {
    const failure = this.#failure!;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(errorFor(failure, waiter.phase));
    }
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

  #receive(chunk: Buffer): void {
    if (this.#failure) return;
    let replies: SmtpReply[];
    let garbage: Error | undefined;
    try {
      replies = this.#parser.push(chunk);
    } catch (error) {
      // Replies complete before the bad line still answer their commands.
      replies = (error as { replies?: SmtpReply[] }).replies ?? [];
      garbage = error as Error;
    }
    this.#deliver(replies);
    if (garbage) this.fail({ kind: 'protocol', message: garbage.message, cause: garbage });
  }

  #deliver(replies: SmtpReply[]): void {
    for (const reply of replies) {
      if (this.#failure) return;
      if (this.#transcript) for (const line of renderReply(reply)) this.#log('S', line);
      if (reply.code === 421) {
        this.fail({ kind: 'closed', message: `The server is closing the connection: ${reply.code} ${reply.lines.join(' ')}`, code: 421, ...(reply.enhancedCode ? { enhancedCode: reply.enhancedCode } : {}) });
        return;
      }
      const waiter = this.#waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(reply);
      } else {
        this.#replies.push(reply);
      }
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

/**
 * A TLS failure that trying again will not mend: the certificate (untrusted, expired, another
 * name) or the TLS protocol itself; not a reset or a timeout during the handshake.
 */
function isTlsFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code ?? '';
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|HOSTNAME/.test(code);
}

/** The lines of a reply as the server wrote them, for the transcript. */
function renderReply(reply: SmtpReply): string[] {
  const prefix = reply.enhancedCode ? `${reply.enhancedCode} ` : '';
  return reply.lines.map((text, index) => `${reply.code}${index === reply.lines.length - 1 ? ' ' : '-'}${prefix}${text}`.trimEnd());
}

function errorFor(failure: Failure, phase: SmtpPhase): SmtpError {
  const init = {
    phase,
    transient: true,
    cause: failure.cause,
    ...(failure.code === undefined ? {} : { code: failure.code }),
    ...(failure.enhancedCode === undefined ? {} : { enhancedCode: failure.enhancedCode }),
  };
  switch (failure.kind) {
    case 'timeout':
    case 'aborted':
      return new TimeoutError(failure.message, init);
    case 'protocol':
      return new ProtocolError(failure.message, init);
    case 'tls':
      return new TlsRequiredError(failure.message, { ...init, transient: false });
    case 'closed':
      return new ConnectionError(failure.message, init);
  }
}
