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
import type { Refusal, StoredCopy } from './chaosRelay.js';
import type { FaultEvent, FaultKind } from './FaultLog.js';

/** A message held by the emulator (the inspection endpoint's shape, trimmed). */
export interface HeldBody {
  body: string;
  messageAttributes: Record<string, { StringValue?: string }>;
}

/** One invocation of the function, as the run saw it. */
export interface InvocationTrace {
  start: number;
  end: number;
  jobIds: string[];
  /** When the run killed it (only set when the kill ended it). */
  killedAt?: number;
  /** It ran past the function timeout and was ended by the stand-in. */
  timedOut: boolean;
  /** Jobs whose records the invocation handed back (its `batchItemFailures`, or all of them when it failed). */
  handedBack?: string[];
  /** Why the whole batch failed, when it did (the stand-in's words). */
  batchFailure?: string;
  /** Jobs whose records the stand-in could not delete. */
  deleteFailed?: string[];
  /** Jobs whose re-enqueue failed, so the whole job came back (from the handler's log). */
  requeueFailed: string[];
  /** Jobs the handler said it sent or settled without the delivery ledger (it could not be reached). */
  ledgerUnavailable?: number;
  /** The handler's words on why the ledger could not be used. */
  ledgerProblem?: string;
  /** The handler's log lines about records, for the evidence of a violation. */
  outcomes: { jobId?: string; outcome?: string; placement?: string; cause?: string; problem?: string; refused?: string }[];
}

/** Everything the run recorded. */
export interface RunEvidence {
  queue: 'standard' | 'fifo';
  jobs: readonly ChaosJob[];
  copies: readonly StoredCopy[];
  acknowledged: ReadonlySet<string>;
  refusals: readonly Refusal[];
  dlq: readonly HeldBody[];
  pending: readonly HeldBody[];
  invocations: readonly InvocationTrace[];
  /** Re-enqueues the function made (SendMessage of a job to the mail queue that the emulator took). */
  requeues: readonly { jobId: string; t: number }[];
  faults: Record<FaultKind, number>;
  /** The fault log, for the evidence of a violation. */
  faultEvents?: readonly FaultEvent[];
  seconds: number;
  /** Jobs the producer published twice. */
  doublePublished?: ReadonlySet<string>;
  /** Jobs whose record the run made visible again while an invocation held it (an SQS re-delivery). */
  redelivered?: ReadonlySet<string>;
  /** The delivery ledger, when the run had one: what it recorded and when it failed. */
  ledger?: LedgerEvidence;
}

/** What the delivery ledger did during a run, from the calls that reached it. */
export interface LedgerEvidence {
  /** `${job} ${recipient}` → when the ledger first answered a write recording it as delivered. */
  recordedAt: ReadonlyMap<string, number>;
  /** Job id → when a call about it failed (an error answer, injected or not). */
  failedAt: ReadonlyMap<string, readonly number[]>;
  /** Copy id → when its final reply reached the function. */
  acknowledgedAt?: ReadonlyMap<string, number>;
}

/** Likely causes of a duplicate of the other class. */
export interface OtherCauses {
  killedAfterDelivery: number;
  requeueFailed: number;
  redelivered: number;
  doublePublished: number;
  invocationTimedOut: number;
  unknown: number;
}

/** The run's table. */
export interface ChaosTable {
  queue: 'standard' | 'fifo';
  jobs: number;
  recipients: number;
  /** (job, recipient) delivered at least once. */
  delivered: number;
  /** The run had the delivery ledger. */
  ledger: boolean;
  /** Extra copies, over all (job, recipient). */
  duplicates: number;
  /** Extra copies no ledger can prevent, by why. */
  ambiguous: { replyLost: number; killedBeforeLedgerRecord: number; ledgerUnavailable: number };
  /** Every other extra copy. */
  other: number;
  /** Likely cause of each of the other class. */
  otherCauses: OtherCauses;
  /**
   * With the ledger: how long after the relay's reply to a (job, recipient)'s first acknowledged
   * copy reached the function the ledger answered the write recording it (the window in which a
   * kill duplicates), milliseconds.
   */
  ledgerRecordLagMs?: { median: number; p95: number; max: number };
  /** Delivered recipients that a DLQ copy holds too: explained by an unacknowledged copy, or not. */
  deliveredInDlq: { explained: number; unexplained: number };
  refusedForGood: { total: number; refusedByRelay: number; inDlq: number; pending: number; delivered: number };
  /** (job, recipient) in the DLQ and never delivered, by reason (phase and code, or the redrive). */
  dlqByReason: Record<string, number>;
  /** Recipients the relay would take, in the DLQ without a copy delivered. */
  deliverableInDlq: number;
  /** Of those, recipients of jobs the function never attempted (every outcome it logged for the job was "not attempted"). */
  deliverableInDlqUntried: number;
  pending: number;
  lost: number;
  fifoOrderViolations?: number;
  faults: Record<FaultKind, number>;
  invocations: { total: number; killed: number; timedOut: number };
  seconds: number;
  /** What broke the invariants, with evidence (first few of each). */
  violations: string[];
  /** Not violations, worth a look: deliverable recipients the DLQ holds, with what happened to their jobs (first few). */
  notes: string[];
  holds: boolean;
}

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

/**
 * The class of one extra copy, from the copies of the same (job, recipient) before it: `replyLost`
 * when one of them never had its final reply reach the function (and that lost reply has not
 * explained another extra yet); with the ledger, `ledgerUnavailable` when a ledger call about the
 * job failed between the copy before and this one, `killedBeforeLedgerRecord` when the ledger had
 * not recorded the delivery by the time this copy went out and the invocation that sent the copy
 * before was killed or timed out after it; else `other`.
 */
function classify(
  key: string,
  jobId: string,
  before: readonly StoredCopy[],
  extra: StoredCopy,
  evidence: RunEvidence,
): 'replyLost' | 'killedBeforeLedgerRecord' | 'ledgerUnavailable' | 'other' {
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

/** Lost replies among `copies` already used to explain the extras among them. */
function repliesUsed(copies: readonly StoredCopy[], evidence: RunEvidence): number {
  let used = 0;
  for (let i = 1; i < copies.length; i += 1) {
    const lostBefore = copies.slice(0, i).filter((copy) => !evidence.acknowledged.has(copy.copyId)).length;
    if (lostBefore > used) used += 1;
  }
  return used;
}

/** A DLQ message's reason: the function's attributes (phase and code), or the queue's redrive. */
export function reasonOf(message: HeldBody): string {
  const phase = message.messageAttributes['FailurePhase']?.StringValue;
  if (phase === undefined) return 'redrive: receives used up';
  const code = message.messageAttributes['FailureCode']?.StringValue;
  const error = message.messageAttributes['FailureError']?.StringValue;
  return [phase, code, error].filter((part) => part !== undefined).join(' ');
}

/** The evidence about one job: its copies (id, connection, acknowledged or not), the faults on those connections, what the handler logged. */
function describeJob(jobId: string, copies: readonly StoredCopy[], evidence: RunEvidence): string {
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

function causeOf(
  jobId: string,
  copies: readonly StoredCopy[],
  invocations: readonly InvocationTrace[],
): 'invocationTimedOut' | 'requeueFailed' | 'unknown' {
  const covering = invocations.filter((i) => i.jobIds.includes(jobId) && copies.some((copy) => i.start <= copy.t && copy.t <= i.end));
  if (covering.some((i) => i.timedOut)) return 'invocationTimedOut';
  if (covering.some((i) => i.requeueFailed.includes(jobId))) return 'requeueFailed';
  return 'unknown';
}
