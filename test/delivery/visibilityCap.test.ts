/**
 * The cap on a visibility change: SQS refuses a ChangeMessageVisibility that would keep a message
 * in flight more than 12 hours (43,200 s) since the receive that handed it out, so the function
 * asks for at most 43,200 s less the time the record may already have been in flight: the
 * batching window, a margin, and the time since the invocation started.
 */
import { describe, expect, it } from 'vitest';
import {
  IN_FLIGHT_MARGIN_SECONDS,
  MAX_BATCHING_WINDOW_SECONDS,
  MAX_IN_FLIGHT_SECONDS,
  SYSTEMIC_BACKOFF,
  backoffSeconds,
  visibilityCapSeconds,
} from '../../lib/delivery/backoff.js';

describe('visibilityCapSeconds', () => {
  it("keeps SQS's 12 hours, the event source's longest batching window and a one-minute margin", () => {
    expect([MAX_IN_FLIGHT_SECONDS, MAX_BATCHING_WINDOW_SECONDS, IN_FLIGHT_MARGIN_SECONDS]).toEqual([43_200, 300, 60]);
  });

  it('at the start of the invocation, with the batching window unknown: 43,200 - 300 - 60 = 42,840 s', () => {
    expect(visibilityCapSeconds(0)).toBe(42_840);
  });

  it('counts every started second of the invocation', () => {
    expect(visibilityCapSeconds(1)).toBe(42_839);
    expect(visibilityCapSeconds(999)).toBe(42_839);
    expect(visibilityCapSeconds(1_000)).toBe(42_839);
    expect(visibilityCapSeconds(1_001)).toBe(42_838);
    expect(visibilityCapSeconds(61_500)).toBe(42_778);
  });

  it('takes the batching window when it is known (none on a FIFO queue), and the margin', () => {
    expect(visibilityCapSeconds(61_500, { batchingWindowSeconds: 5 })).toBe(43_200 - 5 - 60 - 62);
    expect(visibilityCapSeconds(900_000, { batchingWindowSeconds: 0 })).toBe(43_200 - 60 - 900);
    expect(visibilityCapSeconds(0, { batchingWindowSeconds: 0, marginSeconds: 0 })).toBe(43_200);
  });

  it('is never negative, and a clock that makes no sense counts as no time', () => {
    expect(visibilityCapSeconds(43_200_000)).toBe(0);
    expect(visibilityCapSeconds(-5_000)).toBe(42_840);
    expect(visibilityCapSeconds(Number.NaN)).toBe(42_840);
  });

  it("is below what the systemic backoff asks for from the fifth receive on (its cap is SQS's 43,200 s)", () => {
    const longest = backoffSeconds(5, { ...SYSTEMIC_BACKOFF, random: () => 0.999_999 });
    expect(longest).toBe(43_200);
    expect(Math.min(longest, visibilityCapSeconds(2_000))).toBe(42_838);
  });
});
