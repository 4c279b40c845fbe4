/**
 * What the local run has seen, for the live view and the web page: the counts, one event per
 * thing that happened to a job (with its SQS message id), and the jobs taken from the queue with
 * their latest outcome. It learns from each invocation (the records, the handler's answer and the
 * handler's own `mail job` log lines), from the mailbox, and from the dead-letter queue (jobs SQS
 * moved there itself after too many receives).
 * @module
 */
import type { InvocationReport } from './EventSourceMapping.js';
import { attemptOf, mailJobLogs, reasonText, retryDetail, suppressedNote } from './handlerLog.js';
import type { MailJobLog } from './handlerLog.js';
import { jobSummary } from './jobSummary.js';
import type { MailboxEntry } from './Mailbox.js';
import type { HeldMessage, QueueDepth } from './LocalSqs.js';

/** The counts the live view shows. */
export interface ActivityCounts {
  /** Records handed to the handler (a job received again counts again). */
  received: number;
  /** Jobs that reached at least one recipient. */
  delivered: number;
  /** Records handed back for a retry (batchItemFailures, or a failed batch). */
  retried: number;
  /** Jobs put in the dead-letter queue: by the handler at once, or by SQS after too many receives. */
  deadLettered: number;
  /** Jobs whose recipients refused for now were put back on the queue as a new job. */
  reEnqueued: number;
  /** Messages the SMTP server stored. */
  stored: number;
}

/** The counts and what the queues hold now. */
export interface ActivityStats extends ActivityCounts {
  queue: QueueDepth;
  dlq: number;
}

/** Kinds of events. */
export type ActivityKind =
  'delivered' | 'partly refused' | 'suppressed' | 'retry' | 'dead-lettered' | 'batch failed' | 'stored' | 'cold start' | 'redriven';

/** One thing that happened. */
export interface ActivityEvent {
  at: string;
  kind: ActivityKind;
  /** The SQS message id it concerns (none for a stored message or a cold start). */
  messageId?: string;
  jobId?: string;
  detail: string;
}

/** A job taken from the queue and what became of it last. */
export interface JobView {
  messageId: string;
  jobId?: string;
  subject: string;
  recipients: string[];
  receives: number;
  outcome: string;
  detail: string;
  at: string;
}

/** One receive of a job (an SQS message) and what the handler did with it, for the job's view. */
export interface JobAttempt {
  at: string;
  /** The receive count SQS gave the record (1: its first receive). */
  receive: number;
  /** The poller (1..maxConcurrency) whose invocation had it; none for a move by SQS. */
  poller?: number;
  kind: ActivityKind;
  detail: string;
  /** The handler's outcome as it logged it (`delivered`, `partlyRefused`, `transient`, `notAttempted`...). */
  outcome?: string;
  /** The reason it logged (phase, code, server text), for a job that failed. */
  reason?: string;
  /** Seconds until the job comes back, when the handler set a backoff. */
  backoffSeconds?: number;
  /** Recipients refused for now that were put back on the queue as a new job. */
  requeuedRecipients?: number;
}

const MAX_EVENTS = 500;

/**
 * The record of a local run.
 * @example
 * const activity = new RunActivity();
 * activity.onEvent = (event) => view.print(event);
 * mapping = await EventSourceMapping.start({ ..., onInvocation: (report) => activity.invocation(report) });
 */
export class RunActivity {
  readonly counts: ActivityCounts = { received: 0, delivered: 0, retried: 0, deadLettered: 0, reEnqueued: 0, stored: 0 };
  readonly events: ActivityEvent[] = [];
  readonly #jobs = new Map<string, JobView>();
  readonly #seenInDlq = new Set<string>();
  readonly #attempts = new Map<string, JobAttempt[]>();
  readonly #listeners = new Set<() => void>();
  #dlqMessages: readonly HeldMessage[] = [];
  #queue: QueueDepth = { ready: 0, inFlight: 0, delayed: 0 };
  #dlq = 0;
  /** Called after each event is recorded. */
  onEvent: ((event: ActivityEvent) => void) | undefined;
  /** Called when the counts or the queue depths change. */
  onChange: (() => void) | undefined;

  /** The counts and the queue depths. */
  stats(): ActivityStats {
    return { ...this.counts, queue: { ...this.#queue }, dlq: this.#dlq };
  }

  /** Jobs taken from the queue, latest activity first. */
  jobs(): JobView[] {
    return [...this.#jobs.values()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  }

  /** Each receive of the job (SQS message id) seen by this run, oldest first. */
  jobAttempts(messageId: string): JobAttempt[] {
    return [...(this.#attempts.get(messageId) ?? [])];
  }

  /** What the dead-letter queue held when last looked at (every second). */
  deadLetters(): readonly HeldMessage[] {
    return this.#dlqMessages;
  }

  /**
   * Calls `listener` whenever {@link onChange} is called (the counts, a job or the queues changed),
   * for as many listeners as want it (the web page's live updates).
   * @returns a function that stops the calls
   */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Learns that jobs were put back on the mail queue from the dead-letter queue. */
  redriven(count: number, how: string): void {
    this.#record({ kind: 'redriven', detail: `${count} job(s) put back on the mail queue from the dead-letter queue (${how})` });
    this.#changed();
  }

  /** Learns from one invocation. */
  invocation(report: InvocationReport): void {
    if (report.coldStart) this.#record({ kind: 'cold start', detail: `poller ${report.poller}: a new execution environment` });
    const logs = mailJobLogs(report.result.logs);
    const failed = new Set(report.failed);
    this.counts.received += report.records.length;
    for (const record of report.records) {
      const summary = jobSummary(record.body);
      const receives = Number(record.attributes.ApproximateReceiveCount);
      const log = logs.get(record.messageId);
      const jobId = log?.jobId ?? summary.jobId;
      const event = this.#eventOf(record.messageId, log, failed.has(record.messageId), report.batchFailure);
      const previous = this.#jobs.get(record.messageId);
      const view: JobView = {
        messageId: record.messageId,
        subject: summary.subject,
        recipients: summary.recipients,
        receives: Math.max(receives, previous?.receives ?? 0),
        outcome: event.kind,
        detail: event.detail,
        at: new Date().toISOString(),
      };
      if (jobId !== undefined) view.jobId = jobId;
      this.#jobs.set(record.messageId, view);
      this.#attempt(record.messageId, { receive: receives, poller: report.poller, kind: event.kind, detail: event.detail, ...attemptOf(log) });
      this.#record({ ...event, messageId: record.messageId, ...(jobId === undefined ? {} : { jobId }) });
    }
    for (const id of report.deleteFailed) {
      this.#record({ kind: 'retry', messageId: id, detail: 'the delete after success failed: it comes back after the visibility timeout' });
    }
    this.#changed();
  }

  /** Learns of a message the SMTP server stored. */
  stored(entry: MailboxEntry, mailDir: string): void {
    this.counts.stored += 1;
    const refused = entry.refused.length === 0 ? '' : `, refused ${entry.refused.map((r) => `${r.address} (${r.code})`).join(', ')}`;
    this.#record({ kind: 'stored', detail: `${mailDir}/${entry.file} "${entry.subject}" to ${entry.to.join(', ')}${refused}` });
    this.#changed();
  }

  /**
   * Learns what the queues hold. Messages in the dead-letter queue without a `SourceMessageId`
   * attribute were moved there by SQS (redrive after `maxReceiveCount` receives), not by the handler.
   */
  queues(queue: QueueDepth, dlqMessages: readonly HeldMessage[]): void {
    let changed =
      queue.ready !== this.#queue.ready ||
      queue.inFlight !== this.#queue.inFlight ||
      queue.delayed !== this.#queue.delayed ||
      dlqMessages.length !== this.#dlq;
    changed ||= dlqMessages.some((message, index) => message.messageId !== this.#dlqMessages[index]?.messageId);
    this.#queue = queue;
    this.#dlq = dlqMessages.length;
    this.#dlqMessages = [...dlqMessages];
    for (const message of dlqMessages) {
      if (this.#seenInDlq.has(message.messageId)) continue;
      this.#seenInDlq.add(message.messageId);
      if (message.messageAttributes['SourceMessageId'] !== undefined) continue;
      this.counts.deadLettered += 1;
      changed = true;
      const job = this.#jobs.get(message.messageId);
      const detail = `moved by SQS after ${message.approximateReceiveCount} receives (maxReceiveCount)`;
      if (job !== undefined) Object.assign(job, { outcome: 'dead-lettered', detail, at: new Date().toISOString() });
      this.#attempt(message.messageId, { receive: message.approximateReceiveCount, kind: 'dead-lettered', detail });
      this.#record({ kind: 'dead-lettered', messageId: message.messageId, detail });
    }
    if (changed) this.#changed();
  }

  #attempt(messageId: string, attempt: Omit<JobAttempt, 'at'>): void {
    const list = this.#attempts.get(messageId) ?? [];
    list.push({ at: new Date().toISOString(), ...attempt });
    this.#attempts.set(messageId, list);
  }

  #changed(): void {
    this.onChange?.();
    for (const listener of this.#listeners) listener();
  }

  #eventOf(messageId: string, log: MailJobLog | undefined, failed: boolean, batchFailure: string | undefined): Omit<ActivityEvent, 'at'> {
    const delivered = log !== undefined && (log.outcome === 'delivered' || (log.outcome === 'partlyRefused' && (log.accepted ?? 0) > 0));
    if (delivered) this.counts.delivered += 1;
    if (failed) {
      this.counts.retried += 1;
      if (batchFailure !== undefined) return { kind: 'batch failed', messageId, detail: `${batchFailure}; back after the visibility timeout` };
      return { kind: 'retry', messageId, detail: retryDetail(log) };
    }
    if (log === undefined) return { kind: 'delivered', messageId, detail: 'done (the handler logged nothing for it)' };
    if (log.placement === 'deadLettered') {
      this.counts.deadLettered += 1;
      const last = log.lastReceive === true ? `on its last receive (${log.receiveCount ?? '?'}), ` : '';
      return { kind: 'dead-lettered', messageId, detail: `${last}${log.outcome ?? ''}: ${reasonText(log)}` };
    }
    if (log.outcome === 'suppressed') {
      const where = (log.suppressedDomains ?? []).join(', ') || '?';
      return {
        kind: 'suppressed',
        messageId,
        detail: `not sent: every recipient (${log.recipients ?? log.suppressedRecipients ?? '?'}) is outside allowedRecipients (MAIL_ALLOWED_RECIPIENTS): ${where}`,
      };
    }
    if (log.outcome === 'partlyRefused') {
      const requeued = log.requeuedRecipients ?? 0;
      if (requeued > 0) this.counts.reEnqueued += 1;
      const refused = (log.refused ?? []).map((r) => `${r.code ?? '?'}${r.transient ? ' for now' : ''} at ${r.domain ?? '?'}`).join(', ');
      const again = requeued > 0 ? `; ${requeued} re-enqueued as a new job` : '';
      return { kind: 'partly refused', messageId, detail: `${log.accepted ?? 0} accepted, refused: ${refused}${again}${suppressedNote(log)}` };
    }
    if (log.outcome === 'duplicateSuppressed') {
      return { kind: 'delivered', messageId, detail: 'not sent again: the delivery ledger says every recipient has it (duplicate suppressed)' };
    }
    return { kind: 'delivered', messageId, detail: `${log.accepted ?? 0} recipient(s) took it${suppressedNote(log)}` };
  }

  #record(event: Omit<ActivityEvent, 'at'>): void {
    const full: ActivityEvent = { at: new Date().toISOString(), ...event };
    this.events.push(full);
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    this.onEvent?.(full);
  }
}
