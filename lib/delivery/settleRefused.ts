/**
 * Acting on a job that some recipients took while others were refused for now: the copies for the
 * recipients not yet delivered go back on the queue, or, when they cannot (too many re-enqueues,
 * too large for the queue, a failed send), to the dead-letter queue. The record itself is done
 * either way: retrying it would send the message again to everyone who has it. Only when no copy
 * can be kept anywhere does the record come back.
 * @module
 */
import { backoffSeconds } from './backoff.js';
import type { FailureReason, Outcome } from './outcome.js';
import type { DeadLetterPart, FailureKind } from './QueueActions.js';
import { requeueBody, requeueBodyBudget } from './requeueJob.js';
import type { JobCopy, PendingCopies, RequeueBody } from './requeueJob.js';
import { payloadPointerBody } from '../message/payloadPointer.js';
import { SQS_MAX_MESSAGE_BYTES } from '../message/queueBody.js';
import type { PayloadPointer } from '../message/payloadPointer.js';
import type { Envelope } from '../smtp/types.js';
import type { BatchSlot, Delivery, RecordResult } from './types.js';

type PartlyRefused = Extract<Outcome, { kind: 'partlyRefused' }>;

/**
 * Settles a `partlyRefused` record: `done` once every copy for the recipients refused for now is
 * re-enqueued (`requeued` counts them) or dead-lettered (DLQ attributes `JobForm`,
 * `PendingRecipients`, `DeliveredRecipients`); `retry` only when a copy could be sent nowhere.
 *
 * A DLQ copy holds only recipients not yet delivered; should no such copy be possible (the
 * recipients cannot be found in the job, or every copy exceeds 1 MiB), the record's own body goes
 * with `JobForm: original` and the number of recipients who have it already.
 *
 * Copies are built as their wave fills and dropped once sent, re-enqueues and DLQ sends alike (a
 * DLQ copy is built again from its number: the same body, the same FIFO deduplication id), so a
 * record holds at most one wave of bodies ({@link COPY_WAVE_BYTES}), not one body per blind copy.
 *
 * @param signal the invocation's deadline: an SQS call it cuts counts as failed
 */
export async function settleRefused(
  result: RecordResult,
  slot: BatchSlot,
  outcome: PartlyRefused,
  delivery: Pick<Delivery, 'actions' | 'options'>,
  signal?: AbortSignal,
): Promise<void> {
  result.placement = 'done';
  const prepared = slot.prepared;
  const recipients = outcome.refusedForNow.map((r) => r.recipient);
  if (recipients.length === 0 || !('job' in prepared)) return;
  const { record, jobId } = prepared;
  // A claim check's copy is the same pointer naming the recipients it is for (the job in S3 is not rewritten).
  const next =
    prepared.pointer === undefined
      ? requeueBody(record.body, prepared.job, inMemory(slot.mail), recipients, requeueBodyBudget(record.requeueCount + 1))
      : pointerCopy(prepared.pointer, recipients);
  const maxRequeues = delivery.options.maxRequeues ?? 5;
  const withSignal = signal === undefined ? {} : { signal };

  // Recipients the ledger had as delivered on an earlier receive have it too.
  const delivered = outcome.accepted + (slot.undelivered?.delivered ?? 0);
  let left: Left | undefined;
  let why: string;
  if (next.ok && record.requeueCount < maxRequeues) {
    // The copies go out together (many blind copies are one copy each): one SQS round trip, not one per copy.
    const delay = backoffSeconds(record.requeueCount + 1, delivery.options.backoff);
    const copies = all(next);
    const sent = await inWaves(copies, (copy, number) => delivery.actions.requeue(record, copy.body, delay, { ...withSignal, copy: number }));
    if (sent.failed.size === 0) {
      result.requeued = recipients.length;
      return;
    }
    if (sent.recipientsSent > 0) result.requeued = sent.recipientsSent;
    left = { ...copies, numbers: [...sent.failed.keys()] };
    why = `recipients refused for now could not be re-enqueued: ${describe(sent.failed.values().next().value)}`;
  } else if (next.ok) {
    left = all(next);
    why = `recipients still refused for now after ${record.requeueCount} re-enqueues`;
  } else {
    left = next.deadLetter === undefined ? undefined : all(next.deadLetter);
    why = `recipients refused for now could not be re-enqueued: ${next.problem}`;
  }

  if (left === undefined)
    result.problem = `no copy holding only the recipients not yet delivered could be made; the whole job is in the DLQ (${delivered} recipients have it already)`;
  const toDeadLetter: Left = left ?? { form: 'original', numbers: [0], copy: () => ({ body: record.body, recipients: recipients.length }) };
  const dead = await inWaves(toDeadLetter, (copy, number) =>
    delivery.actions.deadLetter(
      record,
      { phase: 'rcpt', message: why },
      {
        ...(jobId === undefined ? {} : { jobId }),
        body: copy.body,
        part: { form: toDeadLetter.form, pending: copy.recipients, delivered, copy: number },
        ...('job' in slot.prepared && slot.prepared.job.tags !== undefined ? { tags: slot.prepared.job.tags } : {}),
        ...withSignal,
      },
    ),
  );
  if (dead.failed.size > 0) {
    // Kept nowhere: the record comes back (and with it the message, to everyone who has it).
    result.placement = 'retry';
    result.problem = `dead-letter send failed, the whole job is retried (possible duplicates for the recipients who took it): ${describe(dead.failed.values().next().value)}`;
  }
}

/**
 * Dead-letters a record some of whose recipients the delivery ledger had as delivered on an earlier
 * receive (`slot.undelivered`), failed for good now or on its last receive: the DLQ copies name only
 * the recipients this receive sent to (DLQ attributes `JobForm`, `PendingRecipients`,
 * `DeliveredRecipients`), as {@link settleRefused} does; a claim check's copy is its pointer naming
 * them. Should no such copy be possible, the record's own body goes (`JobForm: original`, `problem` says so).
 * `deadLettered`, or `retry` when a send failed.
 *
 * @param signal the invocation's deadline: an SQS call it cuts counts as failed
 */
export async function deadLetterUndelivered(
  result: RecordResult,
  slot: BatchSlot & { undelivered: NonNullable<BatchSlot['undelivered']> },
  reason: FailureReason,
  delivery: Pick<Delivery, 'actions'>,
  options: { signal?: AbortSignal | undefined; kind?: FailureKind; attempts?: number },
): Promise<void> {
  const { prepared, undelivered } = slot;
  const { record, jobId } = prepared;
  const pending = [...undelivered.pending];
  const next: RequeueBody | undefined =
    !('job' in prepared) || pending.length === 0
      ? undefined
      : prepared.pointer === undefined
        ? requeueBody(record.body, prepared.job, undefined, pending, SQS_MAX_MESSAGE_BYTES)
        : pointerCopy(prepared.pointer, pending);
  const copies = next === undefined ? undefined : next.ok ? all(next) : next.deadLetter === undefined ? undefined : all(next.deadLetter);
  if (copies === undefined)
    result.problem = `no copy holding only the recipients not yet delivered could be made; the whole job is in the DLQ (${undelivered.delivered} recipients have it already)`;
  const toDeadLetter: Left = copies ?? { form: 'original', numbers: [0], copy: () => ({ body: record.body, recipients: pending.length }) };
  const tags = 'job' in prepared ? prepared.job.tags : undefined;
  const dead = await inWaves(toDeadLetter, (copy, number) =>
    delivery.actions.deadLetter(record, reason, {
      ...(jobId === undefined ? {} : { jobId }),
      body: copy.body,
      part: { form: toDeadLetter.form, pending: copy.recipients, delivered: undelivered.delivered, copy: number },
      ...(tags === undefined ? {} : { tags }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      ...(options.kind === undefined ? {} : { kind: options.kind }),
      ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
    }),
  );
  result.placement = dead.failed.size === 0 ? 'deadLettered' : 'retry';
  if (dead.failed.size > 0) result.problem = `dead-letter send failed: ${describe(dead.failed.values().next().value)}`;
}

/** Every copy, by number: each keeps its number among the record's copies (FIFO deduplication ids, DLQ attributes), and is built again from it (the same body). */
function all(copies: PendingCopies): Left {
  return { form: copies.form, numbers: Array.from({ length: copies.count }, (_, n) => n), copy: copies.copy };
}

/** Copies still to be sent somewhere: their numbers, and how to build each (again). */
interface Left {
  form: DeadLetterPart['form'];
  numbers: readonly number[];
  copy: (number: number) => JobCopy;
}

/** Octets of copies sent at once: many small copies go in one round, large ones a few at a time (each request holds its body again). */
const COPY_WAVE_BYTES = 4 * 1024 * 1024;

/** How the sends of a set of copies went: the copies that failed, by number, with why; the recipients of those that went. */
interface WaveResults {
  failed: Map<number, unknown>;
  recipientsSent: number;
}

/**
 * Sends the copies, as many at once as fit in {@link COPY_WAVE_BYTES} (at least one), each built
 * as its wave fills and dropped once sent: at most one wave of bodies (and the next copy) is alive.
 */
async function inWaves(copies: Left, send: (copy: JobCopy, number: number) => Promise<void>): Promise<WaveResults> {
  const results: WaveResults = { failed: new Map(), recipientsSent: 0 };
  const flush = async (wave: readonly { copy: JobCopy; number: number }[]): Promise<void> => {
    const settled = await Promise.allSettled(wave.map(({ copy, number }) => send(copy, number)));
    settled.forEach((outcome, index) => {
      const { copy, number } = wave[index] ?? { copy: { body: '', recipients: 0 }, number: 0 };
      if (outcome.status === 'rejected') results.failed.set(number, outcome.reason);
      else results.recipientsSent += copy.recipients;
    });
  };
  let wave: { copy: JobCopy; number: number }[] = [];
  let bytes = 0;
  for (const number of copies.numbers) {
    const copy = copies.copy(number);
    const size = Buffer.byteLength(copy.body);
    if (wave.length > 0 && bytes + size > COPY_WAVE_BYTES) {
      await flush(wave);
      wave = [];
      bytes = 0;
    }
    wave.push({ copy, number });
    bytes += size;
  }
  if (wave.length > 0) await flush(wave);
  return results;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The message as sent, when it was in memory (a streamed one cannot be copied into a raw job). */
function inMemory(mail: BatchSlot['mail']): { envelope: Envelope; message: Uint8Array } | undefined {
  return mail !== undefined && mail.message instanceof Uint8Array ? { envelope: mail.envelope, message: mail.message } : undefined;
}

/**
 * The copy of a claim check for some of its recipients: the pointer with `recipients` (see
 * lib/message/payloadPointer.ts), so the object stays until that copy is done; the same message is
 * composed for them, only the envelope narrowed (as the `raw` form of {@link requeueBody}).
 */
function pointerCopy(pointer: PayloadPointer, recipients: readonly string[]): RequeueBody {
  const body = payloadPointerBody({ bucket: pointer.bucket, key: pointer.key, recipients: [...recipients] });
  return { ok: true, form: 'narrowed', count: 1, largestBytes: Buffer.byteLength(body), copy: () => ({ body, recipients: recipients.length }) };
}
