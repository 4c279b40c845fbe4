/**
 * What a fault-injection run records (the evidence) and the table it comes to, as types.
 * @module
 */
import type { ChaosJob } from './chaosJobs.js';
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
