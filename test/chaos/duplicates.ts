/**
 * Why a (job, recipient) got an extra copy: the class of each duplicate (ambiguous, or other) and
 * its likely cause, and the evidence about a job for the run's report.
 * @module
 */
import type { StoredCopy } from './chaosRelay.js';
import type { InvocationTrace, RunEvidence } from './runEvidence.js';

/**
 * The class of one extra copy, from the copies of the same (job, recipient) before it: `replyLost`
 * when one of them never had its final reply reach the function (and that lost reply has not
 * explained another extra yet); with the ledger, `ledgerUnavailable` when a ledger call about the
 * job failed between the copy before and this one, `killedBeforeLedgerRecord` when the ledger had
 * not recorded the delivery by the time this copy went out and the invocation that sent the copy
 * before was killed or timed out after it; else `other`.
 */
export function classify(
  key: string,
  jobId: string,
  before: readonly StoredCopy[],
  extra: StoredCopy,
  evidence: RunEvidence,
): 'replyLost' | 'killedBeforeLedgerRecord' | 'ledgerUnavailable' | 'other' {
  // A lost reply arriving late: this copy's own reply never came, and the relay stored it while no
  // invocation of the job was running, so an earlier invocation sent it and its end of data was held
  // in the network (a stall) until after the function had given up on it and the retry went out.
  if (arrivedLate(jobId, extra, evidence)) return 'replyLost';
  const unacknowledged = before.filter((copy) => !evidence.acknowledged.has(copy.copyId)).length;
  // Copies before this one that were themselves extras explained by a lost reply used one lost reply each.
  if (unacknowledged > repliesUsed(before, evidence)) return 'replyLost';
  const ledger = evidence.ledger;
  if (ledger === undefined) return 'other';
  const previous = before.at(-1)!;
  if ((ledger.failedAt.get(jobId) ?? []).some((t) => t >= previous.t - 1 && t <= extra.t)) return 'ledgerUnavailable';
  // The invocation that sent either copy said it worked without the ledger (a call failed or timed out).
  const covering = (copy: StoredCopy): InvocationTrace[] =>
    evidence.invocations.filter((i) => i.jobIds.includes(jobId) && i.start <= copy.t && copy.t <= i.end);
  if ([...covering(previous), ...covering(extra)].some((i) => (i.ledgerUnavailable ?? 0) > 0)) return 'ledgerUnavailable';
  const recorded = ledger.recordedAt.get(key);
  if (recorded !== undefined && recorded < extra.t) return 'other';
  const sender = evidence.invocations.find((i) => i.jobIds.includes(jobId) && i.start <= previous.t && previous.t <= i.end);
  if (sender !== undefined && (sender.killedAt !== undefined || sender.timedOut)) return 'killedBeforeLedgerRecord';
  return 'other';
}

/** Whether a copy without its reply was stored when no invocation of its job was running. */
function arrivedLate(jobId: string, copy: StoredCopy, evidence: RunEvidence): boolean {
  if (evidence.acknowledged.has(copy.copyId)) return false;
  return !evidence.invocations.some((i) => i.jobIds.includes(jobId) && i.start <= copy.t && copy.t <= i.end);
}

/** Lost replies among `copies` already used to explain the extras among them (a late arrival uses its own). */
function repliesUsed(copies: readonly StoredCopy[], evidence: RunEvidence): number {
  let used = 0;
  for (let i = 1; i < copies.length; i += 1) {
    const lostBefore = copies.slice(0, i).filter((copy) => !evidence.acknowledged.has(copy.copyId)).length;
    const copy = copies[i] as StoredCopy;
    if ((copy.jobId !== undefined && arrivedLate(copy.jobId, copy, evidence)) || lostBefore > used) used += 1;
  }
  return used;
}

/** The evidence about one job: its copies (id, connection, acknowledged or not), the faults on those connections, what the handler logged. */
export function describeJob(jobId: string, copies: readonly StoredCopy[], evidence: RunEvidence): string {
  const base = copies[0]?.t ?? evidence.invocations.find((i) => i.jobIds.includes(jobId))?.start ?? 0;
  const at = (t: number): string => `${t >= base ? '+' : ''}${t - base} ms`;
  const shown = copies.map((c) => `${c.copyId} on ${c.conn ?? '?'} at ${at(c.t)}${evidence.acknowledged.has(c.copyId) ? '' : ' (reply lost)'}`);
  const conns = new Set(copies.map((c) => c.conn));
  const faults = (evidence.faultEvents ?? [])
    .filter((f) => f.conn !== undefined && conns.has(f.conn))
    .map((f) => `${f.kind} on ${f.conn} at ${at(f.t)}`);
  const handled = evidence.invocations
    .filter((i) => i.jobIds.includes(jobId))
    .map((i) => {
      const lines = i.outcomes
        .filter((o) => o.jobId === jobId)
        .map(
          (o) =>
            `${o.outcome}${o.cause === undefined ? '' : `(${o.cause})`}${o.refused === undefined ? '' : ` refused ${o.refused}`}/${o.placement}${o.problem === undefined ? '' : ` (${o.problem.slice(0, 80)})`}`,
        );
      const back = i.handedBack?.includes(jobId) === true ? ' [handed back]' : '';
      const undeleted = i.deleteFailed?.includes(jobId) === true ? ' [delete failed]' : '';
      const failure = i.batchFailure === undefined ? '' : ` [batch failed: ${i.batchFailure.slice(0, 60)}]`;
      const ledger = (i.ledgerUnavailable ?? 0) > 0 ? ` [${i.ledgerUnavailable} without the ledger: ${(i.ledgerProblem ?? '?').slice(0, 80)}]` : '';
      return `invocation ${at(i.start)}..${at(i.end)} (${i.end - i.start} ms)${i.killedAt === undefined ? '' : ' killed'}${i.timedOut ? ' timed out' : ''}: ${lines.join(', ') || 'no line'}${back}${undeleted}${failure}${ledger}`;
    });
  const requeues = evidence.requeues.filter((r) => r.jobId === jobId).map((r) => `re-enqueued at ${at(r.t)}`);
  return [`copies ${shown.join(', ') || 'none'}`, ...faults, ...requeues, ...handled].join('; ');
}

/** The likely cause of a duplicate no fault of the plan explains: a timed-out invocation, a failed re-enqueue, or none found. */
export function causeOf(
  jobId: string,
  copies: readonly StoredCopy[],
  invocations: readonly InvocationTrace[],
): 'invocationTimedOut' | 'requeueFailed' | 'unknown' {
  const covering = invocations.filter((i) => i.jobIds.includes(jobId) && copies.some((copy) => i.start <= copy.t && copy.t <= i.end));
  if (covering.some((i) => i.timedOut)) return 'invocationTimedOut';
  if (covering.some((i) => i.requeueFailed.includes(jobId))) return 'requeueFailed';
  return 'unknown';
}
