/**
 * A raw job's message that was checked as it streamed into a file (a raw job offloaded to S3, too
 * large to hold as a string), and the message stream that sends it.
 * @module
 */
import type { Envelope, MessageStream } from '../smtp/types.js';
import type { RawMessageScan } from './RawMessageScanner.js';
import type { RawMailJob, RawMessageSource } from './types.js';

/**
 * Stands in a job's input for `raw.message` when the message was read into a file: the schema
 * takes it in place of the string and reports its problems (found by `RawMessageScanner`, the
 * rules of `checkRawMessage`) as it would report the string's. Only the delivery's reader makes
 * one: JSON cannot, so a producer cannot. It has no enumerable fields (the job's shape check sees
 * an empty object).
 */
export class StreamedRawMessage {
  readonly #scan: RawMessageScan;
  readonly #source: Omit<RawMessageSource, 'size' | 'eightBit'>;

  constructor(scan: RawMessageScan, source: Omit<RawMessageSource, 'size' | 'eightBit'>) {
    this.#scan = scan;
    this.#source = source;
  }

  /** The problems found, or the header section and the file as the job's `source`. */
  get checked(): { ok: true; header: string; source: RawMessageSource } | { ok: false; problems: string[] } {
    const scan = this.#scan;
    if (!scan.ok) return { ok: false, problems: scan.problems };
    const { sha256, open } = this.#source;
    return { ok: true, header: scan.header, source: { size: scan.size, eightBit: scan.eightBit, sha256, open } };
  }
}

/** A raw job whose message is read from its source as it is sent. */
export type StreamedRawMailJob = RawMailJob & { source: RawMessageSource };

/**
 * The envelope and the {@link MessageStream} of a raw job read from a file: its size (CRLF line
 * ends, the final CRLF included) and whether it is 8-bit are known from the checks, so `SIZE=` and
 * `BODY=8BITMIME` are what they are for the same message in memory.
 * @example
 * await client.send(...Object.values(rawMailStream(job)) as [Envelope, MessageStream]);
 */
export function rawMailStream(job: StreamedRawMailJob): { envelope: Envelope; message: MessageStream } {
  const { source } = job;
  return {
    envelope: { from: job.envelope.from, to: [...job.envelope.to] },
    message: { size: source.size, eightBit: source.eightBit, chunks: () => source.open() },
  };
}
