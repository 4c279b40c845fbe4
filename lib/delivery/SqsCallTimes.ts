/**
 * How long the delivery's SQS calls have been taking, kept across the invocations of one
 * execution environment, so that the time reserved for the calls after the SMTP session follows
 * what SQS really does.
 * @module
 */

/** How many recent calls count. */
const KEPT = 8;

/**
 * The durations of the last few SQS calls (DLQ sends, re-enqueues, visibility changes), whether
 * they succeeded or not: a call cut by the deadline counts with the time it was given, a lower
 * bound of what it needed.
 *
 * @example
 * const times = new SqsCallTimes();
 * times.add(3_050);
 * times.expectedMs(); // 3050: reserve that much for the next call
 */
export class SqsCallTimes {
  readonly #recent: number[] = [];

  /** Notes one call's duration in milliseconds. */
  add(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.#recent.push(ms);
    if (this.#recent.length > KEPT) this.#recent.shift();
  }

  /** The time to expect for the next call: the slowest of the recent ones (0 when none is known). */
  expectedMs(): number {
    return this.#recent.length === 0 ? 0 : Math.max(...this.#recent);
  }
}
