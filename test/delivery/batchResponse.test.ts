/**
 * Building `{ batchItemFailures }` and the backoff: pure, apart from record handling.
 */
import { describe, expect, it } from 'vitest';
import { SYSTEMIC_BACKOFF, backoffSeconds } from '../../lib/delivery/backoff.js';
import { buildBatchResponse } from '../../lib/delivery/batchResponse.js';
import { fitAttributes } from '../../lib/delivery/QueueActions.js';

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

describe('fitAttributes', () => {
  const attributes = {
    FailurePhase: { DataType: 'String', StringValue: 'data' },
    FailureCode: { DataType: 'Number', StringValue: '552' },
    FailureMessage: { DataType: 'String', StringValue: 'message too big for this mailbox' },
    SourceMessageId: { DataType: 'String', StringValue: 'm-1' },
  };
  const size = (a: Record<string, { DataType?: string; StringValue?: string }>) =>
    Object.entries(a).reduce((sum, [name, v]) => sum + name.length + (v.DataType ?? '').length + (v.StringValue ?? '').length, 0);

  it('keeps every attribute when there is room', () => {
    expect(fitAttributes(attributes, 10_000)).toEqual(attributes);
  });

  it('cuts the server text first, then drops it, and keeps the rest in priority order', () => {
    const full = size(attributes);
    const cut = fitAttributes(attributes, full - 10);
    expect(cut['FailureMessage']?.StringValue).toBe('message too big for this m'.slice(0, 'message too big for this mailbox'.length - 10));
    expect(size(cut)).toBeLessThanOrEqual(full - 10);
    const none = fitAttributes(attributes, size(attributes) - 'FailureMessage'.length - 'String'.length - 20);
    expect(Object.keys(none)).toEqual(['FailurePhase', 'FailureCode', 'SourceMessageId']);
    expect(fitAttributes(attributes, 0)).toEqual({});
  });
});

describe('SYSTEMIC_BACKOFF', () => {
  it("stretches over hours so an outage does not use up a job's receives", () => {
    const ceilings = [1, 2, 3, 4, 5, 6].map((n) => backoffSeconds(n, { ...SYSTEMIC_BACKOFF, random: () => 0.999999 }));
    expect(ceilings).toEqual([180, 720, 2880, 11520, 43200, 43200]);
    expect(backoffSeconds(1, { ...SYSTEMIC_BACKOFF, random: () => 0 })).toBe(90);
  });
});
