/**
 * A moment on the invocation's clock and the abort signal that fires at it. The moment can be
 * brought forward (never pushed back): the SMTP session's end moves earlier when SQS turns out
 * slower than the time reserved for the calls after the session.
 * @module
 */

/**
 * An abort signal at a moment that can be brought forward.
 *
 * @example
 * const sessionEnd = new Deadline(remainingMs - 1500);
 * connect({ ...options, signal: sessionEnd.signal });
 * sessionEnd.bringForward(remainingMs() - 3500); // SQS answers in 3 s: keep more time for it
 * sessionEnd.dispose();
 */
export class Deadline {
  readonly #controller = new AbortController();
  #at: number;
  #timer: NodeJS.Timeout | undefined;

  /** @param inMs from now, in milliseconds (at least 1) */
  constructor(inMs: number) {
    this.#at = performance.now() + clampMs(inMs);
    this.#arm();
  }

  /** Fires at the moment. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Moves the moment to `inMs` from now, when that is earlier than it is. */
  bringForward(inMs: number): void {
    const at = performance.now() + clampMs(inMs);
    if (at >= this.#at || this.#controller.signal.aborted) return;
    this.#at = at;
    this.#arm();
  }

  /** Stops the timer (the signal then never fires, unless it has). */
  dispose(): void {
    clearTimeout(this.#timer);
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(
      () => {
        this.#controller.abort(new DOMException('The deadline passed', 'TimeoutError'));
      },
      Math.max(0, Math.ceil(this.#at - performance.now())),
    );
    this.#timer.unref();
  }
}

/** At least 1 ms; a clock that gives no number means no time. */
function clampMs(ms: number): number {
  return Number.isFinite(ms) ? Math.max(1, ms) : 1;
}
