/** The batch's spool budget: which pointer jobs are loaded, in which order, and FIFO's group rule. */
import { describe, expect, it } from 'vitest';
import { planSpool } from '../../../lib/delivery/payload/spoolBudget.js';
import type { SpoolCandidate } from '../../../lib/delivery/payload/spoolBudget.js';

const job = (index: number, size: number, receiveCount = 1, group?: string): SpoolCandidate => ({
  index,
  size,
  receiveCount,
  ...(group === undefined ? {} : { group }),
});
const planned = (plan: { load: Set<number>; deferred: Set<number> }) => ({ load: [...plan.load].sort(), deferred: [...plan.deferred].sort() });

describe('planSpool', () => {
  it('loads jobs in event order while their sizes stay within the budget; a smaller later job takes the room left', () => {
    const plan = planSpool([job(0, 300), job(1, 200), job(2, 100), job(3, 1)], { budgetBytes: 400, fifo: false });
    expect(planned(plan)).toEqual({ load: [0, 2], deferred: [1, 3] });
  });

  it('loads exactly up to the budget (the sum may equal it)', () => {
    expect(planned(planSpool([job(0, 200), job(1, 200), job(2, 1)], { budgetBytes: 400, fifo: false }))).toEqual({ load: [0, 1], deferred: [2] });
  });

  it('always loads the first job considered, even larger than the budget (else it would never be tried)', () => {
    expect(planned(planSpool([job(0, 900), job(1, 10)], { budgetBytes: 400, fifo: false }))).toEqual({ load: [0], deferred: [1] });
  });

  it('standard queue: jobs on their last receive (MAIL_MAX_RECEIVES) are considered first', () => {
    const plan = planSpool([job(0, 300), job(1, 300, 5), job(2, 300, 4)], { budgetBytes: 400, fifo: false, maxReceives: 5 });
    expect(planned(plan)).toEqual({ load: [1], deferred: [0, 2] });
  });

  it('FIFO: event order whatever the receive count; a deferred job defers the later jobs of its group, other groups go on', () => {
    const plan = planSpool([job(0, 300, 1, 'a'), job(1, 300, 1, 'a'), job(2, 50, 9, 'a'), job(3, 50, 1, 'b')], {
      budgetBytes: 400,
      fifo: true,
      maxReceives: 5,
    });
    expect(planned(plan)).toEqual({ load: [0, 3], deferred: [1, 2] });
  });

  it('no candidates: nothing to load', () => {
    expect(planned(planSpool([], { budgetBytes: 1, fifo: false }))).toEqual({ load: [], deferred: [] });
  });
});
