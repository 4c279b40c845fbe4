/**
 * A connection as the scheduler's transactions see it: writes that fail the transactions they
 * carry when cut, and the reading of envelope replies and of the replies after the content, which
 * settles each transaction (LMTP: one reply per accepted recipient).
 * @module
 */
import type { SmtpConnection } from './connection.js';
import { SmtpError } from './errors.js';
import { isPositive, type ReplyRule } from './reply.js';
import type { Session } from './session.js';
import type { WindowEntry } from './commandGroups.js';
import { ambiguousUnlessAnswered, judgeContent, judgeEnvelope, notAttempted, type Transaction } from './transaction.js';
import type { SmtpPhase, SmtpReply } from './types.js';

/** The replies to a transaction's envelope: [RSET], MAIL, one per RCPT. */
export interface EnvelopeReplies {
  reset?: SmtpReply;
  mail: SmtpReply;
  rcpts: SmtpReply[];
}

/** Reads and writes for transactions over one session's connection. */
export class TransactionWire {
  readonly #connection: SmtpConnection;
  readonly #session: Session;

  constructor(session: Session) {
    this.#session = session;
    this.#connection = session.connection;
  }

  /** Reads the replies to [RSET], MAIL and each RCPT. */
  async readEnvelopeReplies(tx: Transaction, reset: boolean): Promise<EnvelopeReplies> {
    const timeout = this.#session.timeouts.commandMs;
    const resetReply = reset ? await this.#connection.readReply('mail', timeout, 'command') : undefined;
    const mail = await this.#connection.readReply('mail', timeout, 'command');
    const rcpts = await this.readReplies('rcpt', tx.rcptLines.length, timeout);
    return { ...(resetReply ? { reset: resetReply } : {}), mail, rcpts };
  }

  /** Replies after a message's content: one, or in LMTP one per accepted recipient. */
  finalCount(tx: Transaction): number {
    return this.#session.lmtp ? tx.accepted.length : 1;
  }

  /** Reads the reply (or LMTP replies) after the end of data and settles the transaction. */
  async readFinal(tx: Transaction, alsoWritten: Transaction[]): Promise<void> {
    const expected = this.finalCount(tx);
    const finals: SmtpReply[] = [];
    try {
      await this.readRepliesInto(finals, 'data', expected, this.#session.timeouts.dataMs);
    } catch (error) {
      this.settleCut(tx, finals, error);
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
  settleCut(tx: Transaction, finals: SmtpReply[], error: unknown): void {
    if (this.#session.lmtp && finals.some(isPositive)) {
      const cause = error as SmtpError;
      const missing = tx.accepted.slice(finals.length).map((recipient) => ({
        recipient,
        code: cause.code ?? 0,
        message: `no reply after the data: ${cause.message}`,
        transient: true,
      }));
      const outcome = judgeContent(tx.accepted.slice(0, finals.length), [...tx.rejected, ...missing], finals, true);
      if (!(outcome instanceof SmtpError)) {
        tx.resolve(outcome);
        return;
      }
    }
    tx.reject(ambiguousUnlessAnswered(error));
  }

  /**
   * Settles a BDAT window whose connection failed while the replies of `cut[0]` were read. That
   * message: by its envelope replies when they came (refused before its content: that refusal, or
   * not sent when it would have been sent again; accepted: {@link settleCut}), else ambiguous if
   * its end had left. The later ones: ambiguous if their end had left (`sent` octets of the write
   * left), not sent otherwise.
   */
  settleWindowCut(
    cut: WindowEntry[],
    replies: EnvelopeReplies | undefined,
    finals: SmtpReply[],
    error: unknown,
    sent: number,
    resend: boolean,
  ): void {
    const [first, ...later] = cut;
    if (first) {
      const { tx } = first;
      const verdict = replies && judgeEnvelope(tx, replies.mail, replies.rcpts);
      if (verdict?.ok) {
        tx.accepted = verdict.accepted;
        tx.rejected = verdict.rejected;
        this.settleCut(tx, finals, error);
      } else if (verdict) {
        // Refused before its content: not delivered, whatever became of the connection after.
        tx.reject(resend ? notAttempted(error as SmtpError) : verdict.error);
      } else {
        tx.reject(first.end <= sent ? ambiguousUnlessAnswered(error) : notAttempted(error as SmtpError, 'data'));
      }
    }
    for (const lost of later) lost.tx.reject(lost.end <= sent ? ambiguousUnlessAnswered(error) : notAttempted(error as SmtpError, 'data'));
  }

  /** Reads `count` replies. */
  async readReplies(phase: SmtpPhase, count: number, timeoutMs: number): Promise<SmtpReply[]> {
    const replies: SmtpReply[] = [];
    await this.readRepliesInto(replies, phase, count, timeoutMs);
    return replies;
  }

  /**
   * Reads `count` replies (to RCPTs, or after the content: 2xx, 4xx or 5xx each) into `replies`,
   * so that the caller keeps those read before a failure.
   */
  async readRepliesInto(replies: SmtpReply[], phase: SmtpPhase, count: number, timeoutMs: number): Promise<void> {
    for (let i = 0; i < count; i += 1) replies.push(await this.#connection.readReply(phase, timeoutMs, 'command'));
  }

  /** Reads one reply, of a class its command can get (`rule`); a failure also fails `tx`. */
  async readFor(tx: Transaction, phase: SmtpPhase, timeoutMs: number, rule: ReplyRule): Promise<SmtpReply> {
    try {
      return await this.#connection.readReply(phase, timeoutMs, rule);
    } catch (error) {
      tx.reject(error as SmtpError);
      throw error;
    }
  }

  /** One write expecting `replies` replies; a failure also fails each of `txs`. */
  async write(chunks: (string | Uint8Array)[], lines: string[], phase: SmtpPhase, replies: number, txs: (Transaction | undefined)[]): Promise<void> {
    try {
      await this.#connection.write(chunks, lines, phase, replies);
    } catch (error) {
      for (const tx of txs) tx?.reject(error as SmtpError);
      throw error;
    }
  }
}
