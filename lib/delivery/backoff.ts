/**
 * How long a job that failed for now stays invisible before it is tried again: exponential in the
 * number of times SQS has handed it out, with jitter so that a batch that failed together does not
 * come back together, and a cap.
 * @module
 */

/** Options of {@link backoffSeconds}. */
export interface BackoffPolicy {
  /** The delay after the first receive. @default 30 */
  baseSeconds?: number;
  /** Never longer than this (SQS allows up to 43 200 for visibility, 900 for a message delay). @default 900 */
  capSeconds?: number;
  /** How much longer each receive waits than the one before. @default 2 */
  factor?: number;
  /** Returns a number in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * Multiplies every delay, cap included (`BACKOFF_SCALE`): below 1 only for local and test runs
   * that compress time (the fault-injection run, `npm run chaos`). @default 1
   */
  scale?: number;
}

/**
 * The delay, in whole seconds, before receive number `receiveCount + 1`: `base · factor^(receiveCount-1)`
 * capped at `cap`, then "equal jitter": half of it fixed, the other half random, so the delay
 * still grows with every receive.
 *
 * @param receiveCount SQS's `ApproximateReceiveCount` (1 on the first delivery); values below 1 count as 1
 * @example
 * backoffSeconds(1); // 15..30
 * backoffSeconds(3); // 60..120
 * backoffSeconds(9); // 450..900 (capped)
 */
export function backoffSeconds(receiveCount: number, policy: BackoffPolicy = {}): number {
  const base = policy.baseSeconds ?? 30;
  const cap = policy.capSeconds ?? 900;
  const random = policy.random ?? Math.random;
  const factor = policy.factor ?? 2;
  const scale = policy.scale ?? 1;
  const attempt = Number.isFinite(receiveCount) ? Math.max(1, Math.floor(receiveCount)) : 1;
  const ceiling = Math.min(cap, base * factor ** Math.min(attempt - 1, 30));
  const half = ceiling / 2;
  return Math.min(Math.round(cap * scale), Math.round((half + random() * half) * scale));
}

/**
 * The backoff of a systemic failure (the relay unreachable, TLS or AUTH failing): not the job's
 * fault, so it must not use up the job's receives in minutes and land in the DLQ during an outage.
 * 1.5-3 min, 6-12 min, 24-48 min, 1.6-3.2 h, then 6-12 h (SQS's visibility cap): with the default
 * 5 receives a job rides out an outage of roughly 8 to 16 hours before SQS moves it to the DLQ.
 */
export const SYSTEMIC_BACKOFF: BackoffPolicy = { baseSeconds: 180, factor: 4, capSeconds: 43_200 };


/**
 * The visibility, in seconds, of a record of a FIFO queue handed back untried (its group stopped
 * behind a failure, or the session ended before its turn): long enough not to be received again
 * by an invocation still running, short enough that its group does not wait out the queue's
 * visibility timeout. The group's order holds anyway: SQS hands out none of a group's later
 * messages while an earlier one is in flight.
 */
export const HAND_BACK_SECONDS = 5;
