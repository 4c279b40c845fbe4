/**
 * The local run's terminal view: one line per event (time, kind, SQS message id, what happened)
 * and the counts. On a terminal the counts sit on a status line at the bottom that is redrawn in
 * place; elsewhere (a pipe, a log file) a counts line is printed whenever a job's count changes.
 * @module
 */
import type { ActivityEvent, ActivityStats } from './RunActivity.js';

/** Where the view writes. */
export interface ViewStream {
  write(text: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

const CLEAR_LINE = '\r\x1b[2K';

const COLOURS: Record<string, string> = {
  delivered: '\x1b[32m',
  'partly refused': '\x1b[33m',
  suppressed: '\x1b[35m',
  retry: '\x1b[33m',
  'dead-lettered': '\x1b[31m',
  'batch failed': '\x1b[31m',
  stored: '\x1b[36m',
  'cold start': '\x1b[2m',
  redriven: '\x1b[36m',
};

/** The counts on one line. */
export function countsLine(stats: ActivityStats): string {
  const queued = stats.queue.ready + stats.queue.inFlight + stats.queue.delayed;
  return (
    `received ${stats.received} · delivered ${stats.delivered} · retried ${stats.retried} · ` +
    `dead-lettered ${stats.deadLettered} · re-enqueued ${stats.reEnqueued} │ queue ${queued}` +
    (queued === 0 ? '' : ` (${stats.queue.inFlight} in flight, ${stats.queue.delayed} delayed)`) +
    ` · DLQ ${stats.dlq} · stored ${stats.stored}`
  );
}

/**
 * The view.
 * @example
 * const view = new LiveView(process.stdout, { colour: !process.env.NO_COLOR });
 * activity.onEvent = (event) => view.event(event);
 * activity.onChange = () => view.counts(activity.stats());
 */
export class LiveView {
  readonly #out: ViewStream;
  readonly #tty: boolean;
  readonly #colour: boolean;
  #status = '';
  #lastPrinted = '';

  constructor(out: ViewStream, options: { colour?: boolean } = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#colour = this.#tty && (options.colour ?? true);
  }

  /** Prints text above the status line. */
  print(text: string): void {
    if (this.#tty && this.#status !== '') this.#out.write(`${CLEAR_LINE}${text}\n${this.#fit(this.#status)}`);
    else this.#out.write(`${text}\n`);
  }

  /** Prints one event. */
  event(event: ActivityEvent): void {
    const time = event.at.slice(11, 19);
    const kind = event.kind.padEnd(14);
    const painted = this.#colour ? `${COLOURS[event.kind] ?? ''}${kind}\x1b[0m` : kind;
    const id = event.messageId === undefined ? '' : `${event.messageId}  `;
    const job = event.jobId === undefined ? '' : `job ${event.jobId}: `;
    this.print(`${time} ${painted} ${id}${job}${event.detail}`);
  }

  /** Shows the counts: redrawn in place on a terminal, printed when changed elsewhere. */
  counts(stats: ActivityStats): void {
    const line = countsLine(stats);
    if (this.#tty) {
      this.#status = line;
      this.#out.write(`${CLEAR_LINE}${this.#fit(line)}`);
    } else {
      // Off a terminal, a line only when a job's count changed, not for every queue depth seen.
      const key = `${stats.received}/${stats.delivered}/${stats.retried}/${stats.deadLettered}/${stats.reEnqueued}`;
      if (key === this.#lastPrinted) return;
      this.#lastPrinted = key;
      this.#out.write(`counts: ${line}\n`);
    }
  }

  /** Leaves the status line (before the final summary). */
  end(): void {
    if (this.#tty && this.#status !== '') this.#out.write('\n');
    this.#status = '';
  }

  #fit(line: string): string {
    const width = this.#out.columns ?? 0;
    return width > 1 && line.length >= width ? `${line.slice(0, width - 2)}…` : line;
  }
}
