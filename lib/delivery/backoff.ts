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
 * 1.5-3 min, 6-12 min, 24-48 min, 1.6-3.2 h, then 6-12 h (SQS's visibility cap, less the time
 * the record has been in flight: {@link visibilityCapSeconds}): with the default 5 receives a job
 * rides out an outage of roughly 8 to 16 hours before SQS moves it to the DLQ.
 */
export const SYSTEMIC_BACKOFF: BackoffPolicy = { baseSeconds: 180, factor: 4, capSeconds: 43_200 };

/**
 * SQS's limit on one receive: a message stays in flight at most 12 hours from the receive that
 * handed it out, and a ChangeMessageVisibility that would keep it longer is refused (the message
 * then comes back after the visibility it had, the queue's timeout). See {@link visibilityCapSeconds}.
 */
export const MAX_IN_FLIGHT_SECONDS = 43_200;

/**
 * The longest batching window an SQS event source allows: how long a record may have waited,
 * received, before the function was invoked. Assumed when the function is not told its own window.
 */
export const MAX_BATCHING_WINDOW_SECONDS = 300;

/**
 * Time in flight the handler's clock does not see, besides the batching window: the poller's
 * hand-over to Lambda, a cold start's initialisation (up to 10 s), the SQS request's own latency.
 */
export const IN_FLIGHT_MARGIN_SECONDS = 60;

/** What {@link visibilityCapSeconds} counts besides the invocation's own time. */
export interface InFlightAllowance {
  /** The event source's batching window. @default {@link MAX_BATCHING_WINDOW_SECONDS} */
  batchingWindowSeconds?: number;
  /** @default {@link IN_FLIGHT_MARGIN_SECONDS} */
  marginSeconds?: number;
}

/**
 * The longest visibility, in whole seconds, that SQS still takes for a record of this invocation:
 * its 12 hours in flight ({@link MAX_IN_FLIGHT_SECONDS}) less the time the record may already have
 * been in flight since its receive, that is the batching window, a margin, and every started second
 * since the invocation began. Never negative. SQS hands no per-receive timestamp to the function,
 * so this is an upper bound of the time in flight: a record held longer before the invocation than
 * it allows (e.g. an invocation throttled and retried by the event source) has its change refused,
 * and comes back after the queue's visibility timeout; nothing is lost.
 *
 * @param elapsedMs time since the invocation started (a negative or non-finite value counts as 0)
 * @example
 * visibilityCapSeconds(0); // 42840: 43200 - 300 (batching window unknown) - 60 (margin)
 * visibilityCapSeconds(61_500, { batchingWindowSeconds: 5 }); // 43073
 */
export function visibilityCapSeconds(elapsedMs: number, allowance: InFlightAllowance = {}): number {
  const window = allowance.batchingWindowSeconds ?? MAX_BATCHING_WINDOW_SECONDS;
  const margin = allowance.marginSeconds ?? IN_FLIGHT_MARGIN_SECONDS;
  const elapsedSeconds = Number.isFinite(elapsedMs) && elapsedMs > 0 ? Math.ceil(elapsedMs / 1000) : 0;
  return Math.max(0, MAX_IN_FLIGHT_SECONDS - window - margin - elapsedSeconds);
}

/**
 * The visibility, in seconds, of a record of a FIFO queue handed back untried (its group stopped
 * behind a failure, or the session ended before its turn): long enough not to be received again
 * by an invocation still running, short enough that its group does not wait out the queue's
 * visibility timeout. The group's order holds anyway: SQS hands out none of a group's later
 * messages while an earlier one is in flight.
 */
export const HAND_BACK_SECONDS = 5;
