/**
 * Reply framing: the bytes the server sends become replies, and each reply is matched to a write
 * that expects it. Every write says how many replies it expects (a pipelined group counts them
 * all; the greeting is one expected reply on connect), so a reply that no write asked for is seen
 * at once: it fails the connection as a protocol error instead of answering a later command (a
 * 552 then is the server refusing the message being written as too large, before its end). So
 * does a reply of a class its command cannot get (a stray that counting alone cannot tell, as one
 * inside a pipelined group), once its reader takes it.
 *
 * Memory is bounded whatever the server sends: the parser holds at most one line and one reply
 * (see {@link MAX_REPLY_LINE}, {@link MAX_REPLY_OCTETS}); replies wait for their reader only when
 * they were expected, up to {@link MAX_HELD_OCTETS} (more only for many short replies, as a large
 * pipelined batch gets).
 * @module
 */
import { formatReply } from './errors.js';
import type { SmtpError } from './errors.js';
import type { Failure } from './failure.js';
import { canAnswer, describeRule, ReplyParser, type ReplyRule } from './reply.js';
import type { SmtpPhase, SmtpReply } from './types.js';

/** Most octets of replies kept for readers that have not asked for them yet (a pipelined group's replies are a few KB). */
export const MAX_HELD_OCTETS = 1024 * 1024;
/**
 * Past {@link MAX_HELD_OCTETS}, the replies held may average at most this many octets: a batch of
 * thousands of messages gets thousands of short replies (under 100 octets each), while a server
 * padding each expected reply towards 64 KiB is refused. So what is held stays proportional to
 * the commands the client wrote.
 */
export const MAX_HELD_OCTETS_PER_REPLY = 1024;

/** What the stream tells its connection. */
export interface ReplyStreamHooks {
  /** One line of a reply, as the server wrote it (for the transcript). */
  log(line: string): void;
  /** The server sent something that ends the connection; the connection calls {@link ReplyStream.stop}. */
  fail(failure: Failure): void;
}

interface Waiter {
  resolve: (reply: SmtpReply) => void;
  reject: (error: SmtpError) => void;
  phase: SmtpPhase;
  timer: NodeJS.Timeout;
}

/** The replies of one connection, matched to the writes that expect them. */
export class ReplyStream {
  readonly #hooks: ReplyStreamHooks;
  readonly #parser = new ReplyParser();
  /** Replies expected that have not arrived yet. */
  #owed: number;
  /** Replies that arrived before their reader asked. */
  #held: SmtpReply[] = [];
  #heldOctets = 0;
  #waiters: Waiter[] = [];
  /** STARTTLS: `'asked'` until its reply comes; `'switching'` after a 220, until the handshake. */
  #tls: 'none' | 'asked' | 'switching' = 'none';
  #stopped = false;

  /** @param owed replies expected before anything is written: 1, the greeting. */
  constructor(hooks: ReplyStreamHooks, owed = 1) {
    this.#hooks = hooks;
    this.#owed = owed;
  }

  /** Replies expected and not yet arrived. */
  get owed(): number {
    return this.#owed;
  }

  /** A write expects `count` more replies. */
  expect(count: number): void {
    this.#owed += count;
  }

  /**
   * The next expected reply answers STARTTLS: if it is a 220, whatever the server sends after it
   * and before the handshake is dropped, never read as a reply (RFC 3207 s. 6, command injection).
   */
  expectTlsSwitch(): void {
    this.#owed += 1;
    this.#tls = 'asked';
  }

  /**
   * `count` of the replies expected will not come (LMTP after `BDAT LAST`: one reply per accepted
   * recipient, known only once the RCPT replies are in). If more replies than that arrived, the
   * server sent replies nobody asked for: the connection fails.
   */
  release(count: number): void {
    if (count <= this.#owed) {
      this.#owed -= count;
      return;
    }
    const extra = count - this.#owed;
    this.#owed = 0;
    this.#unexpected(`the server sent ${extra} more ${extra === 1 ? 'reply' : 'replies'} than the commands asked for`);
  }

  /**
   * Whether a reply taken or waited for can answer its command (`rule`, RFC 5321 s. 4.3.2). One
   * that cannot (a 2xx to DATA, a 3xx to MAIL) is a stray, or replies are out of step with the
   * commands: the connection fails, as for a reply nobody asked for.
   */
  accepts(reply: SmtpReply, rule: ReplyRule): boolean {
    if (canAnswer(rule, reply.code)) return true;
    if (rule !== 'any') this.#unexpected(`${formatReply(reply)} cannot answer ${describeRule(rule)}`);
    return false;
  }

  /** The oldest reply that arrived before its reader asked, if any. */
  take(): SmtpReply | undefined {
    const reply = this.#held.shift();
    if (reply) this.#heldOctets -= octets(reply);
    return reply;
  }

  /** Waits for the next expected reply; after `timeoutMs` the connection fails with a timeout. */
  wait(phase: SmtpPhase, timeoutMs: number): Promise<SmtpReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.#hooks.fail({ kind: 'timeout', message: `No reply from the server within ${timeoutMs} ms` }), timeoutMs);
      this.#waiters.push({ resolve, reject, phase, timer });
    });
  }

  /** Parses bytes from the socket and hands each reply to its reader (or holds it, or fails the connection). */
  receive(chunk: Buffer): void {
    if (this.#stopped) return;
    let replies: SmtpReply[];
    let garbage: Error | undefined;
    try {
      replies = this.#parser.push(chunk);
    } catch (error) {
      // Replies complete before the bad line still answer their commands.
      replies = (error as { replies?: SmtpReply[] }).replies ?? [];
      garbage = error as Error;
    }
    for (const reply of replies) {
      // A reply (or the transcript hook) may have ended the connection: read nothing after that.
      if (this.#isStopped()) return;
      this.#deliver(reply);
    }
    if (garbage && !this.#isStopped()) this.#hooks.fail({ kind: 'protocol', message: garbage.message, cause: garbage });
  }

  /** Forgets everything read before the TLS handshake: bytes, held replies, expectations. */
  reset(): void {
    this.#parser.reset();
    this.#held = [];
    this.#heldOctets = 0;
    this.#owed = 0;
    this.#tls = 'none';
  }

  /** Stops reading for good and rejects every waiting reader with its phase's error. Idempotent. */
  stop(errorFor: (phase: SmtpPhase) => SmtpError): void {
    this.#stopped = true;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(errorFor(waiter.phase));
    }
  }

  #isStopped(): boolean {
    return this.#stopped;
  }

  #deliver(reply: SmtpReply): void {
    for (const line of renderReply(reply)) this.#hooks.log(line);
    if (this.#tls === 'switching') return;
    if (reply.code === 421) {
      // RFC 5321 3.8: the server may send 421 at any time, unasked, before it closes.
      this.#hooks.fail({
        kind: 'closed',
        message: `The server is closing the connection: ${reply.code} ${reply.lines.join(' ')}`,
        code: 421,
        ...(reply.enhancedCode ? { enhancedCode: reply.enhancedCode } : {}),
      });
      return;
    }
    if (this.#owed === 0) {
      if (reply.code === 552) {
        // A server may refuse a message as too large before its end (early in the DATA content,
        // or in the middle of it): the message is refused, not a protocol fault. The replies held
        // (the envelope's and the 354, when they came in the same read) still answer their commands.
        this.#hooks.fail({
          kind: 'tooLarge',
          message: `The server refused the message as too large: ${formatReply(reply)}`,
          code: 552,
          ...(reply.enhancedCode ? { enhancedCode: reply.enhancedCode } : {}),
        });
        return;
      }
      this.#unexpected(`the server sent a reply no command asked for: ${formatReply(reply)}`);
      return;
    }
    this.#owed -= 1;
    if (this.#tls === 'asked') this.#tls = reply.code === 220 ? 'switching' : 'none';
    const waiter = this.#waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      waiter.resolve(reply);
      return;
    }
    this.#held.push(reply);
    this.#heldOctets += octets(reply);
    if (this.#heldOctets > MAX_HELD_OCTETS && this.#heldOctets > this.#held.length * MAX_HELD_OCTETS_PER_REPLY) {
      this.#hooks.fail({ kind: 'protocol', message: `The server sent over ${MAX_HELD_OCTETS} octets of replies ahead of the client` });
    }
  }

  /** Replies no longer line up with commands: none of those held may answer anything. */
  #unexpected(what: string): void {
    this.#held = [];
    this.#heldOctets = 0;
    this.#hooks.fail({ kind: 'protocol', message: `Unexpected reply: ${what}` });
  }
}

/** The lines of a reply as the server wrote them, for the transcript. */
function renderReply(reply: SmtpReply): string[] {
  const prefix = reply.enhancedCode ? `${reply.enhancedCode} ` : '';
  return reply.lines.map((text, index) => `${reply.code}${index === reply.lines.length - 1 ? ' ' : '-'}${prefix}${text}`.trimEnd());
}

function octets(reply: SmtpReply): number {
  return reply.lines.reduce((sum, line) => sum + line.length + 6, 0);
}
