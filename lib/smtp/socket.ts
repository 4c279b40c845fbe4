/**
 * Opening the socket of a connection: TCP, TLS from the first byte (implicit TLS), or a unix
 * socket, within `connectMs` and the overall deadline; and which TLS failures are for good.
 * @module
 */
import net from 'node:net';
import tls from 'node:tls';
import { ConnectionError, SmtpError, TimeoutError, TlsRequiredError } from './errors.js';
import { describeTarget, type Target } from './target.js';

/** Settings for opening a socket. */
export interface SocketOptions {
  /** Connect with TLS from the first byte (implicit TLS, port 465). */
  implicitTls?: tls.ConnectionOptions;
  connectMs: number;
  signal?: AbortSignal;
}

/**
 * Opens a socket to one target, with TCP_NODELAY (pipelined writes leave at once).
 * @throws {ConnectionError} when the connection is refused or lost; {@link TimeoutError} after `connectMs`
 *   or when the signal fires; {@link TlsRequiredError} when the implicit-TLS handshake fails.
 */
export function openSocket(target: Target, options: SocketOptions): Promise<net.Socket> {
  const where = describeTarget(target);
  if (options.signal?.aborted) {
    return Promise.reject(new TimeoutError(`Not connecting to ${where}: the deadline already passed`, { phase: 'connect', transient: true }));
  }
  return new Promise((resolve, reject) => {
    const socket =
      target.kind === 'unix'
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
        resolve(socket);
      }
    };
    const onReady = (): void => settle();
    const onError = (error: NodeJS.ErrnoException): void => {
      settle(
        options.implicitTls && isTlsFailure(error)
          ? new TlsRequiredError(`TLS handshake with ${where} failed: ${error.message}`, { phase: 'connect', transient: false, cause: error })
          : new ConnectionError(`Cannot connect to ${where}: ${error.message}`, { phase: 'connect', transient: true, cause: error }),
      );
    };
    const onAbort = (): void =>
      settle(new TimeoutError(`Connecting to ${where} stopped: the deadline passed`, { phase: 'connect', transient: true }));
    const timer = setTimeout(
      () => settle(new TimeoutError(`No connection to ${where} within ${options.connectMs} ms`, { phase: 'connect', transient: true })),
      options.connectMs,
    );
    socket.once(readyEvent, onReady);
    socket.on('error', onError);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A TLS failure that trying again will not mend: the certificate (untrusted, expired, another
 * name) or the TLS protocol itself; not a reset or a timeout during the handshake.
 */
export function isTlsFailure(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? '';
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|HOSTNAME/.test(code);
}
