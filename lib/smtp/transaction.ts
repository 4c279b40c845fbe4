/**
 * One mail transaction: the envelope and content checked and encoded for this server before any
 * byte is written (addresses, SMTPUTF8, 8BITMIME, SIZE, line lengths), the command lines, and the
 * reading of its replies into a {@link SendResult} or the error of the stage that refused it.
 * @module
 */
import { checkAddress, needsSmtpUtf8 } from './arguments.js';
import { prepareContent, type WireContent } from './content.js';
import { StreamedContent } from './StreamedContent.js';
import {
  ConnectionError,
  DataRefusedError,
  MessageTooLargeError,
  ProtocolError,
  RecipientsRefusedError,
  SenderRefusedError,
  type SmtpError,
} from './errors.js';
import { isPositive, isTransient, replyText } from './reply.js';
import type { Capabilities, Envelope, MessageStream, RefusedRecipient, SendResult, SmtpPhase, SmtpReply } from './types.js';

/** A message on its way: prepared, queued, written, answered. */
export interface Transaction {
  from: string;
  to: string[];
  /** The whole message encoded, or a stream encoded as it is sent. */
  content: WireContent | StreamedContent;
  /** `MAIL FROM:<...> params` */
  mailLine: string;
  /** One `RCPT TO:<...>` per recipient. */
  rcptLines: string[];
  /** True once it was sent again after a server refused it pipelined behind another transaction's end. */
  retried: boolean;
  /** Recipients the server took, once the envelope replies are in. */
  accepted: string[];
  /** Recipients the server refused, once the envelope replies are in. */
  rejected: RefusedRecipient[];
  resolve: (result: SendResult) => void;
  reject: (error: SmtpError) => void;
}

/** A transaction whose content is in memory, whole. */
export type BufferedTransaction = Transaction & { content: WireContent };

/** Whether the transaction's content is in memory (not streamed). */
export function isBuffered(tx: Transaction): tx is BufferedTransaction {
  return !(tx.content instanceof StreamedContent);
}

/** How the server takes content: DATA with dot-stuffing, or BDAT chunks (RFC 3030). */
export type ContentMode = 'data' | 'bdat';

/**
 * Checks and encodes a message for this server (a stream: its declared size and 8-bit flag; its
 * bytes are checked as they are sent, see {@link StreamedContent}).
 * @throws {ProtocolError} bad addresses, no recipient, lines over 998 octets, SMTPUTF8 or 8BITMIME
 *   needed but not offered, not a message (all permanent); {@link MessageTooLargeError} over the SIZE limit.
 */
export function prepareTransaction(
  envelope: Envelope,
  message: string | Uint8Array,
  capabilities: Capabilities,
  mode: ContentMode,
  settle: Pick<Transaction, 'resolve' | 'reject'>,
): BufferedTransaction;
export function prepareTransaction(
  envelope: Envelope,
  message: string | Uint8Array | MessageStream,
  capabilities: Capabilities,
  mode: ContentMode,
  settle: Pick<Transaction, 'resolve' | 'reject'>,
): Transaction;
export function prepareTransaction(
  envelope: Envelope,
  message: string | Uint8Array | MessageStream,
  capabilities: Capabilities,
  mode: ContentMode,
  settle: Pick<Transaction, 'resolve' | 'reject'>,
): Transaction {
  if ((envelope as unknown) === null || typeof envelope !== 'object')
    throw new ProtocolError('The envelope must be an object { from, to }', { phase: 'mail', transient: false });
  if (typeof message !== 'string' && !(message instanceof Uint8Array) && !isMessageStream(message))
    throw new ProtocolError('The message must be a string, a Uint8Array or a MessageStream { size, chunks }', { phase: 'data', transient: false });
  const from = checkAddress(envelope.from, 'mail', true);
  if (!Array.isArray(envelope.to) || envelope.to.length === 0)
    throw new ProtocolError('The envelope has no recipient', { phase: 'rcpt', transient: false });
  const to = envelope.to.map((address) => checkAddress(address, 'rcpt'));

  const utf8 = needsSmtpUtf8(from) || to.some(needsSmtpUtf8);
  if (utf8 && !capabilities.smtpUtf8) {
    throw new ProtocolError('The envelope has a non-ASCII address and the server does not offer SMTPUTF8', { phase: 'mail', transient: false });
  }
  const content =
    typeof message === 'string' || message instanceof Uint8Array
      ? prepareContent(message, { dotStuff: mode === 'data' })
      : new StreamedContent(message, { dotStuff: mode === 'data', eightBit: message.eightBit ?? capabilities.eightBitMime });
  if (content.eightBit && !capabilities.eightBitMime) {
    throw new ProtocolError('The message holds 8-bit data and the server does not offer 8BITMIME (encode it as quoted-printable or base64)', {
      phase: 'data',
      transient: false,
    });
  }
  if (capabilities.size && content.size > capabilities.size) {
    throw new MessageTooLargeError(`The message is ${content.size} octets; the server takes at most ${capabilities.size}`, {
      phase: 'mail',
      transient: false,
    });
  }
  const params: string[] = [];
  if (capabilities.size !== undefined) params.push(`SIZE=${content.size}`);
  if (content.eightBit) params.push('BODY=8BITMIME');
  if (utf8) params.push('SMTPUTF8');
  return {
    from,
    to,
    content,
    mailLine: [`MAIL FROM:<${from}>`, ...params].join(' '),
    rcptLines: to.map((address) => `RCPT TO:<${address}>`),
    retried: false,
    accepted: [],
    rejected: [],
    ...settle,
    ...(content instanceof StreamedContent ? streamClosedWhenSettled(content, settle) : {}),
  };
}

/** A `MessageStream` as the contract has it: a whole number of octets and a `chunks` function. */
function isMessageStream(message: unknown): message is MessageStream {
  if (message === null || typeof message !== 'object') return false;
  const { size, chunks, eightBit } = message as Partial<MessageStream>;
  return Number.isSafeInteger(size) && (size ?? -1) >= 0 && typeof chunks === 'function' && (eightBit === undefined || typeof eightBit === 'boolean');
}

/** However a streamed message's send ends, its stream is ended too (a failure can come before or while it is read). */
function streamClosedWhenSettled(content: StreamedContent, settle: Pick<Transaction, 'resolve' | 'reject'>): Pick<Transaction, 'resolve' | 'reject'> {
  return {
    resolve: (result) => {
      content.close();
      settle.resolve(result);
    },
    reject: (error) => {
      content.close();
      settle.reject(error);
    },
  };
}

/** What the envelope replies (MAIL, each RCPT) say about a transaction. */
export type EnvelopeVerdict = { ok: true; accepted: string[]; rejected: RefusedRecipient[] } | { ok: false; error: SmtpError };

/** Reads MAIL's and the RCPTs' replies: the sender refused, every recipient refused, or who was accepted. */
export function judgeEnvelope(tx: Transaction, mail: SmtpReply, rcpts: SmtpReply[]): EnvelopeVerdict {
  if (!isPositive(mail)) {
    const Class = mail.code === 552 ? MessageTooLargeError : SenderRefusedError;
    return { ok: false, error: Class.fromReply(`The server refused the sender <${tx.from}>`, 'mail', mail) };
  }
  const accepted: string[] = [];
  const rejected: RefusedRecipient[] = [];
  for (const [index, recipient] of tx.to.entries()) {
    const reply = rcpts[index];
    if (!reply) break;
    if (isPositive(reply)) accepted.push(recipient);
    else rejected.push(refusal(recipient, reply));
  }
  if (accepted.length === 0) return { ok: false, error: allRefused(rejected, 'rcpt') };
  return { ok: true, accepted, rejected };
}

/**
 * Reads the reply (SMTP) or replies (LMTP: one per accepted recipient, RFC 2033) after the content.
 * @returns the result, or the error when nobody took the message.
 */
export function judgeContent(accepted: string[], rejected: RefusedRecipient[], finals: SmtpReply[], lmtp: boolean): SendResult | SmtpError {
  const last = finals.at(-1);
  if (!last) return new ProtocolError('No reply after the message content', { phase: 'data', transient: true });
  if (!lmtp) {
    if (isPositive(last)) return { accepted, rejected, reply: last };
    return contentRefused(last);
  }
  const delivered: string[] = [];
  const refused = [...rejected];
  for (const [index, recipient] of accepted.entries()) {
    const reply = finals[index];
    if (!reply) break;
    if (isPositive(reply)) delivered.push(recipient);
    else refused.push(refusal(recipient, reply));
  }
  if (delivered.length === 0) return allRefused(refused, 'data');
  return { accepted: delivered, rejected: refused, reply: last };
}

/** The error for a refusal of the content: 552 means too large. */
export function contentRefused(reply: SmtpReply): SmtpError {
  return reply.code === 552
    ? MessageTooLargeError.fromReply('The server refused the message as too large', 'data', reply)
    : DataRefusedError.fromReply('The server refused the message', 'data', reply);
}

function refusal(recipient: string, reply: SmtpReply): RefusedRecipient {
  return {
    recipient,
    code: reply.code,
    ...(reply.enhancedCode === undefined ? {} : { enhancedCode: reply.enhancedCode }),
    message: replyText(reply),
    transient: isTransient(reply),
  };
}

function allRefused(rejected: RefusedRecipient[], phase: 'rcpt' | 'data'): RecipientsRefusedError {
  const first = rejected[0] ?? { code: 0, enhancedCode: undefined, transient: true };
  return new RecipientsRefusedError(
    `The server refused every recipient: ${rejected.map((r) => `<${r.recipient}> ${r.code}${r.enhancedCode ? ` ${r.enhancedCode}` : ''} ${r.message}`).join('; ')}`,
    {
      phase,
      code: first.code,
      ...(first.enhancedCode === undefined ? {} : { enhancedCode: first.enhancedCode }),
      transient: rejected.some((r) => r.transient),
      rejected,
    },
  );
}

/** After the end of data, a lost connection or a timeout leaves the outcome unknown; a reply (421) does not. */
export function ambiguousUnlessAnswered(error: unknown): SmtpError {
  const cause = error as SmtpError;
  if (cause.code !== undefined) return cause;
  const Class = cause.constructor as new (message: string, init: ConstructorParameters<typeof SmtpError>[1]) => SmtpError;
  return new Class(`${cause.message} after the end of the message was sent: it may have been delivered`, {
    phase: 'data',
    transient: true,
    ambiguous: true,
    cause,
  });
}

/**
 * The error of a message that never (completely) left: transient, never ambiguous. Another message
 * refused as too large, which cost the connection, makes a {@link ConnectionError} here, not a "too large".
 */
export function notAttempted(error: SmtpError, phase: SmtpPhase = 'mail'): SmtpError {
  if (error instanceof MessageTooLargeError)
    return new ConnectionError(`Not sent: the connection was closed after the server refused another message as too large (${error.message})`, {
      phase,
      transient: true,
      cause: error,
    });
  const Class = error.constructor as new (message: string, init: ConstructorParameters<typeof SmtpError>[1]) => SmtpError;
  return new Class(`Not sent: ${error.message}`, {
    phase,
    transient: true,
    cause: error,
    ...(error.code === undefined ? {} : { code: error.code }),
    ...(error.enhancedCode === undefined ? {} : { enhancedCode: error.enhancedCode }),
  });
}
