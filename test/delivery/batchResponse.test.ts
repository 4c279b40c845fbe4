/**
 * Building `{ batchItemFailures }` and the backoff: pure, apart from record handling.
 */
import { describe, expect, it } from 'vitest';
import { backoffSeconds } from '../../lib/delivery/backoff.js';
import { buildBatchResponse } from '../../lib/delivery/batchResponse.js';

describe('buildBatchResponse', () => {
  it('lists the records to retry in event order, nothing else', () => {
    const records = [{ messageId: 'a' }, { messageId: 'b' }, { messageId: 'c' }];
    const results = [
      { messageId: 'c', placement: 'retry' },
      { messageId: 'a', placement: 'done' },
      { messageId: 'b', placement: 'deadLettered' },
    ];
    expect(buildBatchResponse(records, results)).toEqual({ batchItemFailures: [{ itemIdentifier: 'c' }] });
  });

  it('never names an id that is not in the batch, and names a repeated id once', () => {
    const records = [{ messageId: 'a' }, { messageId: 'a' }, { messageId: 'b' }];
    const results = [
      { messageId: 'a', placement: 'retry' },
      { messageId: 'a', placement: 'done' },
      { messageId: 'b', placement: 'done' },
      { messageId: 'stranger', placement: 'retry' },
    ];
    expect(buildBatchResponse(records, results)).toEqual({ batchItemFailures: [{ itemIdentifier: 'a' }] });
  });

  it('lists a record without a result (nothing is lost)', () => {
    expect(buildBatchResponse([{ messageId: 'a' }, { messageId: 'b' }], [{ messageId: 'a', placement: 'done' }, undefined])).toEqual({
      batchItemFailures: [{ itemIdentifier: 'b' }],
    });
  });
});

describe('backoffSeconds', () => {
  it('doubles with every receive, between half and all of base · 2^(n-1)', () => {
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, { random: () => 0 }))).toEqual([15, 30, 60, 120]);
    expect([1, 2, 3, 4].map((n) => backoffSeconds(n, { random: () => 0.999999 }))).toEqual([30, 60, 120, 240]);
  });

  it('is capped, and treats odd receive counts as the first', () => {
    expect(backoffSeconds(30, { random: () => 0.999999 })).toBe(900);
    expect(backoffSeconds(30, { random: () => 0 })).toBe(450);
    expect(backoffSeconds(5, { baseSeconds: 10, capSeconds: 60, random: () => 0.999999 })).toBe(60);
    expect(backoffSeconds(0, { random: () => 0 })).toBe(15);
    expect(backoffSeconds(Number.NaN, { random: () => 0 })).toBe(15);
  });

  it('spreads records that failed together', () => {
    const values = new Set([0, 0.25, 0.5, 0.75].map((r) => backoffSeconds(3, { random: () => r })));
    expect(values.size).toBe(4);
  });
});
