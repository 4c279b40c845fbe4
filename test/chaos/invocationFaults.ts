/**
 * The faults a run injects into invocations (a kill at a random time, a kill just after the
 * relay's 250 reached the function, a record made visible again while it is handled) and the trace
 * of what each invocation did, read from its report and its log lines.
 * @module
 */
import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { InvocationReport, InvocationStart } from '../../lib/local/EventSourceMapping.js';
import type { InvocationTrace } from './accounting.js';
import type { FaultRates } from './chaosPlan.js';
import type { StoredCopy } from './chaosRelay.js';
import type { FaultLog } from './FaultLog.js';
import { jobIdsOf, ledgerLineOf, parseLine } from './handlerLines.js';
import type { SeededRandom } from './random.js';

/** What {@link injectInvocationFaults} needs of the run. */
export interface InvocationFaultsOptions {
  rates: FaultRates;
  /** The run's random streams, by label. */
  fork: (label: string) => SeededRandom;
  log: FaultLog;
  /** The queue whose records are made visible again. */
  sqs: SQSClient;
  queueUrl: string;
  /** The relay's stored copies (read when a copy's 250 reached the function). */
  copies: readonly StoredCopy[];
}

/** The hooks to give the event source and the SMTP proxy, and what they saw. */
export interface InvocationFaults {
  /** One trace per finished invocation, in the order they finished. */
  invocations: InvocationTrace[];
  /** Jobs whose record was made visible again while an invocation held it. */
  redelivered: Set<string>;
  /** When the relay's final reply for each copy reached the function (ms since the epoch). */
  acknowledgedAt: Map<string, number>;
  /** For the event source: an invocation started. */
  onInvocationStart: (start: InvocationStart) => void;
  /** For the event source: an invocation ended. */
  onInvocation: (report: InvocationReport) => void;
  /** For the SMTP proxy: the relay's final reply for a copy reached the function. */
  onAcknowledged: (copyId: string) => void;
}

/** An invocation going on: its trace so far, how to kill it, and whether (and why) it was. */
interface Running {
  trace: InvocationTrace;
  kill: () => void;
  killFiredAt?: number;
  killKind?: 'kill' | 'killAfterDelivery';
}

/**
 * Plans the kills and redeliveries of a run's invocations as they start, and traces them as they end.
 * @example
 * const faults = injectInvocationFaults({ rates, fork, log, sqs: sqs.client, queueUrl: sqs.queueUrl, copies: relay.copies });
 * smtpProxy.onAcknowledged = faults.onAcknowledged;
 */
export function injectInvocationFaults(options: InvocationFaultsOptions): InvocationFaults {
  const { rates, fork, log, sqs, queueUrl, copies } = options;
  const invocations: InvocationTrace[] = [];
  const running = new Map<number, Running>();
  const killRandom = fork('kill');
  const killAfterDeliveryRandom = fork('killAfterDelivery');
  const redeliveryRandom = fork('redelivery');
  const redelivered = new Set<string>();
  const fire = (entry: Running, kind: Running['killKind'], after: number): void => {
    setTimeout(() => {
      if (entry.killFiredAt !== undefined || entry.trace.end !== 0) return;
      entry.killFiredAt = Date.now();
      entry.killKind = kind;
      entry.kill();
    }, after).unref();
  };
  const onInvocationStart = (start: InvocationStart): void => {
    const entry: Running = {
      trace: { start: Date.now(), end: 0, jobIds: jobIdsOf(start.records), timedOut: false, requeueFailed: [], outcomes: [] },
      kill: () => {
        start.kill();
      },
    };
    running.set(start.poller, entry);
    if (killRandom.chance(rates.kill)) fire(entry, 'kill', killRandom.int(...rates.killWithinMs));
    if (redeliveryRandom.chance(rates.redelivery)) {
      const record = start.records[redeliveryRandom.int(0, start.records.length - 1)];
      const after = redeliveryRandom.int(...rates.redeliveryAfterMs);
      setTimeout(() => {
        if (record === undefined || entry.trace.end !== 0) return;
        const jobId = jobIdsOf([record])[0];
        sqs
          .send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: record.receiptHandle, VisibilityTimeout: 0 }))
          .then(() => {
            if (jobId !== undefined) redelivered.add(jobId);
            log.add('redelivery', `job ${jobId ?? '?'} visible again ${after} ms into an invocation holding it`);
          })
          .catch(() => undefined);
      }, after).unref();
    }
  };
  // A kill after delivery: the relay's 250 for a copy reached the function, and the invocation dies
  // before it answers the batch (before or after the ledger recorded the delivery, by timing).
  const acknowledgedAt = new Map<string, number>();
  const onAcknowledged = (copyId: string): void => {
    acknowledgedAt.set(copyId, Date.now());
    const jobId = copies.find((copy) => copy.copyId === copyId)?.jobId;
    if (jobId === undefined) return;
    const entry = [...running.values()].find((each) => each.trace.jobIds.includes(jobId) && each.killFiredAt === undefined);
    if (entry === undefined || !killAfterDeliveryRandom.chance(rates.killAfterDelivery)) return;
    fire(entry, 'killAfterDelivery', killAfterDeliveryRandom.int(...rates.killAfterDeliveryMs));
  };
  const onInvocation = (report: InvocationReport): void => {
    const entry = running.get(report.poller);
    running.delete(report.poller);
    const trace = entry?.trace ?? { start: Date.now(), end: 0, jobIds: jobIdsOf(report.records), timedOut: false, requeueFailed: [], outcomes: [] };
    trace.end = Date.now();
    const jobOf = new Map(report.records.map((record) => [record.messageId, jobIdsOf([record])[0]]));
    const jobsOf = (ids: readonly string[]): string[] => ids.flatMap((id) => jobOf.get(id) ?? []);
    trace.handedBack = jobsOf(report.failed);
    trace.deleteFailed = jobsOf(report.deleteFailed);
    if (report.batchFailure !== undefined) trace.batchFailure = report.batchFailure;
    trace.timedOut = report.result.kind === 'timeout';
    if (entry?.killFiredAt !== undefined && report.batchFailure === 'the execution environment ended') {
      trace.killedAt = entry.killFiredAt;
      log.add(entry.killKind ?? 'kill', `invocation of ${trace.jobIds.length} records, ${entry.killFiredAt - trace.start} ms in`);
    }
    for (const line of report.result.logs) {
      if (line.includes('the delivery ledger could not be reached')) {
        const { jobs: unavailable, problem } = ledgerLineOf(line);
        trace.ledgerUnavailable = (trace.ledgerUnavailable ?? 0) + unavailable;
        if (problem !== undefined) trace.ledgerProblem = problem;
      }
      const record = parseLine(line);
      if (record === undefined) continue;
      trace.outcomes.push(record);
      if (record.jobId !== undefined && record.problem?.includes('re-enqueue failed') === true) trace.requeueFailed.push(record.jobId);
    }
    invocations.push(trace);
  };

  return { invocations, redelivered, acknowledgedAt, onInvocationStart, onInvocation, onAcknowledged };
}
