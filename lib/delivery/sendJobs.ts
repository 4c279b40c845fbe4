/**
 * Sends a batch's jobs over one open connection: up to the per-connection count, several messages
 * handed to the client ahead so it can pipeline them, no new message once time runs short, a job
 * with more recipients than a message may hold sent in several transactions, and exactly one
 * {@link Outcome} per job.
 * @module
 */
import type { Envelope, MessageStream, SendResult } from '../smtp/types.js';
import { SmtpError } from '../smtp/errors.js';
import { isConnectionLoss } from './outcome.js';
import type { NotAttemptedCause, Outcome } from './outcome.js';
import { sendInParts } from './sendInParts.js';
import type { RecipientLimit } from './sendInParts.js';

/** The part of the SMTP client a session needs. */
export interface MailSender {
  send(envelope: Envelope, message: string | Uint8Array | MessageStream): Promise<SendResult>;
  /** True once the connection is gone (whatever the error said: a garbage reply ends it too). */
  readonly closed?: boolean;
}

/** A message ready for the client: in memory, or a stream (attachments read from S3 or spool files as it is sent). */
export interface ComposedMessage {
  envelope: Envelope;
  message: Uint8Array | MessageStream;
}

/**
 * One job: its message is built only when it is about to be sent, to keep memory low. A job whose
 * outcome is already known (an invalid job) passes through in its place, so that `onOutcome` still
 * sees every job in order; it costs nothing of the per-connection count.
 */
export type SessionJob =
  | {
      /** @throws anything: the job then ends `permanent` in phase `'compose'` */
      compose(): Promise<ComposedMessage>;
    }
  | { outcome: Outcome };

/** A job whose message is still to be built. */
type ComposingJob = Exclude<SessionJob, { outcome: Outcome }>;

/** How a session runs. */
export interface SessionPlan {
  /**
   * At most this many jobs on the connection (`MAIL_PER_CONNECTION`). A job sent in several
   * transactions for its recipients' sake (`maxRecipients`, "too many recipients") counts once:
   * the count sizes the batch, and those transactions carry one message.
   */
  limit: number;
  /**
   * Messages handed to the client and not yet finished. Three keep a pipelining client's queue
   * full (a message's end of data and the next one's MAIL/RCPT/DATA share a write) while the time
   * check still happens before every message; 1 sends strictly one after another (FIFO).
   */
  window: number;
  /** Asked before each new message; `false` (time is short) stops the session. */
  canStart(): boolean;
  /**
   * At most this many recipients per message (`MAIL_MAX_RECIPIENTS`); a job with more goes in
   * several transactions (see {@link sendInParts}, which also splits on "too many recipients").
   */
  maxRecipients?: number;
  /**
   * Asked when a job's turn comes: an outcome here passes the job by unsent, in its place (FIFO:
   * an earlier record of its message group must come back). The session waits for the answer.
   */
  skip?(index: number): Outcome | undefined | Promise<Outcome | undefined>;
  /**
   * Called as each outcome is known; with `window` 1, before the next job starts. Returning
   * `false` (or throwing) stops the session.
   */
  onOutcome?(index: number, outcome: Outcome): Promise<boolean> | boolean;
  /** Told as each transaction of a job is answered: its recipients and those who took it (see `PartsPlan.onPart`). */
  onAccepted?(index: number, sent: readonly string[], accepted: readonly string[]): void;
}

/**
 * Sends the jobs in order (the client sees `send` calls in job order) and classifies each. Never
 * throws: every job gets an outcome, and the ones never started get `notAttempted` with the reason
 * the session stopped.
 *
 * When the connection is lost (drop, 421, timeout, deadline), the first job it hit keeps its own
 * outcome (`transient`, or `ambiguous` if its end of data was out) and the jobs queued behind it
 * become `notAttempted` (`connectionLost`).
 *
 * @example
 * const outcomes = await sendJobs(client, jobs, { limit: 10, window: 3, canStart: () => remaining() > 5000 });
 */
export async function sendJobs(sender: MailSender, jobs: readonly SessionJob[], plan: SessionPlan): Promise<Outcome[]> {
  const outcomes: Array<Outcome | undefined> = jobs.map(() => undefined);
  const errors: unknown[] = jobs.map(() => undefined);
  const running = new Set<Promise<void>>();
  const window = Math.max(1, plan.window);
  let stop: NotAttemptedCause | undefined;
  let started = 0;
  const limit: RecipientLimit = plan.maxRecipients === undefined ? {} : { perMessage: plan.maxRecipients };

  const finish = async (index: number, outcome: Outcome): Promise<void> => {
    outcomes[index] = outcome;
    if (plan.onOutcome === undefined) return;
    let goOn: boolean;
    try {
      goOn = await plan.onOutcome(index, outcome);
    } catch {
      goOn = false;
    }
    if (!goOn) stop ??= 'fifoStopped';
  };
  const track = (task: Promise<void>): void => {
    running.add(task);
    void task.finally(() => running.delete(task));
  };

  // Messages are built ahead of their turn (up to `window` of them), so that building one never
  // holds up the pipeline: the client must find the next message queued when it writes a dot.
  const building = new Map<number, Promise<ComposedMessage>>();
  const build = (index: number, job: ComposingJob): Promise<ComposedMessage> => {
    let pending = building.get(index);
    if (pending === undefined) {
      pending = job.compose();
      pending.catch(() => undefined); // observed when its turn comes
      building.set(index, pending);
    }
    return pending;
  };

  for (const [index, job] of jobs.entries()) {
    while (running.size >= window) await Promise.race(running);
    if (stop !== undefined) break;
    if ('outcome' in job) {
      track(finish(index, job.outcome));
      continue;
    }
    const passedBy = await plan.skip?.(index);
    if (passedBy !== undefined) {
      track(finish(index, passedBy));
      continue;
    }
    if (started >= plan.limit) {
      stop = 'perConnectionLimit';
      break;
    }
    if (!plan.canStart()) {
      stop = 'outOfTime';
      break;
    }
    const pending = build(index, job);
    for (let ahead = index + 1, count = 0; ahead < jobs.length && count < window && started + count + 1 < plan.limit; ahead += 1) {
      const next = jobs[ahead];
      if (next === undefined || 'outcome' in next) continue;
      void build(ahead, next); // a failure is observed when its turn comes
      count += 1;
    }
    let mail: ComposedMessage;
    try {
      mail = await pending;
    } catch (error) {
      track(finish(index, { kind: 'permanent', reason: { phase: 'compose', message: error instanceof Error ? error.message : String(error) } }));
      continue;
    } finally {
      building.delete(index);
    }
    // The connection may have gone while the message was being built.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- a task's callback sets `stop` during the await above; TypeScript's narrowing cannot see that (microsoft/TypeScript#9998)
    if (stop !== undefined) break;
    started += 1;
    const sending = sendInParts(sender, mail, {
      limit,
      // Further transactions of a job already begun go on unless the connection is gone or time is short.
      canContinue: () => stop !== 'connectionLost' && sender.closed !== true && plan.canStart(),
      ...(plan.onAccepted === undefined
        ? {}
        : { onPart: (sent: readonly string[], accepted: readonly string[]) => plan.onAccepted?.(index, sent, accepted) }),
    });
    track(
      sending.then(({ outcome, error }) => {
        if (error !== undefined) {
          errors[index] = error;
          if (isConnectionGone(error) || sender.closed === true) stop ??= 'connectionLost';
        }
        return finish(index, outcome);
      }),
    );
  }
  await Promise.all(running);

  const firstLoss = errors.findIndex(
    (error) => error !== undefined && (isConnectionGone(error) || (sender.closed === true && error instanceof SmtpError && error.code === undefined)),
  );
  return outcomes.map((outcome, index): Outcome => {
    if (outcome === undefined) return { kind: 'notAttempted', cause: stop ?? 'connectionLost' };
    if (firstLoss >= 0 && index > firstLoss && outcome.kind === 'transient' && lostWith(errors[index])) {
      return { kind: 'notAttempted', cause: 'connectionLost' };
    }
    return outcome;
  });
}

/** The error means nothing more can be sent on this connection. */
function isConnectionGone(error: unknown): boolean {
  return isConnectionLoss(error) || (error instanceof SmtpError && (error.ambiguous || error.code === 421));
}

/** A job behind the one the loss hit failed only because the connection was gone (no reply of its own). */
function lostWith(error: unknown): boolean {
  return isConnectionGone(error) || (error instanceof SmtpError && error.code === undefined);
}
