/**
 * The session's movable deadline and the SQS call times it follows.
 */
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../lib/delivery/Deadline.js';
import { SqsCallTimes } from '../../lib/delivery/SqsCallTimes.js';

const aborted = (signal: AbortSignal): Promise<number> =>
  new Promise((resolve) => {
    const started = performance.now();
    signal.addEventListener('abort', () => resolve(performance.now() - started), { once: true });
  });

describe('Deadline', () => {
  it('fires at its moment, with a TimeoutError', async () => {
    const deadline = new Deadline(50);
    const after = await aborted(deadline.signal);
    expect(after).toBeGreaterThanOrEqual(45);
    expect((deadline.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('can be brought forward, never pushed back', async () => {
    // Prepare
    const deadline = new Deadline(5_000);
    const firing = aborted(deadline.signal);
    // Act
    deadline.bringForward(10_000); // later: ignored
    deadline.bringForward(40);
    // Assess
    expect(await firing).toBeLessThan(1_000);
  });

  it('never fires once disposed', async () => {
    const deadline = new Deadline(20);
    deadline.dispose();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(deadline.signal.aborted).toBe(false);
  });

  it('takes no time left (or no number) as 1 ms', async () => {
    expect(await aborted(new Deadline(-500).signal)).toBeLessThan(500);
    expect(await aborted(new Deadline(Number.NaN).signal)).toBeLessThan(500);
  });
});

describe('SqsCallTimes', () => {
  it('expects the slowest of the last 8 calls, and nothing before any', () => {
    const times = new SqsCallTimes();
    expect(times.expectedMs()).toBe(0);
    times.add(3_000);
    for (let n = 0; n < 7; n += 1) times.add(100);
    expect(times.expectedMs()).toBe(3_000);
    times.add(120); // the 3 s call is now 9 calls old
    expect(times.expectedMs()).toBe(120);
  });

  it('ignores durations that are not times', () => {
    const times = new SqsCallTimes();
    times.add(Number.NaN);
    times.add(-1);
    times.add(Number.POSITIVE_INFINITY);
    expect(times.expectedMs()).toBe(0);
  });
});
