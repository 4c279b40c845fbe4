/**
 * One message on a server without PIPELINING: each command waits for its reply, then the content
 * (DATA and the dot, or BDAT: one `BDAT n LAST`, or a streamed message's chunks one at a time).
 * @module
 */
import { contentSummary, pushContent } from './commandGroups.js';
import { isPositive, type ReplyRule } from './reply.js';
import type { Session } from './session.js';
import { StreamedContent } from './StreamedContent.js';
import type { StreamWriter } from './StreamWriter.js';
import { contentRefused, isBuffered, judgeEnvelope, type ContentMode, type Transaction } from './transaction.js';
import type { TransactionWire } from './TransactionWire.js';
import type { SmtpPhase, SmtpReply } from './types.js';

/** What {@link sendUnpipelined} works with: the scheduler's session, wire, stream writer and content mode. */
export interface UnpipelinedContext {
  session: Session;
  wire: TransactionWire;
  streams: StreamWriter;
  mode: ContentMode;
}

/**
 * Sends `tx` command by command, after an RSET when `reset`, and settles it.
 * @returns whether an RSET must precede the next MAIL (a transaction was left open), or
 *   undefined when that need is unchanged.
 * @throws {SmtpError} after settling `tx`, when the connection failed.
 */
export async function sendUnpipelined(tx: Transaction, reset: boolean, context: UnpipelinedContext): Promise<boolean | undefined> {
  const { session, wire, streams, mode } = context;
  const step = async (line: string, phase: SmtpPhase, rule: ReplyRule = 'command'): Promise<SmtpReply> => {
    await wire.write([`${line}\r\n`], [line], phase, 1, [tx]);
    return wire.readFor(tx, phase, session.timeouts.commandMs, rule);
  };
  if (reset) await step('RSET', 'mail');
  const mail = await step(tx.mailLine, 'mail');
  const rcpts: SmtpReply[] = [];
  if (isPositive(mail)) for (const line of tx.rcptLines) rcpts.push(await step(line, 'rcpt'));
  const verdict = judgeEnvelope(tx, mail, rcpts);
  if (!verdict.ok) {
    tx.reject(verdict.error);
    return isPositive(mail);
  }
  tx.accepted = verdict.accepted;
  tx.rejected = verdict.rejected;
  if (mode === 'bdat' && tx.content instanceof StreamedContent) return streams.writeChunks(tx, tx.content, 1);
  if (mode === 'bdat' && isBuffered(tx)) {
    const chunks = [`BDAT ${tx.content.bytes.byteLength} LAST\r\n`, tx.content.bytes];
    await wire.write(chunks, [`BDAT ${tx.content.bytes.byteLength} LAST`, contentSummary(tx)], 'data', wire.finalCount(tx), [tx]);
    await wire.readFinal(tx, []);
    return undefined;
  }
  const data = await step('DATA', 'data', 'DATA');
  if (data.code !== 354) {
    // A 4xx or 5xx: anything else to DATA failed the connection when it was read.
    tx.reject(contentRefused(data));
    return true;
  }
  const chunks: (string | Uint8Array)[] = [];
  const lines: string[] = [];
  if (tx.content instanceof StreamedContent) {
    const end = await streams.writeDataBody(tx, tx.content);
    chunks.push(...end.parts);
    lines.push(...end.lines);
  } else if (isBuffered(tx)) {
    pushContent(tx, chunks, lines);
  }
  await wire.write(chunks, lines, 'data', wire.finalCount(tx), [tx]);
  await wire.readFinal(tx, []);
  return undefined;
}
