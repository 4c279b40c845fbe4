/**
 * The pipelining scheduler: the queue of a session's jobs (messages and single commands) and the
 * order their bytes go out in. With PIPELINING and DATA, one message's content and end of data
 * leave with the next message's MAIL, RCPT and DATA (N messages: setup + N + 1 round trips); with
 * CHUNKING, a window of whole messages as `BDAT n LAST` leaves in one write; without PIPELINING,
 * each command waits for its reply. A server that refuses commands pipelined after the end of
 * data gets the unpipelined order for the rest of the session, and the refused message is sent
 * again, not failed. Streamed messages keep their place in the queue; their content is written by
 * the {@link StreamWriter}, and with CHUNKING each goes alone (its envelope, then its chunks).
 * @module
 */
import { DOT_LINE, envelopeReplies, planWindow, pushContent, pushEnvelope } from './commandGroups.js';
import type { SmtpConnection } from './connection.js';
import { SmtpError } from './errors.js';
import { isPositive } from './reply.js';
import type { Session } from './session.js';
import {
  ambiguousUnlessAnswered,
  contentRefused,
  judgeContent,
  isBuffered,
  judgeEnvelope,
  notAttempted,
  type BufferedTransaction,
  type ContentMode,
  type Transaction,
} from './transaction.js';
import { StreamedContent } from './StreamedContent.js';
import { StreamWriter } from './StreamWriter.js';
import { sendUnpipelined } from './unpipelined.js';
import { TransactionWire, type EnvelopeReplies } from './TransactionWire.js';
import type { SmtpReply } from './types.js';

/** Most content bytes written ahead of replies in one BDAT window. */
const WINDOW_BYTES = 4 * 1024 * 1024;

/** A job of the queue: a message to send, or one command run on its own (its own write and read). */
export type Job = { kind: 'send'; tx: Transaction } | { kind: 'command'; run: () => Promise<void>; fail: (error: SmtpError) => void };

/** Runs a session's jobs in order, pipelining messages as the server allows. */
export class PipelineScheduler {
  readonly #session: Session;
  readonly #connection: SmtpConnection;
  readonly #wire: TransactionWire;
  readonly #streams: StreamWriter;
  readonly #mode: ContentMode;
  #queue: Job[] = [];
  #running = false;
  #needsReset = false;
  #noPipeliningAfterEnd = false;

  constructor(session: Session) {
    this.#session = session;
    this.#connection = session.connection;
    this.#wire = new TransactionWire(session);
    this.#streams = new StreamWriter(session, this.#wire);
    this.#mode = session.capabilities.chunking ? 'bdat' : 'data';
  }

  /** How content goes to this server: DATA, or BDAT with CHUNKING. */
  get mode(): ContentMode {
    return this.#mode;
  }

  /** Queues a job; the queue starts on the next turn of the event loop, so jobs queued together share writes. */
  enqueue(job: Job): void {
    this.#queue.push(job);
    this.#kick();
  }

  /** An RSET the caller sent was accepted: no transaction is open, the next MAIL needs none. */
  transactionClosed(): void {
    this.#needsReset = false;
  }

  /** Fails every queued job: sends as not attempted (transient, never ambiguous), commands with `error`. */
  failQueue(error: SmtpError): void {
    for (const job of this.#queue.splice(0)) {
      if (job.kind === 'send') job.tx.reject(notAttempted(error));
      else job.fail(error);
    }
  }

  #kick(): void {
    if (this.#running) return;
    this.#running = true;
    // Let every send() made in this turn of the event loop (including those made after awaiting
    // already-settled promises) join the queue before the first write, so they share it.
    setImmediate(() => void this.#drain());
  }

  /** Runs the queue until it is empty; a failure closes the connection and fails what is left. */
  async #drain(): Promise<void> {
    try {
      for (let head = this.#queue[0]; head; head = this.#queue[0]) {
        if (head.kind === 'command') {
          this.#queue.shift();
          await head.run();
        } else if (!this.#session.capabilities.pipelining) {
          this.#queue.shift();
          await this.#sendOneByOne(head.tx);
        } else if (this.#mode === 'bdat' && head.tx.content instanceof StreamedContent) {
          this.#queue.shift();
          await this.#sendStreamedChunks(head.tx, head.tx.content);
        } else if (this.#mode === 'bdat') {
          await this.#streamChunks();
        } else {
          await this.#pipelineData();
        }
      }
    } catch (error) {
      this.#connection.close();
      const failure = this.#connection.failureFor('mail') ?? (error as SmtpError);
      this.failQueue(failure);
    } finally {
      this.#running = false;
    }
  }

  #takeSend(): Transaction | undefined {
    const head = this.#queue[0];
    if (head?.kind !== 'send') return undefined;
    this.#queue.shift();
    return head.tx;
  }

  /** The next queued send whose stream (if any) started: one whose stream fails at once is settled and skipped. */
  async #takeReady(): Promise<Transaction | undefined> {
    for (let tx = this.#takeSend(); tx; tx = this.#takeSend()) if (await this.#streams.ready(tx)) return tx;
    return undefined;
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
   * A streamed message's content goes first in writes of its own; its last part leaves that way.
   */
  async #pipelineData(): Promise<void> {
    let open: Transaction | undefined;
    for (;;) {
      const end = open?.content instanceof StreamedContent ? await this.#streams.writeDataBody(open, open.content) : undefined;
      const next = !open || !this.#noPipeliningAfterEnd ? await this.#takeReady() : undefined;
      if (!open && !next) return;
      const afterEnd = open !== undefined;
      const chunks: (string | Uint8Array)[] = [];
      const lines: string[] = [];
      if (end) {
        chunks.push(...end.parts);
        lines.push(...end.lines);
      } else if (open && isBuffered(open)) {
        pushContent(open, chunks, lines);
      }
      const reset = next ? this.#takeReset() : false;
      if (next) pushEnvelope(next, reset, 'DATA', chunks, lines);
      const replies = (open ? this.#wire.finalCount(open) : 0) + (next ? envelopeReplies(next, reset) + 1 : 0);
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
        await this.#wire.readFinal(finished, next ? [next] : []);
      }
      if (next) open = await this.#readEnvelope(next, reset, afterEnd);
    }
  }

  /** CHUNKING with PIPELINING: every queued message as [RSET, MAIL, RCPT..., BDAT n LAST, content] in one write. */
  async #streamChunks(): Promise<void> {
    for (;;) {
      const window = this.#takeWindow();
      if (window.length === 0) return;
      // Only the first message's state is known at write time; RSET before each later one keeps a
      // refused transaction from leaking its recipients into the next one.
      const { chunks, lines, replies, plan, bytes: offset } = planWindow(window, this.#takeReset(), this.#session.lmtp);
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
      for (const [index, { tx, reset }] of plan.entries()) {
        let replies: EnvelopeReplies | undefined;
        const finals: SmtpReply[] = [];
        try {
          replies = await this.#wire.readEnvelopeReplies(tx, reset);
          const expected =
            replies.rcpts.some(isPositive) && isPositive(replies.mail) && this.#session.lmtp ? replies.rcpts.filter(isPositive).length : 1;
          if (this.#session.lmtp) this.#connection.release(Math.max(1, tx.rcptLines.length) - expected);
          await this.#wire.readRepliesInto(finals, 'data', expected, this.#session.timeouts.dataMs);
        } catch (error) {
          const resend = replies !== undefined && this.#refusedAfterEnd(tx, index, replies.mail);
          this.#wire.settleWindowCut(plan.slice(index), replies, finals, error, offset - this.#connection.unflushedBytes, resend);
          for (const refused of requeue) refused.reject(notAttempted(error as SmtpError));
          throw error;
        }
        if (this.#refusedAfterEnd(tx, index, replies.mail) && !finals.some(isPositive)) {
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

  /** A window's later message refused with 503 (pipelining after another's end refused): sent again on its own. */
  #refusedAfterEnd(tx: Transaction, index: number, mail: SmtpReply): boolean {
    return index > 0 && !tx.retried && mail.code === 503;
  }

  /** CHUNKING with PIPELINING, a streamed message: its envelope, then its chunks (see {@link StreamWriter.sendChunked}). */
  async #sendStreamedChunks(tx: Transaction, content: StreamedContent): Promise<void> {
    if (!(await this.#streams.ready(tx))) return;
    this.#needsReset = await this.#streams.sendChunked(tx, content, this.#takeReset());
  }

  /** Without PIPELINING: each command waits for its reply (a streamed message's chunks too). */
  async #sendOneByOne(tx: Transaction): Promise<void> {
    if (!(await this.#streams.ready(tx))) return;
    const left = await sendUnpipelined(tx, this.#takeReset(), { session: this.#session, wire: this.#wire, streams: this.#streams, mode: this.#mode });
    if (left !== undefined) this.#needsReset = left;
  }

  /** Reads [RSET], MAIL, RCPT... and DATA replies; returns the transaction when the server waits for its content. */
  async #readEnvelope(tx: Transaction, reset: boolean, afterEnd: boolean): Promise<Transaction | undefined> {
    let replies: EnvelopeReplies;
    let data: SmtpReply;
    try {
      replies = await this.#wire.readEnvelopeReplies(tx, reset);
      data = await this.#connection.readReply('data', this.#session.timeouts.commandMs, 'DATA');
    } catch (error) {
      tx.reject(error as SmtpError);
      throw error;
    }
    if (data.code === 354 && !(isPositive(replies.mail) && replies.rcpts.some(isPositive))) {
      // Nothing to send, yet the server waits for content: end it empty; its refusal is expected.
      await this.#wire.write([DOT_LINE], ['.'], 'data', 1, [tx]);
      await this.#wire.readFor(tx, 'data', this.#session.timeouts.dataMs, 'command');
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
      // A 4xx or 5xx: anything else to DATA failed the connection when it was read.
      tx.reject(contentRefused(data));
      this.#needsReset = true;
      return undefined;
    }
    return tx;
  }

  /** The queued buffered sends at the head that fit one BDAT window (one, once pipelining after the end is refused). */
  #takeWindow(): BufferedTransaction[] {
    const window: BufferedTransaction[] = [];
    let bytes = 0;
    for (;;) {
      if (window.length > 0 && (this.#noPipeliningAfterEnd || bytes >= WINDOW_BYTES)) return window;
      const head = this.#queue[0];
      if (head?.kind !== 'send' || !isBuffered(head.tx)) return window;
      const { tx } = head;
      if (window.length > 0 && bytes + tx.content.bytes.byteLength > WINDOW_BYTES) return window;
      this.#queue.shift();
      window.push(tx);
      bytes += tx.content.bytes.byteLength;
    }
  }
}
