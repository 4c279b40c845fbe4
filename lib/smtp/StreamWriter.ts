/**
 * The content of streamed messages on the wire. With DATA: the bytes in writes of bounded size,
 * each waiting for the socket to take it (backpressure), the last batch handed back to leave with
 * the end of data (and, pipelined, the next message's envelope). With BDAT (RFC 3030): chunks of
 * about 1 MiB as `BDAT n`, up to a few written ahead of their replies with PIPELINING (one without),
 * then `BDAT n LAST`.
 *
 * A message is never accepted truncated. The end (the dot, `BDAT LAST`) leaves only after the
 * stream ended with exactly its declared size. When the stream fails before that (it throws, its
 * size is wrong, a line is too long) the send fails with that error, not ambiguous: with BDAT the
 * transaction is left to an RSET and the connection stays usable; with DATA, content cannot be
 * taken back, so the connection is closed without the dot and the server drops the message
 * (what was queued behind it fails as not sent, transient).
 *
 * A 552 is the server refusing the message as too large, whenever it comes: early or in the middle
 * of DATA content (the connection then ends, see ReplyStream), on a BDAT chunk (even when the server
 * closes right after it), or after the end: a permanent {@link MessageTooLargeError} with the reply.
 * @module
 */
import { DOT_LINE, envelopeReplies, octetsSummary, pushEnvelope } from './commandGroups.js';
import type { SmtpConnection } from './connection.js';
import { MessageTooLargeError, type SmtpError } from './errors.js';
import { isPositive } from './reply.js';
import type { Session } from './session.js';
import { readAhead } from './readAhead.js';
import { StreamedContent } from './StreamedContent.js';
import { ambiguousUnlessAnswered, contentRefused, judgeEnvelope, notAttempted, type Transaction } from './transaction.js';
import type { EnvelopeReplies, TransactionWire } from './TransactionWire.js';
import type { SmtpReply } from './types.js';

/** Least octets of a streamed message per write with DATA. */
export const DATA_WRITE_BYTES = 256 * 1024;
/** Least octets of a streamed message per BDAT chunk (the last excepted). */
export const BDAT_CHUNK_BYTES = 1024 * 1024;
/** BDAT chunks of a streamed message written ahead of their replies, with PIPELINING. */
export const BDAT_CHUNKS_AHEAD = 4;

/** Writes the content of streamed messages over one session's connection. */
export class StreamWriter {
  readonly #session: Session;
  readonly #connection: SmtpConnection;
  readonly #wire: TransactionWire;

  constructor(session: Session, wire: TransactionWire) {
    this.#session = session;
    this.#connection = session.connection;
    this.#wire = wire;
  }

  /**
   * Starts a streamed message's stream (no-op for a buffered one), before its envelope is written:
   * a stream that fails at once fails its send here, and the session goes on.
   * @returns false when the send failed (it is settled).
   */
  async ready(tx: Transaction): Promise<boolean> {
    if (!(tx.content instanceof StreamedContent)) return true;
    try {
      await tx.content.open(this.#lost());
      return true;
    } catch (error) {
      tx.reject(error as SmtpError);
      return false;
    }
  }

  /**
   * DATA, after the 354: writes the content but its last batch, which it returns (with the
   * transcript line) to be written with the end of data.
   * @throws {SmtpError} after settling `tx`, the connection failed or closed (see the module).
   */
  async writeDataBody(tx: Transaction, content: StreamedContent): Promise<{ parts: Uint8Array[]; lines: string[] }> {
    try {
      for await (const batch of readAhead(content.batches(DATA_WRITE_BYTES, this.#lost()))) {
        if (batch.last) return { parts: [...batch.parts, Buffer.from(DOT_LINE)], lines: [octetsSummary(content.wireOctets), '.'] };
        await this.#connection.write(batch.parts, [], 'data', 0);
      }
    } catch (error) {
      if (this.#connection.closed) {
        tx.reject(this.#cut(error));
      } else {
        this.#connection.fail({
          kind: 'closed',
          message: 'The connection was closed to abandon a message whose stream failed (no end of data was sent)',
        });
        tx.reject(error as SmtpError);
      }
      throw error;
    }
    /* c8 ignore next: batches() always ends with a last batch or throws */
    throw new Error('unreachable');
  }

  /**
   * CHUNKING with PIPELINING: [RSET, MAIL, RCPT...] in one write, then, once the envelope is
   * accepted, the content in chunks written ahead of their replies ({@link writeChunks}).
   * @returns true when the transaction was left open (an RSET must precede the next MAIL).
   * @throws {SmtpError} after settling `tx`, when the connection failed.
   */
  async sendChunked(tx: Transaction, content: StreamedContent, reset: boolean): Promise<boolean> {
    const chunks: string[] = [];
    const lines: string[] = [];
    pushEnvelope(tx, reset, undefined, chunks, lines);
    await this.#wire.write(chunks, lines, 'mail', envelopeReplies(tx, reset), [tx]);
    let replies: EnvelopeReplies;
    try {
      replies = await this.#wire.readEnvelopeReplies(tx, reset);
    } catch (error) {
      tx.reject(error as SmtpError);
      throw error;
    }
    const verdict = judgeEnvelope(tx, replies.mail, replies.rcpts);
    if (!verdict.ok) {
      tx.reject(verdict.error);
      return true;
    }
    tx.accepted = verdict.accepted;
    tx.rejected = verdict.rejected;
    return this.writeChunks(tx, content, BDAT_CHUNKS_AHEAD);
  }

  /**
   * BDAT, after the envelope was accepted: the content in chunks, then `BDAT n LAST`, and the
   * reply (or LMTP replies) after it. A refused chunk stops the stream and fails the send with
   * that reply; a stream that fails stops at a chunk boundary.
   * @returns true when the transaction was left open (an RSET must precede the next MAIL).
   * @throws {SmtpError} after settling `tx`, when the connection failed.
   */
  async writeChunks(tx: Transaction, content: StreamedContent, ahead: number): Promise<boolean> {
    let outstanding = 0;
    let refusal: SmtpReply | undefined;
    const readOne = async (): Promise<void> => {
      const reply = await this.#connection.readReply('data', this.#session.timeouts.dataMs, 'command');
      outstanding -= 1;
      if (!isPositive(reply)) refusal ??= reply;
    };
    let last: { parts: Uint8Array[]; bytes: number } | undefined;
    try {
      try {
        for await (const batch of readAhead(content.batches(BDAT_CHUNK_BYTES, this.#lost()))) {
          if (batch.last) {
            last = batch;
            break;
          }
          const line = `BDAT ${batch.bytes}`;
          await this.#connection.write([`${line}\r\n`, ...batch.parts], [line, octetsSummary(batch.bytes)], 'data', 1);
          outstanding += 1;
          while (outstanding >= ahead) await readOne();
          if (refusal) break;
        }
        while (outstanding > 0) await readOne();
      } catch (error) {
        if (this.#connection.closed) throw error;
        // The stream failed: the chunks already written are answered, then the transaction waits for an RSET.
        while (outstanding > 0) await readOne();
        tx.reject(error as SmtpError);
        return true;
      }
    } catch (error) {
      // The connection failed: a refusal the server sent before it did (a 552, then closing) still says why.
      while (!refusal && outstanding > 0) await readOne().catch(() => (outstanding = 0));
      tx.reject(refusal ? contentRefused(refusal) : this.#cut(error));
      throw error;
    }
    if (refusal) {
      tx.reject(contentRefused(refusal));
      return true;
    }
    /* c8 ignore next: without a refusal, batches() ends with a last batch or throws */
    if (!last) throw new Error('unreachable');
    const line = `BDAT ${last.bytes} LAST`;
    try {
      await this.#connection.write([`${line}\r\n`, ...last.parts], [line, octetsSummary(last.bytes)], 'data', this.#wire.finalCount(tx));
    } catch (error) {
      // Cut while waiting for the socket to take it: the end left only if nothing stayed in this process.
      tx.reject(this.#connection.unflushedBytes === 0 ? ambiguousUnlessAnswered(error) : notAttempted(error as SmtpError, 'data'));
      throw error;
    }
    await this.#wire.readFinal(tx, []);
    return false;
  }

  /**
   * The error of a message whose content was cut by the connection's failure: not sent (transient),
   * unless the server refused it as too large in the middle of it (a 552 no command asked for yet):
   * that refusal, permanent.
   */
  #cut(error: unknown): SmtpError {
    const failure = this.#connection.failureFor('data') ?? (error as SmtpError);
    return failure instanceof MessageTooLargeError ? failure : notAttempted(failure, 'data');
  }

  /** Settles with the connection's error once it fails. */
  #lost(): Promise<SmtpError> {
    return this.#connection.lost.then(() => this.#connection.failureFor('data') as SmtpError);
  }
}
