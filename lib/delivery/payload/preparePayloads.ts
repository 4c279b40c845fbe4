/**
 * A batch's records prepared with their payloads: pointer bodies replaced by the job read from S3,
 * attachments (spooled or named by reference) given their sources. A missing or unreadable object
 * makes its record permanent (phase `payload`, to the DLQ with its pointer body), S3 failing for now
 * makes it come back; neither touches the other records.
 * @module
 */
import { contentJobId } from '../../message/contentJobId.js';
import { parsePayloadPointer } from '../../message/payloadPointer.js';
import type { MailRecord, PreparedRecord } from '../mailRecord.js';
import { prepareRecord } from '../mailRecord.js';
import type { PayloadReader } from './PayloadReader.js';
import { payloadReason } from './PayloadReader.js';
import { PayloadError } from './PayloadStore.js';
import type { SpooledContent } from './spoolJobJson.js';

/** Offloaded jobs read at once (each a stream into a file; S3 reads run side by side). */
const LOAD_CONCURRENCY = 3;

/**
 * Prepares every record: {@link prepareRecord}, with pointers read first when there is a reader.
 * Without a reader (no S3 configured in tests or old deployments) a pointer body is an invalid job,
 * as before. Never throws.
 *
 * An offloaded job without an `id` gets one from its content, the attachments by their SHA-256
 * (their bytes are in files, not in the job), so that a double publish of it is still caught.
 */
export async function preparePayloads(
  records: readonly MailRecord[],
  reader: PayloadReader | undefined,
  signal?: AbortSignal,
): Promise<PreparedRecord[]> {
  const prepared: Array<PreparedRecord | undefined> = records.map(() => undefined);
  const work = records.map((record, index) => async (): Promise<void> => {
    prepared[index] = await prepareOne(record, reader, signal);
  });
  const lanes = Array.from({ length: Math.min(LOAD_CONCURRENCY, work.length) }, async () => {
    for (let task = work.shift(); task !== undefined; task = work.shift()) await task();
  });
  await Promise.all(lanes);
  return prepared.map((entry, index) => entry ?? prepareRecord(records[index] as MailRecord));
}

async function prepareOne(record: MailRecord, reader: PayloadReader | undefined, signal: AbortSignal | undefined): Promise<PreparedRecord> {
  const pointer = reader === undefined ? undefined : parsePayloadPointer(record.body);
  if (reader === undefined) return prepareRecord(record);
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
      if (pointer !== undefined && job.id === undefined && job.kind === 'composed') {
        const digests = new Map(spooled.map((entry) => [entry.index, entry.sha256]));
        job.id = contentJobId({
          ...job,
          attachments: job.attachments.map((a, n) =>
            digests.has(n) ? { ...a, content: new TextEncoder().encode(`sha256:${digests.get(n) ?? ''}`) } : a,
          ),
        });
        prepared.jobId ??= job.id;
      }
      await reader.attachSources(job, spooled, signal);
    }
    return prepared;
  } catch (error) {
    const transient = error instanceof PayloadError ? !error.permanent : true;
    return {
      record,
      invalid: payloadReason(error),
      ...(pointer === undefined ? {} : { pointer }),
      ...(transient ? { transient: true as const } : {}),
    };
  }
}
