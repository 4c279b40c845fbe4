import { describe, expect, it } from 'vitest';
import { readAhead } from '../../lib/smtp/readAhead.js';

/** A source that logs each pull and its end. */
function logged(values: number[], log: string[], failAt?: number) {
  return (async function* () {
    try {
      for (const value of values) {
        log.push(`pull ${value}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (value === failAt) throw new Error(`source failed at ${value}`);
        yield value;
      }
    } finally {
      log.push('source ended');
    }
  })();
}

describe('readAhead', () => {
  it('pulls the next value while the consumer still works on the last, and yields every value in order', async () => {
    // Prepare
    const log: string[] = [];
    // Act
    for await (const value of readAhead(logged([1, 2, 3], log))) {
      log.push(`write ${value} starts`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      log.push(`write ${value} done`);
    }
    // Assess: one value ahead: 2 is pulled before 1 is written, 3 while 2 is written (pull 3 starts as 2 is handed out).
    expect(log).toEqual([
      'pull 1',
      'pull 2',
      'write 1 starts',
      'write 1 done',
      'pull 3',
      'write 2 starts',
      'write 2 done',
      'source ended',
      'write 3 starts',
      'write 3 done',
    ]);
  });

  it('ends the source when the consumer stops early, and a pull that fails meanwhile is no unhandled rejection', async () => {
    // Prepare
    const log: string[] = [];
    // Act
    for await (const value of readAhead(logged([1, 2, 3], log, 2))) {
      log.push(`got ${value}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      break;
    }
    // Assess: the pull of 2 failed while 1 was being written; the consumer stopped anyway.
    expect(log).toEqual(['pull 1', 'pull 2', 'got 1', 'source ended']);
  });

  it('lets the consumer stop at once while a pull still waits for the source, which ends once it answers', async () => {
    // Prepare
    const log: string[] = [];
    let answer: () => void = () => undefined;
    const stalled = (async function* () {
      try {
        yield 1;
        log.push('pull 2');
        await new Promise<void>((resolve) => (answer = resolve));
        yield 2;
      } finally {
        log.push('source ended');
      }
    })();
    // Act
    for await (const value of readAhead(stalled)) {
      log.push(`got ${value}`);
      break;
    }
    log.push('consumer stopped');
    answer();
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Assess
    expect(log).toEqual(['pull 2', 'got 1', 'consumer stopped', 'source ended']);
  });

  it("hands the source's failure to the consumer at the value it failed on", async () => {
    // Prepare
    const log: string[] = [];
    const got: number[] = [];
    // Act
    const run = (async () => {
      for await (const value of readAhead(logged([1, 2, 3], log, 2))) got.push(value);
    })();
    // Assess
    await expect(run).rejects.toThrow('source failed at 2');
    expect(got).toEqual([1]);
    expect(log).toEqual(['pull 1', 'pull 2', 'source ended']);
  });
});
