/**
 * The answer to SQS: `{ batchItemFailures }`, built from the records' results and kept apart from
 * handling them, so that its two rules are checked in one place: only ids of this batch, each at
 * most once.
 * @module
 */
import type { SQSBatchResponse } from 'aws-lambda';

/**
 * Lists the records that must come back (placement `'retry'`), in event order.
 *
 * An id appears at most once even if the event repeats it, and only ids present in `records` are
 * ever listed; a record without a result (which the delivery never leaves) is listed, so nothing
 * is lost.
 *
 * @example
 * buildBatchResponse([{ messageId: 'a' }, { messageId: 'b' }], [{ messageId: 'a', placement: 'done' }, { messageId: 'b', placement: 'retry' }]);
 * // { batchItemFailures: [{ itemIdentifier: 'b' }] }
 */
export function buildBatchResponse(
  records: readonly { messageId: string }[],
  results: readonly ({ messageId: string; placement: string } | undefined)[],
): SQSBatchResponse {
  const retry = new Set<string>();
  const settled = new Set<string>();
  for (const result of results) {
    if (result === undefined) continue;
    if (result.placement === 'retry') retry.add(result.messageId);
    else settled.add(result.messageId);
  }
  const listed = new Set<string>();
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const { messageId } of records) {
    if (listed.has(messageId)) continue;
    if (retry.has(messageId) || !settled.has(messageId)) {
      listed.add(messageId);
      batchItemFailures.push({ itemIdentifier: messageId });
    }
  }
  return { batchItemFailures };
}
