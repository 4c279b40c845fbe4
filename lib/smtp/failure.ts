/**
 * Why a connection is no longer usable, and the error each reader gets for it. Pure.
 * @module
 */
import { ConnectionError, MessageTooLargeError, ProtocolError, TimeoutError, TlsRequiredError, type SmtpError } from './errors.js';
import type { SmtpPhase } from './types.js';

/**
 * Why a connection is no longer usable. `tooLarge`: the server answered 552 while a message's
 * content was still being written (a reply no command had asked for yet): it refuses the message
 * as too large, and what it does with the rest of the content is not known.
 */
export interface Failure {
  kind: 'closed' | 'timeout' | 'protocol' | 'aborted' | 'tls' | 'tooLarge';
  message: string;
  code?: number;
  enhancedCode?: string;
  cause?: unknown;
}

/**
 * The error a reader in `phase` gets for a failed connection: a timeout or the deadline is a
 * {@link TimeoutError}, something that is not SMTP (or a reply nobody asked for) a
 * {@link ProtocolError}, a certificate or TLS failure a permanent {@link TlsRequiredError}, and a
 * lost or closed connection (a 421 too) a {@link ConnectionError}, a 552 in the middle of the content
 * a permanent {@link MessageTooLargeError} for the message being written (phase `data`) and a
 * {@link ConnectionError} without its code for anything else. All but TLS and too large are transient.
 */
export function errorFor(failure: Failure, phase: SmtpPhase): SmtpError {
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
    case 'tooLarge':
      // The message being written (phase data) was refused; anything else just lost the connection.
      if (phase === 'data') return new MessageTooLargeError(failure.message, { ...init, transient: false });
      return new ConnectionError(`The connection was closed after the server refused a message as too large (${failure.message})`, {
        phase,
        transient: true,
        cause: failure.cause,
      });
    case 'closed':
      return new ConnectionError(failure.message, init);
  }
}
