import { describe, expect, it } from 'vitest';
import { STREAM_WINDOW_BYTES, streamWindow } from '../../lib/delivery/deliverBatch.js';
import type { BatchSlot } from '../../lib/delivery/types.js';

/** A slot whose record body has `bytes` characters; `valid: false` makes it an invalid job. */
function slot(bytes: number, valid = true): BatchSlot {
  const record = { body: 'x'.repeat(bytes) } as BatchSlot['prepared']['record'];
  return { prepared: valid ? ({ record, job: {} } as BatchSlot['prepared']) : { record, invalid: { phase: 'job', message: 'bad' } } };
}

describe('streamWindow', () => {
  it('hands over every message of the connection when they are small', () => {
    expect(
      streamWindow(
        Array.from({ length: 10 }, () => slot(5_000)),
        10,
      ),
    ).toBe(10);
  });

  it('keeps to the per-connection count', () => {
    expect(
      streamWindow(
        Array.from({ length: 12 }, () => slot(1_000)),
        10,
      ),
    ).toBe(10);
  });

  it('keeps the bytes in flight within the budget, and is never under one', () => {
    expect(
      streamWindow(
        Array.from({ length: 10 }, () => slot(400_000)),
        10,
      ),
    ).toBe(2);
    expect(
      streamWindow(
        Array.from({ length: 10 }, () => slot(600_000)),
        10,
      ),
    ).toBe(1);
    expect(streamWindow([slot(STREAM_WINDOW_BYTES * 2)], 10)).toBe(1);
  });

  it('does not count invalid jobs', () => {
    expect(streamWindow([slot(900_000, false), slot(500_000), slot(500_000)], 10)).toBe(2);
  });
});
