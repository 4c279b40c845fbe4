/**
 * The bytes of a transaction as they go into a pipelined write: its envelope commands, its
 * content and end of data, the lines the transcript shows for them, and how many replies the
 * envelope asks for. Pure.
 * @module
 */
import type { Transaction } from './transaction.js';

/** The line that ends DATA content. */
export const DOT_LINE = '.\r\n';

/** Appends [RSET], MAIL, each RCPT and `last` (DATA or BDAT) as one chunk. */
export function pushEnvelope(tx: Transaction, reset: boolean, last: string, chunks: (string | Uint8Array)[], lines: string[]): void {
  const commands = [...(reset ? ['RSET'] : []), tx.mailLine, ...tx.rcptLines, last];
  chunks.push(commands.map((line) => `${line}\r\n`).join(''));
  lines.push(...commands);
}

/** Replies to [RSET], MAIL and each RCPT. */
export function envelopeReplies(tx: Transaction, reset: boolean): number {
  return (reset ? 1 : 0) + 1 + tx.rcptLines.length;
}

/** Appends the (dot-stuffed) content and the end of data. */
export function pushContent(tx: Transaction, chunks: (string | Uint8Array)[], lines: string[]): void {
  chunks.push(tx.content.bytes, DOT_LINE);
  lines.push(contentSummary(tx), '.');
}

/** What the transcript shows instead of the content. */
export function contentSummary(tx: Transaction): string {
  return `[${tx.content.bytes.byteLength} octets of message content]`;
}
