/**
 * A batch's records prepared with their payloads: pointer bodies replaced by the job read from S3,
 * attachments (spooled or named by reference) given their sources. A missing or unreadable object
 * makes its record permanent (phase `payload`, to the DLQ with its pointer body), S3 failing for now
 * makes it come back; neither touches the other records.
 * @module
 */
import { contentJobId } from '../../message/contentJobId.js';
import type { MailJob } from '../../message/types.js';
import { parsePayloadPointer } from '../../message/payloadPointer.js';
import type { PayloadPointer } from '../../message/payloadPointer.js';
import type { MailRecord, PreparedRecord } from '../mailRecord.js';
import { prepareRecord } from '../mailRecord.js';
import type { PayloadReader } from './PayloadReader.js';
import { payloadReason } from './PayloadReader.js';
import { PayloadError } from './PayloadStore.js';
import { planSpool } from './spoolBudget.js';
import type { SpoolCandidate } from './spoolBudget.js';
import type { SpooledContent } from './spoolJobJson.js';

/** Offloaded jobs read at once (each a stream into a file; S3 reads run side by side). */
const LOAD_CONCURRENCY = 3;
/**
 * Offloaded jobs over this size are read one at a time (beside smaller ones): each large read
 * holds its socket's, decoder's and file writes' buffers, and three at once (a 40 MB and a 10 MB
 * job of one batch) raised the function's peak RSS by up to 9 MiB (126.6 against 117-118 MiB).
 */
export const LOAD_ALONE_BYTES = 1024 * 1024;

/** How the batch shares its spool budget (see {@link planSpool}). */
export interface PayloadBatchOptions {
  fifo?: boolean;
  /** `MAIL_MAX_RECEIVES`: on a standard queue, jobs on their last receive are loaded first. */
  maxReceives?: number;
}

/**
 * Prepares every record: {@link prepareRecord}, with pointers read first when there is a reader.
 * Without a reader (no S3 configured in tests or old deployments) a pointer body is an invalid job,
 * as before. Never throws.
 *
 * Before any pointer job is read, each one's size is known (its `ExtendedPayloadSize` attribute, else
 * a HEAD of the object): one over `MAIL_MAX_MESSAGE_BYTES` is permanent at once, and the others are
 * loaded only while the batch's sizes stay within `MAIL_SPOOL_BYTES` ({@link planSpool}); a job
 * left out is not attempted (`spoolBudget`) and comes back.
 *
 * An offloaded job without an `id` gets one from its content, the attachments by their SHA-256
 * (their bytes are in files, not in the job), so that a double publish of it is still caught.
 */
export async function preparePayloads(
  records: readonly MailRecord[],
  reader: PayloadReader | undefined,
  signal?: AbortSignal,
  batch: PayloadBatchOptions = {},
): Promise<PreparedRecord[]> {
  if (reader === undefined) return records.map((record) => prepareRecord(record));
  const pointers = records.map((record) => parsePayloadPointer(record.body));
  const prepared: Array<PreparedRecord | undefined> = records.map(() => undefined);
  const sizes = new Map<number, number>();
  await inLanes(
    records.map((record, index) => async (): Promise<void> => {
      const pointer = pointers[index];
      if (pointer === undefined) return;
      try {
        sizes.set(index, await reader.sizeOf(pointer, record.payloadSize, signal));
      } catch (error) {
        prepared[index] = unreadable(record, pointer, error);
      }
    }),
  );
  const candidates: SpoolCandidate[] = [...sizes].map(([index, size]) => {
    const record = records[index] as MailRecord;
    return { index, size, receiveCount: record.receiveCount, ...(record.messageGroupId === undefined ? {} : { group: record.messageGroupId }) };
  });
  const plan = planSpool(candidates, {
    budgetBytes: reader.spoolBytes,
    fifo: batch.fifo ?? false,
    ...(batch.maxReceives === undefined ? {} : { maxReceives: batch.maxReceives }),
  });
  for (const index of plan.deferred) {
    const record = records[index] as MailRecord;
    const pointer = pointers[index];
    prepared[index] = {
      record,
      invalid: {
        phase: 'payload',
        message: `not read in this invocation: ${reader.spoolBytes} octets of spool (MAIL_SPOOL_BYTES) were taken by other jobs`,
      },
      ...(pointer === undefined ? {} : { pointer }),
      notAttempted: 'spoolBudget',
    };
  }
  const largeReads = oneAtATime();
  await inLanes(
    records.map((record, index) => async (): Promise<void> => {
      if (prepared[index] !== undefined) return;
      const load = (): Promise<PreparedRecord> => prepareOne(record, pointers[index], reader, signal);
      prepared[index] = (sizes.get(index) ?? 0) > LOAD_ALONE_BYTES ? await largeReads(load) : await load();
    }),
  );
  return prepared.map((entry, index) => entry ?? prepareRecord(records[index] as MailRecord));
}

/** Runs the tasks, {@link LOAD_CONCURRENCY} at a time. */
async function inLanes(work: (() => Promise<void>)[]): Promise<void> {
  const lanes = Array.from({ length: Math.min(LOAD_CONCURRENCY, work.length) }, async () => {
    for (let task = work.shift(); task !== undefined; task = work.shift()) await task();
  });
  await Promise.all(lanes);
}

/** Runs the tasks given to it one after the other, in the order given, whichever lane gives them. */
function oneAtATime(): <T>(task: () => Promise<T>) => Promise<T> {
  let turn: Promise<unknown> = Promise.resolve();
  return (task) => {
    const run = turn.then(task);
    turn = run.catch(() => undefined);
    return run;
  };
}

/** A record whose job could not be read: permanent, or transient when S3 failed for now. */
function unreadable(record: MailRecord, pointer: PayloadPointer | undefined, error: unknown): PreparedRecord {
  const transient = error instanceof PayloadError ? !error.permanent : true;
  return {
    record,
    invalid: payloadReason(error),
    ...(pointer === undefined ? {} : { pointer }),
    ...(transient ? { transient: true as const } : {}),
  };
}

async function prepareOne(
  record: MailRecord,
  pointer: PayloadPointer | undefined,
  reader: PayloadReader,
  signal: AbortSignal | undefined,
): Promise<PreparedRecord> {
  let spooled: SpooledContent[] = [];
  let prepared: PreparedRecord;
  try {
    if (pointer === undefined) prepared = prepareRecord(record);
    else {
      const loaded = await reader.load(pointer, signal);
      spooled = loaded.spooled;
      prepared = { ...prepareRecord(record, loaded), pointer };
    }
    if ('job' in prepared) {
      const { job } = prepared;
      if (pointer !== undefined && job.id === undefined) {
        job.id = offloadedContentId(job, spooled);
        prepared.jobId ??= job.id;
      }
      await reader.attachSources(job, spooled, signal);
    }
    return prepared;
  } catch (error) {
    return unreadable(record, pointer, error);
  }
}

/**
 * The content-derived id of an offloaded job: what is in files (attachments' content, a raw
 * message) counts by its SHA-256.
 */
function offloadedContentId(job: MailJob, spooled: readonly SpooledContent[]): string {
  if (job.kind === 'raw') {
    const { source, ...mail } = job;
    return contentJobId(source === undefined ? mail : { ...mail, message: `sha256:${source.sha256}` });
  }
  const digests = new Map(spooled.map((entry) => [entry.index, entry.sha256]));
  return contentJobId({
    ...job,
    attachments: job.attachments.map((a, n) => (digests.has(n) ? { ...a, content: new TextEncoder().encode(`sha256:${digests.get(n) ?? ''}`) } : a)),
  });
}
