/**
 * What the offloaded job's JSON reader (spoolJobJson) shares with the readers that take one of its
 * strings into a file: the interface they implement, what they record, how they fail.
 * @module
 */
import { PayloadError } from './PayloadStore.js';

/** `"` */
export const QUOTE = 0x22;
/** `\` */
export const BACKSLASH = 0x5c;

/** An attachment's content, decoded into a file. */
export interface SpooledContent {
  /** Index of the attachment in the job's `attachments`. */
  index: number;
  path: string;
  /** Decoded octets. */
  size: number;
  /** SHA-256 of the decoded octets, hex (set when the content has been read to its end). */
  sha256?: string;
}

/** A JSON string read into a file as its octets arrive (its value is never held whole). */
export interface StringSpool {
  /**
   * Reads the string's octets from `start` (just after its opening quote, or where the last chunk
   * ended) up to its closing quote, or to the end of the chunk.
   * @returns where reading stopped (after the closing quote), and whether the string ended there
   * @throws {PayloadError} (permanent) when the string is not what may stand there
   */
  take(bytes: Buffer, start: number): Promise<{ at: number; closed: boolean }>;
  /** Once the string ended: closes the file and gives the value that takes the string's place in the job. */
  finish(): Promise<unknown>;
  /** Closes the file (the job's reading failed); never throws. */
  close(): Promise<void>;
}

/** @throws {PayloadError} (permanent): the offloaded job is not valid, for `message`. */
export function failJson(message: string): never {
  throw new PayloadError(`the offloaded job is not valid: ${message}`, { permanent: true });
}
