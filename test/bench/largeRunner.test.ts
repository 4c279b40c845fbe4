/**
 * bench/large end to end, once and small, so that the bench code does not rot: a 1 MB message
 * offloaded to S3 by the producer (fauxqs in this process) and a small inline job, handled by the
 * function's bundle and by the nodemailer handler in child processes against smtp-server. Nothing
 * here is timed or bounded: the figures belong to `npm run bench -- large`.
 */
import { expect, it } from 'vitest';
import { measureLarge } from '../../bench/large/measureLarge.js';

it('runs each handler once on a 1 MB claim-check batch and reports it delivered intact with a peak RSS', async () => {
  // Act
  const rows = await measureLarge({
    relays: ['DATA'],
    rttsMs: [0],
    batches: [{ label: '1 × 1 MB + 1 small', largeMb: [1], small: 1, runs: 1 }],
  });
  // Assess
  expect(rows.map((row) => [row.handler, row.relay, row.batch, row.runs, row.intactRuns, row.unreported, row.problems])).toEqual([
    ['send-mail (ours)', 'DATA', '1 × 1 MB + 1 small', 1, 1, 0, []],
    ['nodemailer', 'DATA', '1 × 1 MB + 1 small', 1, 1, 0, []],
  ]);
  for (const row of rows) {
    expect(row.peakRssMiB).toBeGreaterThan(0);
    expect(row.batchMs).toBeGreaterThan(0);
    // The message on the wire is about the 1 MB asked for.
    expect(Math.abs(row.largestBytes - 1e6)).toBeLessThan(20_000);
  }
}, 180_000);
