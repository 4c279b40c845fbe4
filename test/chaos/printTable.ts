/**
 * The fault-injection run's tables as text: one column per queue, then the verdict and the
 * evidence of each violation.
 * @module
 */
import type { ChaosTable } from './accounting.js';
import { FAULT_KINDS } from './FaultLog.js';

/** The tables of one run (one column per queue) and the verdict. */
export function formatTables(tables: readonly ChaosTable[], seed: number): string {
  const rows: [string, (t: ChaosTable) => string | number][] = [
    ['jobs', (t) => t.jobs],
    ['(job, recipient) pairs', (t) => t.recipients],
    ['delivered', (t) => t.delivered],
    ['delivery ledger', (t) => (t.ledger ? 'on' : 'off')],
    ['duplicates', (t) => t.duplicates],
    ['  ambiguous class', (t) => t.ambiguous.replyLost + t.ambiguous.killedBeforeLedgerRecord + t.ambiguous.ledgerUnavailable],
    ['    reply lost after the end of data', (t) => t.ambiguous.replyLost],
    ["    killed between the relay's reply and the ledger", (t) => (t.ledger ? t.ambiguous.killedBeforeLedgerRecord : '-')],
    ['    ledger unreachable (at-least-once)', (t) => (t.ledger ? t.ambiguous.ledgerUnavailable : '-')],
    [
      "  relay's reply to ledger record, ms (median / p95 / max)",
      (t) => (t.ledgerRecordLagMs === undefined ? '-' : `${t.ledgerRecordLagMs.median} / ${t.ledgerRecordLagMs.p95} / ${t.ledgerRecordLagMs.max}`),
    ],
    ['  other (with the ledger: must be 0)', (t) => t.other],
    ['    killed after delivery', (t) => t.otherCauses.killedAfterDelivery],
    ['    failed re-enqueue', (t) => t.otherCauses.requeueFailed],
    ['    SQS re-delivery', (t) => t.otherCauses.redelivered],
    ["    producer's double publish", (t) => t.otherCauses.doublePublished],
    ['    timed-out invocation', (t) => t.otherCauses.invocationTimedOut],
    ['    no fault found', (t) => t.otherCauses.unknown],
    ['delivered and also in the DLQ: explained / not', (t) => `${t.deliveredInDlq.explained} / ${t.deliveredInDlq.unexplained}`],
    ['refused for good (550)', (t) => t.refusedForGood.total],
    ['  refused by the relay (recorded)', (t) => t.refusedForGood.refusedByRelay],
    ['  in the DLQ', (t) => t.refusedForGood.inDlq],
    ['  pending', (t) => t.refusedForGood.pending],
    ['  delivered (must be 0)', (t) => t.refusedForGood.delivered],
    ['deliverable, in the DLQ undelivered', (t) => t.deliverableInDlq],
    ['  of which never attempted', (t) => t.deliverableInDlqUntried],
  ];
  const reasons = [...new Set(tables.flatMap((t) => Object.keys(t.dlqByReason)))].sort();
  for (const reason of reasons) rows.push([`DLQ by reason: ${reason}`, (t) => t.dlqByReason[reason] ?? 0]);
  rows.push(['pending (still queued)', (t) => t.pending], ['lost (must be 0)', (t) => t.lost]);
  rows.push(['FIFO groups out of order (must be 0)', (t) => t.fifoOrderViolations ?? '-']);
  rows.push(['invocations / killed / timed out', (t) => `${t.invocations.total} / ${t.invocations.killed} / ${t.invocations.timedOut}`]);
  for (const kind of FAULT_KINDS) rows.push([`faults: ${kind}`, (t) => t.faults[kind]]);
  rows.push(['seconds', (t) => t.seconds], ['holds', (t) => (t.holds ? 'yes' : 'NO')]);

  const width = Math.max(...rows.map(([label]) => label.length));
  const lines = [
    `chaos run, seed ${seed}`,
    `| ${'what'.padEnd(width)} | ${tables.map((t) => t.queue.padStart(10)).join(' | ')} |`,
    `|${'-'.repeat(width + 2)}|${tables.map(() => '-'.repeat(12)).join('|')}|`,
  ];
  for (const [label, value] of rows) lines.push(`| ${label.padEnd(width)} | ${tables.map((t) => String(value(t)).padStart(10)).join(' | ')} |`);
  for (const table of tables) {
    if (table.notes.length > 0)
      lines.push(
        '',
        `${table.queue}: deliverable recipients in the DLQ (not a violation; first ${table.notes.length}):`,
        ...table.notes.map((line) => `  ${line}`),
      );
    if (table.violations.length === 0) continue;
    lines.push('', `${table.queue}: the run does not hold:`, ...table.violations.map((line) => `  ${line}`));
  }
  lines.push('', tables.every((t) => t.holds) ? `HOLDS (seed ${seed})` : `DOES NOT HOLD (seed ${seed}; rerun with --seed ${seed})`);
  return lines.join('\n');
}
