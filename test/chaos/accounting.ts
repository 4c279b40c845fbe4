/**
 * The verdict of a fault-injection run, from what each component recorded: every (job, recipient)
 * is delivered (copies in the relay's mailbox), in the dead-letter queue (with its reason), still
 * pending in the queue, or lost. Each extra copy is put in one class:
 *
 * - **ambiguous**, which no ledger can prevent: a copy before it had its final reply lost (the end
 *   of data went out, no reply came back); or, with the ledger, the invocation that sent the copy
 *   before it was killed (or timed out) after the relay's reply and before the ledger recorded the
 *   delivery; or the ledger could not be reached (the function then sends at-least-once);
 * - **other**: everything else, by likely cause (a kill after delivery, a failed re-enqueue, an SQS
 *   re-delivery, a producer's double publish, a timed-out invocation, or none found).
 *
 * The run holds only when nothing is lost, no recipient refused for good was delivered, no DLQ copy
 * holds an already delivered recipient without a fault to explain it, (FIFO) each message group was
 * delivered in order, and: with the ledger, no duplicate is of the other class; without it, every
 * duplicate of the other class has an injected fault as its cause (a timed-out invocation counts:
 * the plan's stalls make them, and Lambda ends them as a kill would).
 * @module
 */
import type { ChaosJob } from './chaosJobs.js';
import { recipientsOfBody } from './chaosJobs.js';
import type { StoredCopy } from './chaosRelay.js';
import { causeOf, classify, describeJob } from './duplicates.js';
import type { ChaosTable, HeldBody, OtherCauses, RunEvidence } from './runEvidence.js';

export type { ChaosTable, HeldBody, InvocationTrace, LedgerEvidence, OtherCauses, RunEvidence } from './runEvidence.js';

const SHOWN = 5;

/** Computes the table and the verdict. */
export function account(evidence: RunEvidence): ChaosTable {
  const copiesOf = new Map<string, StoredCopy[]>(); // `${job} ${recipient}`
  for (const copy of evidence.copies) {
    for (const recipient of copy.recipients) {
      const key = `${copy.jobId} ${recipient}`;
      copiesOf.set(key, [...(copiesOf.get(key) ?? []), copy]);
    }
  }
  const holding = (messages: readonly HeldBody[]): Map<string, HeldBody[]> => {
    const byKey = new Map<string, HeldBody[]>();
    for (const message of messages) {
      const { jobId, recipients } = recipientsOfBody(message.body);
      for (const recipient of recipients) byKey.set(`${jobId} ${recipient}`, [...(byKey.get(`${jobId} ${recipient}`) ?? []), message]);
    }
    return byKey;
  };
  const inDlq = holding(evidence.dlq);
  const inQueue = holding(evidence.pending);
  const refused = new Set(evidence.refusals.map((refusal) => refusal.recipient));
  // A kill can duplicate a job only after the invocation did something for it (delivered a copy
  // to anyone, or re-enqueued part of it): the record comes back and does it again.
  const sideEffects = new Map<string, number[]>();
  for (const copy of evidence.copies) if (copy.jobId !== undefined) sideEffects.set(copy.jobId, [...(sideEffects.get(copy.jobId) ?? []), copy.t]);
  for (const requeue of evidence.requeues) sideEffects.set(requeue.jobId, [...(sideEffects.get(requeue.jobId) ?? []), requeue.t]);
  const killsAfterEffect = (jobId: string): number =>
    evidence.invocations.filter(
      (i) => i.killedAt !== undefined && i.jobIds.includes(jobId) && (sideEffects.get(jobId) ?? []).some((t) => i.start <= t && t <= i.killedAt!),
    ).length;
  const replyLost = (copies: readonly StoredCopy[]): number => copies.filter((copy) => !evidence.acknowledged.has(copy.copyId)).length;
  const otherCause = (jobId: string, copies: readonly StoredCopy[]): keyof OtherCauses => {
    if (killsAfterEffect(jobId) > 0) return 'killedAfterDelivery';
    if (evidence.doublePublished?.has(jobId) === true) return 'doublePublished';
    if (evidence.redelivered?.has(jobId) === true) return 'redelivered';
    return causeOf(jobId, copies, evidence.invocations);
  };
  // An invocation that ended (killed, or timed out: Lambda ends it) while holding the job, after a copy of it went out.
  // or one that said it worked without the ledger (so the next receive does not know who has the mail).
  const diedAfterCopy = (jobId: string, copies: readonly StoredCopy[]): boolean =>
    evidence.invocations.some(
      (i) =>
        i.jobIds.includes(jobId) &&
        (i.killedAt !== undefined || i.timedOut || (i.ledgerUnavailable ?? 0) > 0) &&
        copies.some((copy) => i.start <= copy.t && copy.t <= i.end),
    );
  const faultExplains = (jobId: string, copies: readonly StoredCopy[]): boolean =>
    killsAfterEffect(jobId) > 0 ||
    diedAfterCopy(jobId, copies) ||
    evidence.doublePublished?.has(jobId) === true ||
    evidence.redelivered?.has(jobId) === true ||
    evidence.invocations.some((i) => i.requeueFailed.includes(jobId)) ||
    (evidence.ledger?.failedAt.has(jobId) ?? false);

  const table: ChaosTable = {
    queue: evidence.queue,
    jobs: evidence.jobs.length,
    recipients: 0,
    delivered: 0,
    ledger: evidence.ledger !== undefined,
    duplicates: 0,
    ambiguous: { replyLost: 0, killedBeforeLedgerRecord: 0, ledgerUnavailable: 0 },
    other: 0,
    otherCauses: { killedAfterDelivery: 0, requeueFailed: 0, redelivered: 0, doublePublished: 0, invocationTimedOut: 0, unknown: 0 },
    deliveredInDlq: { explained: 0, unexplained: 0 },
    refusedForGood: { total: 0, refusedByRelay: 0, inDlq: 0, pending: 0, delivered: 0 },
    dlqByReason: {},
    deliverableInDlq: 0,
    deliverableInDlqUntried: 0,
    pending: 0,
    lost: 0,
    faults: evidence.faults,
    invocations: {
      total: evidence.invocations.length,
      killed: evidence.invocations.filter((i) => i.killedAt !== undefined).length,
      timedOut: evidence.invocations.filter((i) => i.timedOut).length,
    },
    seconds: evidence.seconds,
    violations: [],
    notes: [],
    holds: false,
  };
  const problems = new Map<string, string[]>();
  const note = (kind: string, line: string): void => {
    problems.set(kind, [...(problems.get(kind) ?? []), line]);
  };

  for (const job of evidence.jobs) {
    for (const { address, kind } of job.recipients) {
      table.recipients += 1;
      const key = `${job.id} ${address.toLowerCase()}`;
      const copies = [...(copiesOf.get(key) ?? [])].sort((a, b) => a.t - b.t);
      const dead = inDlq.get(key) ?? [];
      const queued = inQueue.get(key) ?? [];
      const where = `${job.id} ${kind}`;
      if (kind === 'refuse') {
        table.refusedForGood.total += 1;
        if (copies.length > 0) {
          table.refusedForGood.delivered += 1;
          note('a recipient refused for good was delivered', `${where} (${copies.length} copies)`);
        } else if (dead.length > 0) table.refusedForGood.inDlq += 1;
        else if (refused.has(address.toLowerCase())) table.refusedForGood.refusedByRelay += 1;
        else if (queued.length > 0) table.refusedForGood.pending += 1;
        else {
          table.lost += 1;
          note('lost', `${where}: never refused by the relay, not in the DLQ, not queued; ${describeJob(job.id, [], evidence)}`);
        }
        continue;
      }
      if (copies.length > 0) {
        table.delivered += 1;
        table.duplicates += copies.length - 1;
        for (const [i, extra] of copies.entries()) {
          if (i === 0) continue;
          const kind = classify(key, job.id, copies.slice(0, i), extra, evidence);
          if (kind !== 'other') {
            table.ambiguous[kind] += 1;
            continue;
          }
          table.other += 1;
          const cause = otherCause(job.id, copies);
          table.otherCauses[cause] += 1;
          if (evidence.ledger !== undefined || cause === 'unknown') {
            note(
              evidence.ledger === undefined
                ? 'duplicates without a fault to explain them'
                : 'duplicates outside the ambiguous class, with the ledger',
              `${where}: ${copies.length} copies, ${describeJob(job.id, copies, evidence)}; likely cause: ${cause}`,
            );
          }
        }
        if (dead.length > 0) {
          if (replyLost(copies) > 0 || faultExplains(job.id, copies)) table.deliveredInDlq.explained += 1;
          else {
            table.deliveredInDlq.unexplained += 1;
            note(
              'a DLQ copy holds an already delivered recipient',
              `${where}: delivered and in the DLQ (${reasonOf(dead[0]!)}), ${describeJob(job.id, copies, evidence)}`,
            );
          }
        }
        continue;
      }
      if (dead.length > 0) {
        const reason = reasonOf(dead[0]!);
        table.dlqByReason[reason] = (table.dlqByReason[reason] ?? 0) + 1;
        table.deliverableInDlq += 1;
        const lines = evidence.invocations.flatMap((i) => i.outcomes.filter((o) => o.jobId === job.id));
        if (lines.length > 0 && lines.every((o) => o.outcome === 'notAttempted')) table.deliverableInDlqUntried += 1;
        if (table.notes.length < SHOWN) table.notes.push(`${where} in the DLQ (${reason}): ${describeJob(job.id, [], evidence)}`);
      } else if (queued.length > 0) table.pending += 1;
      else {
        table.lost += 1;
        note('lost', `${where}: not delivered, not in the DLQ, not queued; ${describeJob(job.id, [], evidence)}`);
      }
    }
  }
  for (const job of evidence.jobs) {
    for (const { address, kind } of job.recipients) {
      const dead = inDlq.get(`${job.id} ${address.toLowerCase()}`) ?? [];
      if (kind === 'refuse' && dead.length > 0) {
        const reason = reasonOf(dead[0]!);
        table.dlqByReason[reason] = (table.dlqByReason[reason] ?? 0) + 1;
      }
    }
  }

  if (evidence.queue === 'fifo') {
    // Each group's jobs are first delivered in order, except a job whose part was re-enqueued (it
    // goes to the back of its group, by design) before the later job's first delivery.
    table.fifoOrderViolations = 0;
    const firstCopy = new Map<string, number>();
    for (const copy of evidence.copies) if (copy.jobId !== undefined && !firstCopy.has(copy.jobId)) firstCopy.set(copy.jobId, copy.t);
    const firstRequeue = new Map<string, number>();
    for (const requeue of evidence.requeues) if (!firstRequeue.has(requeue.jobId)) firstRequeue.set(requeue.jobId, requeue.t);
    const groups = new Map<string, ChaosJob[]>();
    for (const job of evidence.jobs) groups.set(job.group ?? '', [...(groups.get(job.group ?? '') ?? []), job]);
    for (const [group, jobs] of groups) {
      const ordered = [...jobs].sort((a, b) => a.index - b.index);
      for (const [i, later] of ordered.entries()) {
        const t = firstCopy.get(later.id);
        if (t === undefined) continue;
        const overtaken = ordered
          .slice(0, i)
          .find((earlier) => (firstCopy.get(earlier.id) ?? -1) > t && !((firstRequeue.get(earlier.id) ?? Infinity) <= t));
        if (overtaken === undefined) continue;
        table.fifoOrderViolations += 1;
        note('FIFO order', `group ${group}: ${later.id} first delivered before ${overtaken.id}, which was not re-enqueued before`);
      }
    }
  }

  for (const [kind, lines] of problems) {
    table.violations.push(
      `${kind}: ${lines.length}`,
      ...lines.slice(0, SHOWN).map((line) => `  ${line}`),
      ...(lines.length > SHOWN ? [`  … ${lines.length - SHOWN} more`] : []),
    );
  }
  if (evidence.ledger !== undefined) {
    const lags: number[] = [];
    for (const [key, copies] of copiesOf) {
      const recorded = evidence.ledger.recordedAt.get(key);
      const acked = copies.flatMap((copy) => evidence.ledger?.acknowledgedAt?.get(copy.copyId) ?? []);
      const first = Math.min(...acked);
      if (recorded !== undefined && acked.length > 0 && recorded >= first) lags.push(recorded - first);
    }
    lags.sort((a, b) => a - b);
    const at = (q: number): number => lags[Math.min(lags.length - 1, Math.floor(q * lags.length))] ?? 0;
    table.ledgerRecordLagMs = { median: at(0.5), p95: at(0.95), max: lags.at(-1) ?? 0 };
  }
  table.holds = problems.size === 0;
  return table;
}

/** A DLQ message's reason: the function's attributes (phase and code), or the queue's redrive. */
export function reasonOf(message: HeldBody): string {
  const phase = message.messageAttributes['FailurePhase']?.StringValue;
  if (phase === undefined) return 'redrive: receives used up';
  const code = message.messageAttributes['FailureCode']?.StringValue;
  const error = message.messageAttributes['FailureError']?.StringValue;
  return [phase, code, error].filter((part) => part !== undefined).join(' ');
}
