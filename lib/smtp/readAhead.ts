/**
 * Reading a streamed message's next batch while the socket still takes the last one.
 * @module
 */

/**
 * The values of `source`, each next one pulled as soon as the last is handed out: a streamed
 * message is read and encoded while the socket takes the batch before it (a write waits for the
 * socket to drain), not after it. Measured on a 10 MB message to Postfix: the content took 370 ms
 * written batch after batch, about half with the next batch read meanwhile. Holds at most one
 * value more than the consumer. Stopping early returns at once and ends `source` once its pending
 * pull settles; that pull's failure is then dropped (the consumer already stopped for its own reason).
 *
 * @example
 * for await (const batch of readAhead(content.batches(BDAT_CHUNK_BYTES, lost))) await connection.write(batch.parts, [], 'data', 1);
 */
export async function* readAhead<T>(source: AsyncGenerator<T, void, undefined>): AsyncGenerator<T, void, undefined> {
  let next = source.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done === true) return;
      next = source.next();
      next.catch(() => undefined);
      yield result.value;
    }
  } finally {
    // Not awaited: a pull still waiting for the stream (a stalled S3 read) must not hold up a consumer that stopped.
    source.return(undefined).catch(() => undefined);
  }
}
