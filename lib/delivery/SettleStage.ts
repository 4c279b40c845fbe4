/**
 * The settle stage: where each record of a batch ends up once its outcome is known (delivered,
 * dead-lettered, re-enqueued in part, or back on the queue with a visibility), every SQS call
 * bounded by the invocation's remaining time.
 * @module
 */
import { HAND_BACK_SECONDS, MAX_IN_FLIGHT_SECONDS, SYSTEMIC_BACKOFF, backoffSeconds } from './backoff.js';
import type { BackoffPolicy } from './backoff.js';
import type { Outcome } from './outcome.js';
import { invalidOutcome } from './mailRecord.js';
import type { BatchLedger } from './ledger/BatchLedger.js';
import type { VisibilityChange } from './QueueActions.js';
import { dealtWithOnLastReceive, settleRecord } from './settleRecord.js';
import type { BatchSlot, Delivery, RecordResult } from './types.js';

/** The outcome of a FIFO record handed back untried because an earlier record of its message group must come back. */
const FIFO_STOPPED: Outcome = { kind: 'notAttempted', cause: 'fifoStopped' };

/**
 * Settles the records of one batch. Fed as outcomes become known, and once more at the end with
 * the session's final outcomes ({@link finish}); each record is settled once.
 *
 * - Standard queues: a record is settled as soon as it is fed, alongside the session and the
 *   other records (a DLQ send does not wait for the batch to end).
 * - FIFO queues: records of one message group are settled in order, one after another, and the
 *   first that must come back stops its group: the group's later records come back untried
 *   (`fifoStopped`), in order, while other groups go on (Powertools' `skipGroupOnError`).
 *
 * Every SQS call carries `signal` (the invocation's deadline): a call cut by it leaves its record
 * in `batchItemFailures`, never lost. {@link snapshot} answers at any time with what is settled.
 *
 * With a delivery ledger, each outcome is recorded in it as the record is settled: before the
 * record's DLQ send or re-enqueue, alongside the rest (nothing waits on it but those calls and
 * {@link finish}, so a FIFO group's next message is not held up by it).
 *
 * @example
 * const stage = new SettleStage(slots, delivery, AbortSignal.timeout(remaining - 500));
 * await stage.settle(0, { kind: 'delivered', accepted: 1 });
 * await stage.finish(outcomes);
 * const results = stage.snapshot(outcomes);
 */
export class SettleStage {
  readonly #slots: readonly BatchSlot[];
  readonly #delivery: Pick<Delivery, 'actions' | 'options' | 'payloads'>;
  readonly #signal: AbortSignal;
  /** Records whose settling has finished. */
  readonly #settled: Array<RecordResult | undefined>;
  /** Records handed to the stage, settled or not. */
  readonly #started = new Map<number, Promise<RecordResult>>();
  /** FIFO: the last record of each message group handed to the stage. */
  readonly #groupTails = new Map<string, Promise<unknown>>();
  /** FIFO: message groups in which a record must come back. */
  readonly #stoppedGroups = new Set<string>();
  /** Records on their last receive that go to the DLQ instead of coming back (`MAIL_MAX_RECEIVES`). */
  readonly #lastReceive = new Set<number>();

  readonly #onSqsCall: (ms: number) => void;
  readonly #visibilityCap: () => number;
  readonly #ledger: Pick<BatchLedger, 'record' | 'recheck'> | undefined;
  /** The ledger writes under way or done. */
  readonly #recordings: Promise<void>[] = [];

  /**
   * @param signal the invocation's deadline for SQS calls
   * @param onSqsCall told how long each SQS call took (DLQ send, re-enqueue, visibility changes), cut or not
   * @param visibilityCap the longest visibility SQS takes now, in seconds (see `visibilityCapSeconds`);
   *   a longer backoff is cut to it. Default: SQS's 43,200 s
   * @param ledger the batch's delivery ledger, if any: told every outcome (see {@link BatchLedger.record}),
   *   and asked again about a job it passed by, before that job is dead-lettered on its last receive (see {@link BatchLedger.recheck})
   */
  constructor(
    slots: readonly BatchSlot[],
    delivery: Pick<Delivery, 'actions' | 'options' | 'payloads'>,
    signal: AbortSignal,
    onSqsCall: (ms: number) => void = () => undefined,
    visibilityCap: () => number = () => MAX_IN_FLIGHT_SECONDS,
    ledger?: Pick<BatchLedger, 'record' | 'recheck'>,
  ) {
    this.#ledger = ledger;
    this.#slots = slots;
    this.#delivery = delivery;
    this.#signal = signal;
    this.#onSqsCall = onSqsCall;
    this.#visibilityCap = visibilityCap;
    this.#settled = slots.map(() => undefined);
  }

  /** The invocation's deadline for SQS calls (also the moment QUIT is cut short). */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /**
   * FIFO: whether the record may be sent, once the records of its message group fed before it are
   * settled: {@link FIFO_STOPPED} when one of them must come back, else `undefined`. Records of
   * other groups do not wait for these (a slow DLQ send holds up its own group only).
   */
  async passBy(index: number): Promise<Outcome | undefined> {
    if (!this.#delivery.options.fifo) return undefined;
    const group = this.#groupOf(index);
    await this.#groupTails.get(group);
    return this.#stoppedGroups.has(group) ? FIFO_STOPPED : undefined;
  }

  /**
   * Settles one record (a second call for the same record returns the first's result). FIFO: after
   * the records of its group fed before it, and as not attempted once its group has stopped.
   */
  settle(index: number, outcome: Outcome): Promise<RecordResult> {
    const started = this.#started.get(index);
    if (started !== undefined) return started;
    let settling: Promise<RecordResult>;
    if (this.#delivery.options.fifo) {
      const group = this.#groupOf(index);
      settling = (this.#groupTails.get(group) ?? Promise.resolve()).then(async () => {
        const result = await this.#act(index, this.#stoppedGroups.has(group) ? FIFO_STOPPED : outcome);
        if (result.placement === 'retry') this.#stoppedGroups.add(group);
        return result;
      });
      this.#groupTails.set(group, settling);
    } else {
      settling = this.#act(index, outcome);
    }
    this.#started.set(index, settling);
    return settling;
  }

  /**
   * Settles every record not fed yet with its final outcome from the session (in event order; an
   * invalid job keeps its own outcome whatever happened to the session), waits for every record,
   * then sets the visibility of those that come back: their backoff when they failed for now, a
   * short hand-back on a FIFO queue when they were not attempted (so that their group does not
   * wait out the queue's timeout), never past the visibility cap (SQS's 12 hours in flight less
   * the time the record may have been in flight). The visibility changes go out in parallel; a
   * change that fails or is refused is in the record's `problem` (logged), and the record comes
   * back after the queue's visibility timeout. They do not wait for the DLQ sends of records on
   * their last receive (such a record needs no visibility: should its send fail, SQS moves it at
   * its next receive), so the two go out side by side, within one SQS call's time.
   */
  async finish(outcomes: readonly (Outcome | undefined)[]): Promise<void> {
    this.#slots.forEach((slot, index) => {
      void this.settle(
        index,
        'invalid' in slot.prepared ? invalidOutcome(slot.prepared) : (outcomes[index] ?? { kind: 'notAttempted', cause: 'outOfTime' }),
      );
    });
    await Promise.all([...this.#started].filter(([index]) => !this.#lastReceive.has(index)).map(([, settling]) => settling));
    await Promise.all([this.#applyVisibility(), ...this.#recordings, ...this.#started.values()]);
  }

  /**
   * One result per record, as of now. A record whose settling has not finished (its DLQ send or
   * re-enqueue still under way, or never begun) is reported `retry`, so that nothing is lost.
   *
   * @param outcomes the session's outcomes, for the records not settled yet
   */
  snapshot(outcomes: readonly (Outcome | undefined)[] = []): RecordResult[] {
    return this.#slots.map((slot, index) => {
      const settled = this.#settled[index];
      if (settled !== undefined) return { ...settled };
      const { record, jobId } = slot.prepared;
      const result: RecordResult = {
        messageId: record.messageId,
        receiveCount: record.receiveCount,
        outcome: outcomes[index] ?? { kind: 'notAttempted', cause: 'outOfTime' },
        placement: 'retry',
        problem: this.#started.has(index)
          ? 'the invocation ran out of time while the record was being settled: retried'
          : 'the invocation ran out of time before the record was settled: retried',
      };
      if (jobId !== undefined) result.jobId = jobId;
      return result;
    });
  }

  async #act(index: number, given: Outcome): Promise<RecordResult> {
    const slot = this.#slot(index);
    let result: RecordResult;
    // On its last receive, a job passed by because an earlier record of this batch carried it is
    // settled by what that record did: a duplicate when it reached every recipient, not a failure.
    const recheck =
      given.kind === 'transient' && given.reason.phase === 'ledger' && dealtWithOnLastReceive(slot.prepared.record, given, this.#delivery.options)
        ? this.#ledger?.recheck(index)
        : undefined;
    const outcome = (await recheck) ?? given;
    const lastReceive = dealtWithOnLastReceive(slot.prepared.record, outcome, this.#delivery.options);
    if (lastReceive) this.#lastReceive.add(index);
    const calls = lastReceive || outcome.kind === 'permanent' || (outcome.kind === 'partlyRefused' && outcome.refusedForNow.length > 0);
    if (this.#ledger !== undefined) {
      const recording = this.#ledger.record(index, outcome, this.#signal);
      this.#recordings.push(recording);
      if (calls) await recording; // the ledger first, then SQS
    }
    const started = performance.now();
    try {
      result = await settleRecord(slot, outcome, this.#delivery, this.#signal);
      if (calls) this.#onSqsCall(performance.now() - started);
    } catch (error) {
      const { record, jobId } = slot.prepared;
      result = {
        messageId: record.messageId,
        receiveCount: record.receiveCount,
        outcome,
        placement: 'retry',
        problem: `settling failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      };
      if (jobId !== undefined) result.jobId = jobId;
    }
    this.#settled[index] = result;
    return result;
  }

  async #applyVisibility(): Promise<void> {
    const { options, actions } = this.#delivery;
    const changes: Array<VisibilityChange & { result: RecordResult }> = [];
    const cap = this.#visibilityCap();
    this.#settled.forEach((result, index) => {
      if (result === undefined) return;
      const seconds = visibilitySeconds(result, options.fifo, options.backoff);
      if (seconds !== undefined) changes.push({ record: this.#slot(index).prepared.record, seconds: Math.min(seconds, cap), result });
    });
    if (changes.length === 0) return;
    const started = performance.now();
    const failures = await actions.delay(changes, { signal: this.#signal });
    this.#onSqsCall(performance.now() - started);
    const failed = new Map(failures.map((failure) => [failure.messageId, failure.reason]));
    for (const { result, seconds } of changes) {
      const reason = failed.get(result.messageId);
      if (reason !== undefined) {
        // Keep what went wrong first (a failed dead-letter send on the last receive, say): both are logged.
        const problem = `visibility change failed (${reason}): the record comes back after the queue's visibility timeout`;
        result.problem = result.problem === undefined ? problem : `${result.problem}; then ${problem}`;
      } else result.backoffSeconds = seconds;
    }
  }

  #groupOf(index: number): string {
    return this.#slot(index).prepared.record.messageGroupId ?? '';
  }

  #slot(index: number): BatchSlot {
    const slot = this.#slots[index];
    if (slot === undefined) throw new RangeError(`no record ${index} in this batch`);
    return slot;
  }
}

/**
 * The visibility a record that comes back is given, if any: the backoff of a record that failed
 * for now (transient, ambiguous; systemic with its own, longer backoff), a short hand-back for a
 * FIFO record not attempted; none otherwise (a standard queue's untried record keeps the queue's
 * timeout, as does a record whose DLQ send or re-enqueue failed).
 */
export function visibilitySeconds(result: RecordResult, fifo: boolean, policy: BackoffPolicy = {}): number | undefined {
  if (result.placement !== 'retry') return undefined;
  const scale = policy.scale === undefined ? {} : { scale: policy.scale };
  switch (result.outcome.kind) {
    case 'transient':
    case 'ambiguous':
      return backoffSeconds(result.receiveCount, policy);
    case 'systemic':
      return backoffSeconds(result.receiveCount, { ...SYSTEMIC_BACKOFF, ...(policy.random ? { random: policy.random } : {}), ...scale });
    case 'notAttempted':
      return fifo ? Math.round(HAND_BACK_SECONDS * (policy.scale ?? 1)) : undefined;
    case 'delivered':
    case 'duplicateSuppressed':
    case 'suppressed':
    case 'partlyRefused':
    case 'permanent':
      return undefined; // back only because a DLQ send or re-enqueue failed: the queue's timeout
  }
}
