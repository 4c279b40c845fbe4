/**
 * One batch's SMTP session: read the relay's settings, build the first messages while the
 * connection is set up, send up to the per-connection count (passing by, with a ledger, the jobs it
 * says not to send and the recipients who have the message), hand each outcome to the settle stage
 * as it is known, and say QUIT.
 * @module
 */
import type { SmtpSettings } from '../config.js';
import { composeMail } from '../message/index.js';
import { composeMailStream } from '../message/composeMailStream.js';
import { rawMailStream } from '../message/StreamedRawMessage.js';
import type { Envelope, MessageStream } from '../smtp/types.js';
import { invalidOutcome } from './mailRecord.js';
import { recipientKey } from './ledger/recipients.js';
import type { BatchLedger } from './ledger/BatchLedger.js';
import { headerMessageId } from './ledger/recipients.js';
import type { FailureReason, Outcome } from './outcome.js';
import { openSession } from './openSession.js';
import { sendJobs } from './sendJobs.js';
import type { SessionJob } from './sendJobs.js';
import type { SettleStage } from './SettleStage.js';
import type { BatchSlot, Delivery, MailSession } from './types.js';

/** What the session did: an outcome per record, and how it ended. */
export interface SessionReport {
  outcomes: Outcome[];
  /** The polite end of the session, still under way. */
  closing?: Promise<void>;
  systemic?: FailureReason;
  roundTrips?: number;
}

/**
 * Reads the settings, builds the first messages while the connection is set up, sends, hands each
 * outcome to the settle stage as it is known, and says QUIT.
 */
export async function runSession(
  slots: BatchSlot[],
  delivery: Delivery,
  deadline: AbortSignal,
  canStart: () => boolean,
  stage: SettleStage,
  ledger: BatchLedger | undefined,
): Promise<SessionReport> {
  const { options } = delivery;
  const systemic = (reason: FailureReason): SessionReport => {
    for (const slot of slots) delete slot.composing;
    return { outcomes: slots.map((slot) => ownOutcome(slot, { kind: 'systemic', reason })), systemic: reason };
  };
  let current;
  try {
    current = await delivery.settings.get(deadline);
  } catch (error) {
    return systemic({
      phase: 'secret',
      message: error instanceof Error ? error.message : String(error),
      ...(error instanceof Error ? { error: error.name } : {}),
    });
  }
  const ahead = options.fifo ? 1 : (options.window ?? 3);
  let jobs = slots.map((slot, index) => sessionJob(slot, current.settings, index, ledger));
  let head = 0;
  for (const job of jobs) {
    if (head >= Math.min(ahead, options.mailPerConnection)) break;
    if ('compose' in job) {
      void job.compose().catch(() => undefined); // observed when its turn comes
      head += 1;
    }
  }

  const opened = await openSession(delivery, current, deadline);
  if ('failure' in opened) return systemic(opened.failure);
  if (opened.settings !== current.settings) {
    // The secret was read again (rotation): build with what is current now.
    for (const slot of slots) delete slot.composing;
    jobs = slots.map((slot, index) => sessionJob(slot, opened.settings, index, ledger));
  }
  const streams = !options.fifo && opened.session.capabilities?.chunking === true && opened.session.capabilities.pipelining;
  const window = options.fifo ? 1 : (options.window ?? (streams ? streamWindow(slots, options.mailPerConnection) : 3));
  if (streams) {
    // BDAT streams whatever is queued in one write: have the window's messages built, so that
    // they are handed to the client together.
    const toSend = jobs.filter((job) => 'compose' in job).slice(0, window);
    await Promise.allSettled(toSend.map((job) => job.compose()));
  }
  let outcomes: Outcome[];
  try {
    outcomes = await sendJobs(opened.session, jobs, {
      limit: options.mailPerConnection,
      window,
      ...(options.maxRecipientsPerMessage === undefined ? {} : { maxRecipients: options.maxRecipientsPerMessage }),
      canStart: () => {
        try {
          return canStart();
        } catch {
          return false; // a clock that fails means no time to count on
        }
      },
      // FIFO: a message waits for the earlier records of its group to be settled, and is passed
      // by when one of them must come back; other groups go on meanwhile. The ledger then passes
      // by a job every recipient has, or one another invocation holds.
      ...(options.fifo || ledger !== undefined
        ? { skip: async (index: number) => (options.fifo ? await stage.passBy(index) : undefined) ?? (await ledger?.verdict(index)) }
        : {}),
      ...(ledger === undefined
        ? {}
        : { onAccepted: (index: number, sent: readonly string[], accepted: readonly string[]) => ledger.accepted(index, sent, accepted) }),
      onOutcome: (index, outcome) => {
        const slot = slots[index];
        if (slot !== undefined) {
          delete slot.composing;
          if (outcome.kind !== 'partlyRefused') delete slot.mail;
        }
        // A DLQ send or re-enqueue starts at once, alongside the session. Standard queues: records
        // that come back wait for the session's final word on them (a loss may turn "transient"
        // into "not attempted"); FIFO: every record is fed in order, as it may stop its group.
        if (
          options.fifo ||
          outcome.kind === 'delivered' ||
          outcome.kind === 'permanent' ||
          outcome.kind === 'partlyRefused' ||
          outcome.kind === 'duplicateSuppressed' ||
          outcome.kind === 'suppressed'
        )
          void stage.settle(index, outcome);
        return true;
      },
    });
  } catch (error) {
    opened.session.close(); // never leave the socket open behind a failure
    throw error;
  }
  for (const slot of slots) delete slot.composing;
  const report: SessionReport = { outcomes };
  if (opened.session.stats !== undefined) report.roundTrips = opened.session.stats.roundTrips;
  // QUIT goes on while the outcomes are acted on: a slow QUIT must not eat the time the DLQ sends,
  // re-enqueues and visibility changes need.
  report.closing = closePolitely(opened.session, stage.signal);
  return report;
}

/** Bytes of job bodies whose messages may be built and in flight at once when streaming with BDAT (a 128 MB function holds the event, the jobs and the messages). */
export const STREAM_WINDOW_BYTES = 1024 * 1024;

/**
 * How many messages to hand the client at once on a CHUNKING relay: every one of the connection's
 * when they are small (one write, one round trip for the batch), fewer when large, so that the
 * messages built and waiting stay within {@link STREAM_WINDOW_BYTES} (always at least one).
 */
export function streamWindow(slots: readonly BatchSlot[], limit: number, budgetBytes = STREAM_WINDOW_BYTES): number {
  let count = 0;
  let bytes = 0;
  for (const slot of slots) {
    if (!('job' in slot.prepared)) continue;
    bytes += slot.prepared.record.body.length;
    if (count >= limit || (count > 0 && bytes > budgetBytes)) break;
    count += 1;
  }
  return Math.max(1, count);
}

/** The record holds a valid job with a recipient to send to. */
export function hasJob(slot: BatchSlot): boolean {
  return 'job' in slot.prepared && slot.allSuppressed !== true;
}

/** An invalid job's own outcome (permanent), a job with every recipient suppressed its own (`suppressed`), else `otherwise`. */
export function ownOutcome(slot: BatchSlot, otherwise: Outcome): Outcome {
  if ('invalid' in slot.prepared) return invalidOutcome(slot.prepared);
  if (slot.allSuppressed === true) return { kind: 'suppressed', recipients: slot.suppressed?.length ?? 0 };
  return otherwise;
}

/**
 * The session's view of a record: a message to build (once, however often asked), or an invalid
 * job's outcome. With a ledger, the envelope keeps only the recipients not yet delivered.
 */
function sessionJob(slot: BatchSlot, settings: SmtpSettings, index: number, ledger: BatchLedger | undefined): SessionJob {
  const prepared = slot.prepared;
  if ('invalid' in prepared || slot.allSuppressed === true) return { outcome: ownOutcome(slot, { kind: 'notAttempted', cause: 'connectionLost' }) };
  const job = prepared.job;
  // Recipients outside MAIL_ALLOWED_RECIPIENTS never reach RCPT TO.
  const suppressed = new Set(slot.suppressed ?? []);
  // A claim-check copy for part of the job (recipients refused for now earlier): only those, same headers.
  const only = prepared.pointer?.recipients === undefined ? undefined : new Set(prepared.pointer.recipients.map(recipientKey));
  const defaults = settings.from === undefined ? {} : { from: settings.from };
  // Attachments read as streams (from S3, or spooled from an offloaded job) make a streamed message.
  const streamed = job.kind === 'composed' && job.attachments.some((attachment) => attachment.source !== undefined) ? job : undefined;
  // A raw message read into a file (an offloaded raw job) is sent from it.
  const rawFile = job.kind === 'raw' && job.source !== undefined ? { ...job, source: job.source } : undefined;
  const build = async (): Promise<{ envelope: Envelope; message: Uint8Array | MessageStream; messageId?: string }> =>
    rawFile !== undefined ? rawMailStream(rawFile) : streamed === undefined ? composeMail(job, defaults) : composeMailStream(streamed, defaults);
  return {
    compose() {
      slot.composing ??= build().then(async (composed) => {
        const messageId = composed.messageId ?? (job.kind === 'raw' ? headerMessageId(job.message) : undefined);
        const allowed = composed.envelope.to.filter(
          (recipient) => !suppressed.has(recipient) && (only === undefined || only.has(recipientKey(recipient))),
        );
        const to = ledger === undefined ? allowed : await ledger.recipientsToSend(index, allowed, messageId);
        if (to.length < allowed.length) slot.undelivered = { pending: to, delivered: allowed.length - to.length };
        slot.mail = { envelope: { from: composed.envelope.from, to }, message: composed.message };
        return slot.mail;
      });
      return slot.composing;
    },
  };
}

/** QUIT, cut short (the socket closed) when `signal` says time is up. */
async function closePolitely(session: MailSession, signal: AbortSignal): Promise<void> {
  const cut = (): void => {
    session.close();
  };
  if (signal.aborted) {
    cut();
    return;
  }
  signal.addEventListener('abort', cut, { once: true });
  try {
    await session.quit();
  } catch {
    session.close();
  } finally {
    signal.removeEventListener('abort', cut);
  }
}
