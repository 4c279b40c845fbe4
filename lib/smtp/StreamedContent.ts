/**
 * The content of a message given as a {@link MessageStream}: pulled chunk by chunk, counted
 * against its declared size, encoded for the wire by a {@link ContentEncoder}, and handed out in
 * batches of bounded size (one write with DATA, one chunk with BDAT). Never more than a batch and
 * one chunk of the stream are held.
 * @module
 */
import { ContentEncoder } from './ContentEncoder.js';
import { ProtocolError, type SmtpError } from './errors.js';
import type { MessageStream } from './types.js';

/** Wire bytes of a streamed message for one write (DATA) or one `BDAT` chunk. */
export interface ContentBatch {
  parts: Uint8Array[];
  /** Octets in `parts`. */
  bytes: number;
  /** The last batch: it ends the message (ends with CRLF); the stream held exactly its declared size. */
  last: boolean;
}

/** A streamed message's content on its way to the wire. */
export class StreamedContent {
  /** The declared size (`SIZE=`). */
  readonly size: number;
  /** Whether the transaction declares `BODY=8BITMIME`; without it, an 8-bit octet fails the send. */
  readonly eightBit: boolean;
  readonly #stream: MessageStream;
  readonly #encoder: ContentEncoder;
  #iterator: AsyncIterator<Uint8Array> | undefined;
  #first: IteratorResult<Uint8Array> | undefined;
  #read = 0;
  #wire = 0;
  #done = false;
  /** Set once the connection is lost: no more waiting for the stream. */
  #lost: SmtpError | undefined;
  /** Stops the current wait for the stream (settles it with the connection's error): the wait's own `resolve`. */
  #stopWaiting: ((lost: { lost: SmtpError }) => void) | undefined;

  constructor(stream: MessageStream, options: { dotStuff: boolean; eightBit: boolean }) {
    this.#stream = stream;
    this.size = stream.size;
    this.eightBit = options.eightBit;
    this.#encoder = new ContentEncoder({ dotStuff: options.dotStuff });
  }

  /** Octets handed out for the wire so far (CRLF line ends, dot-stuffed for DATA). */
  get wireOctets(): number {
    return this.#wire;
  }

  /**
   * Calls `chunks()` and waits for the first chunk, so that a stream that fails at once fails
   * its send before MAIL, with the connection still usable. Does nothing the second time.
   * @param lost settles with the connection's error once the connection fails: waiting stops then.
   * @throws {ProtocolError} (transient, `cause`: what the stream threw) when the stream fails;
   *   the connection's error when it fails first.
   */
  async open(lost: Promise<SmtpError>): Promise<void> {
    if (this.#iterator || this.#done) return;
    // One reaction per message (not per chunk, as racing each wait against `lost` would leave).
    void lost.then((error) => {
      this.#lost ??= error;
      this.#stopWaiting?.({ lost: error });
    });
    try {
      this.#iterator = this.#stream.chunks()[Symbol.asyncIterator]();
    } catch (error) {
      this.#done = true;
      throw streamFailed(error);
    }
    this.#first = await this.#next(this.#iterator);
  }

  /**
   * The wire bytes in batches of at least `minBytes` (a larger chunk of the stream goes whole),
   * the last batch flagged `last`, once the stream ended with exactly its declared size. Stopping
   * the iteration early ends the stream (`return()` on its iterator).
   * @throws {ProtocolError} (phase 'data'): the stream threw (transient, with `cause`), yielded more
   *   or fewer octets than declared, or something not bytes, a line over 998 octets, an 8-bit octet
   *   without `BODY=8BITMIME` (permanent); the connection's error when `lost` settles first.
   */
  async *batches(minBytes: number, lost: Promise<SmtpError>): AsyncGenerator<ContentBatch, void, undefined> {
    await this.open(lost);
    const iterator = this.#iterator;
    if (!iterator) throw new ProtocolError('The message stream was already used', { phase: 'data', transient: false });
    let parts: Uint8Array[] = [];
    let bytes = 0;
    try {
      for (;;) {
        const result = this.#first ?? (await this.#next(iterator));
        this.#first = undefined;
        if (result.done) break;
        const encoded = this.#encode(result.value);
        if (encoded.byteLength > 0) {
          parts.push(encoded);
          bytes += encoded.byteLength;
        }
        if (bytes >= minBytes) {
          this.#wire += bytes;
          yield { parts, bytes, last: false };
          parts = [];
          bytes = 0;
        }
      }
      this.#done = true;
      if (this.#read !== this.size) throw sizeMismatch(`The message stream ended after ${this.#read} octets, not the ${this.size} it declared`);
      const end = this.#encoder.end();
      if (end.byteLength > 0) parts.push(end);
      bytes += end.byteLength;
      this.#wire += bytes;
      yield { parts, bytes, last: true };
    } finally {
      this.close();
    }
  }

  /** Ends the stream if it is still open (its iterator's `return()`); errors from it are ignored. */
  close(): void {
    const iterator = this.#iterator;
    this.#iterator = undefined;
    this.#first = undefined;
    if (this.#done) return;
    this.#done = true;
    try {
      void Promise.resolve(iterator?.return?.()).catch(() => undefined);
    } catch {
      // The stream's own cleanup failed: nothing more to do with it.
    }
  }

  async #next(iterator: AsyncIterator<Uint8Array>): Promise<IteratorResult<Uint8Array>> {
    if (this.#lost) throw this.#lost;
    let result: IteratorResult<Uint8Array> | { lost: SmtpError };
    try {
      result = await new Promise<IteratorResult<Uint8Array> | { lost: SmtpError }>((resolve, reject) => {
        // `resolve` itself, not an arrow around it: an arrow made per chunk and kept on this long-lived object
        // made V8 run full collections every few MB (a composed 40 MB message in 256 KiB batches: 4 to 6, not 1).
        this.#stopWaiting = resolve;
        iterator.next().then(resolve, reject);
      });
    } catch (error) {
      this.#done = true;
      throw streamFailed(error);
    } finally {
      this.#stopWaiting = undefined;
    }
    if ('lost' in result) throw result.lost;
    return result;
  }

  #encode(chunk: unknown): Uint8Array {
    if (!(chunk instanceof Uint8Array)) {
      throw new ProtocolError(`The message stream yielded a ${typeof chunk}, not bytes (a Uint8Array or Buffer)`, {
        phase: 'data',
        transient: false,
      });
    }
    this.#read += chunk.byteLength;
    if (this.#read > this.size) throw sizeMismatch(`The message stream yielded more than the ${this.size} octets it declared`);
    const encoded = this.#encoder.push(chunk);
    if (this.#encoder.eightBit && !this.eightBit) {
      throw new ProtocolError(
        'The message stream holds 8-bit data, sent without BODY=8BITMIME (declared eightBit: false, or the server lacks 8BITMIME)',
        {
          phase: 'data',
          transient: false,
        },
      );
    }
    return encoded;
  }
}

function streamFailed(error: unknown): ProtocolError {
  return new ProtocolError(`The message stream failed: ${error instanceof Error ? error.message : String(error)}`, {
    phase: 'data',
    transient: true,
    cause: error,
  });
}

function sizeMismatch(message: string): ProtocolError {
  return new ProtocolError(message, { phase: 'data', transient: false });
}
