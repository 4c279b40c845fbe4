/**
 * The TLS handshake of STARTTLS over a connection's plain socket, within `timeoutMs` and the
 * overall deadline, and which failure a failed handshake is.
 * @module
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Failure } from './failure.js';
import { isTlsFailure } from './socket.js';

/**
 * How a handshake ended: the TLS socket now carrying the connection, and on failure why (both the
 * TLS socket and the plain one under it are destroyed then).
 */
export type TlsHandshake = { ok: true; socket: tls.TLSSocket } | { ok: false; socket: tls.TLSSocket; failure: Failure };

/**
 * Starts TLS over `plain` (whose own listeners the caller has taken off) and waits for the
 * handshake. Never rejects: a failed handshake is a `'tls'` failure when the certificate or the TLS
 * protocol is at fault (permanent), `'timeout'` when it did not finish within `timeoutMs` or the
 * signal fired, `'closed'` when the connection was lost.
 */
export async function handshakeTls(
  plain: net.Socket,
  options: tls.ConnectionOptions,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<TlsHandshake> {
  const secure = tls.connect({ ...options, socket: plain });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs);
      const onAbort = (): void => reject(new Error('the deadline passed'));
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (error?: Error): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
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
    const message = `TLS handshake failed: ${(error as Error).message}`;
    // Certificates and TLS protocol failures are permanent; a timeout or a lost connection is not.
    const kind = isTlsFailure(error)
      ? 'tls'
      : (error as Error).message.startsWith('no handshake') || (error as Error).message.includes('deadline')
        ? 'timeout'
        : 'closed';
    return { ok: false, socket: secure, failure: { kind, message, cause: error } };
  }
  return { ok: true, socket: secure };
}
