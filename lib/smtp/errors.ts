/**
 * The errors the SMTP client throws: one shallow hierarchy under {@link SmtpError}, one class per
 * stage of failure, each telling whether the failure is transient and whether the message may
 * have been delivered anyway (`ambiguous`).
 * @module
 */
import type { RefusedRecipient, SmtpPhase, SmtpReply } from './types.js';

/** Fields every {@link SmtpError} carries. */
export interface SmtpErrorInit {
  phase: SmtpPhase;
  code?: number;
  enhancedCode?: string;
  transient?: boolean;
  ambiguous?: boolean;
  cause?: unknown;
}

/**
 * Base of every error the client throws.
 *
 * `transient` is true for 4xx replies, network failures and timeouts; false for 5xx (and for any
 * other reply that ends an exchange it should not, like a 334 that never stops).
 * `ambiguous` is true only when the end of the data went out and no final reply came back: the
 * message may have been delivered.
 */
export class SmtpError extends Error {
  readonly phase: SmtpPhase;
  readonly code?: number;
  readonly enhancedCode?: string;
  readonly transient: boolean;
  readonly ambiguous: boolean;

  constructor(message: string, init: SmtpErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.phase = init.phase;
    if (init.code !== undefined) this.code = init.code;
    if (init.enhancedCode !== undefined) this.enhancedCode = init.enhancedCode;
    this.transient = init.transient ?? (init.code === undefined ? true : isTransientCode(init.code));
    this.ambiguous = init.ambiguous ?? false;
  }

  /**
   * Builds an error of this class from a server reply, with the reply's code and text in the
   * message. Transient only for a 4xx reply: a 5xx, or a reply that makes no sense where it came
   * (a 334 that never ends an AUTH exchange), will not change by trying again.
   */
  static fromReply<T extends SmtpError>(this: new (message: string, init: SmtpErrorInit) => T, what: string, phase: SmtpPhase, reply: SmtpReply): T {
    return new this(`${what}: ${formatReply(reply)}`, {
      phase,
      code: reply.code,
      ...(reply.enhancedCode === undefined ? {} : { enhancedCode: reply.enhancedCode }),
      transient: isTransientCode(reply.code),
    });
  }
}

/** The connection could not be made, was dropped, or was closed by a 421. */
export class ConnectionError extends SmtpError {}
/** A connect, greeting, command or data timeout, or the overall deadline passed. */
export class TimeoutError extends SmtpError {}
/** The server said something that is not SMTP, or a reply we cannot accept; also misuse (bad arguments, a closed client). */
export class ProtocolError extends SmtpError {}
/** The server refused the credentials, or no common mechanism exists, or credentials would cross in clear. */
export class AuthenticationError extends SmtpError {}
/** MAIL FROM was refused. */
export class SenderRefusedError extends SmtpError {}
/** Every recipient was refused; `rejected` lists each with its reply. */
export class RecipientsRefusedError extends SmtpError {
  readonly rejected: RefusedRecipient[];
  constructor(message: string, init: SmtpErrorInit & { rejected: RefusedRecipient[] }) {
    super(message, init);
    this.rejected = init.rejected;
  }
}
/** DATA, BDAT or the final reply to the content was a refusal. */
export class DataRefusedError extends SmtpError {}
/** The message exceeds the server's SIZE limit (checked before MAIL), or the server said so (552). */
export class MessageTooLargeError extends SmtpError {}
/** TLS was required and the server does not offer STARTTLS, refused it, or the handshake failed. */
export class TlsRequiredError extends SmtpError {}

/** 4xx: the only reply codes that say "try again later". */
function isTransientCode(code: number): boolean {
  return code >= 400 && code < 500;
}

/** Renders a reply as `550 5.1.1 text` on one line, for error messages. */
export function formatReply(reply: SmtpReply): string {
  const text = reply.lines.join(' / ');
  return [String(reply.code), reply.enhancedCode, text].filter((part) => part !== undefined && part !== '').join(' ');
}
