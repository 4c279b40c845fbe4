/**
 * The bytes of a transaction as they go into a pipelined write: its envelope commands, its
 * content and end of data, the lines the transcript shows for them, and how many replies the
 * envelope asks for. Pure.
 * @module
 */
import type { BufferedTransaction, Transaction } from './transaction.js';

/** The line that ends DATA content. */
export const DOT_LINE = '.\r\n';

/** Appends [RSET], MAIL, each RCPT and `last` (DATA or BDAT; none for a streamed BDAT message) as one chunk. */
export function pushEnvelope(tx: Transaction, reset: boolean, last: string | undefined, chunks: (string | Uint8Array)[], lines: string[]): void {
  const commands = [...(reset ? ['RSET'] : []), tx.mailLine, ...tx.rcptLines, ...(last === undefined ? [] : [last])];
  chunks.push(commands.map((line) => `${line}\r\n`).join(''));
  lines.push(...commands);
}

/** Replies to [RSET], MAIL and each RCPT. */
export function envelopeReplies(tx: Transaction, reset: boolean): number {
  return (reset ? 1 : 0) + 1 + tx.rcptLines.length;
}

/** Appends the (dot-stuffed) content and the end of data. */
export function pushContent(tx: BufferedTransaction, chunks: (string | Uint8Array)[], lines: string[]): void {
  chunks.push(tx.content.bytes, DOT_LINE);
  lines.push(contentSummary(tx), '.');
}

/** What the transcript shows instead of the content. */
export function contentSummary(tx: BufferedTransaction): string {
  return octetsSummary(tx.content.bytes.byteLength);
}

/** What the transcript shows instead of `octets` octets of content. */
export function octetsSummary(octets: number): string {
  return `[${octets} octets of message content]`;
}

/** One message of a BDAT window: whether RSET precedes it, and where its last byte lies in the write. */
export interface WindowEntry {
  tx: Transaction;
  reset: boolean;
  /** Octets of the write up to this message's last byte: after a cut write, it left if the cut came later. */
  end: number;
}

/** The one write of a BDAT window: its chunks, transcript lines, the replies it asks for, and each message's place. */
export interface WindowWrite {
  chunks: (string | Uint8Array)[];
  lines: string[];
  replies: number;
  plan: WindowEntry[];
  /** Octets of the whole write. */
  bytes: number;
}

/**
 * Lays out a BDAT window as one write: [RSET], MAIL, RCPT..., `BDAT n LAST` and the content of
 * each message, RSET before every message but the first (whose need is `firstReset`). In LMTP,
 * `BDAT LAST` is answered once per accepted recipient (once if none): the most is counted, and the
 * reader releases the rest once the RCPT replies are in.
 */
export function planWindow(window: readonly BufferedTransaction[], firstReset: boolean, lmtp: boolean): WindowWrite {
  const chunks: (string | Uint8Array)[] = [];
  const lines: string[] = [];
  let bytes = 0;
  let replies = 0;
  const plan = window.map((tx, index) => {
    const reset = index === 0 ? firstReset : true;
    const last = `BDAT ${tx.content.bytes.byteLength} LAST`;
    pushEnvelope(tx, reset, last, chunks, lines);
    replies += envelopeReplies(tx, reset) + (lmtp ? Math.max(1, tx.rcptLines.length) : 1);
    chunks.push(tx.content.bytes);
    lines.push(contentSummary(tx));
    bytes += Buffer.byteLength(chunks.at(-2) as string) + tx.content.bytes.byteLength;
    return { tx, reset, end: bytes };
  });
  return { chunks, lines, replies, plan, bytes };
}
