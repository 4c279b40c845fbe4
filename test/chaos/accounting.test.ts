/**
 * The verdict of the fault-injection run, on hand-made evidence: each invariant breaks the run,
 * and each unavoidable duplicate is explained by the fault that caused it.
 */
import { describe, expect, it } from 'vitest';
import { account } from './accounting.js';
import type { HeldBody, InvocationTrace, RunEvidence } from './accounting.js';
import type { ChaosJob } from './chaosJobs.js';
import type { StoredCopy } from './chaosRelay.js';
import { FaultLog } from './FaultLog.js';

const A = 'ok1+j1@chaos.test';
const B = 'refuse2+j1@chaos.test';

function job(id: string, recipients: ChaosJob['recipients'], extra: Partial<ChaosJob> = {}): ChaosJob {
  return { id, index: 0, recipients, body: JSON.stringify({ v: 1, id, to: recipients.map((r) => r.address) }), ...extra };
}

function copy(copyId: string, jobId: string, recipients: string[], t: number): StoredCopy {
  return { copyId, jobId, recipients, t, remotePort: 1 };
}

function invocation(jobIds: string[], start: number, end: number, extra: Partial<InvocationTrace> = {}): InvocationTrace {
  return { start, end, jobIds, timedOut: false, requeueFailed: [], outcomes: [], ...extra };
}

function evidence(overrides: Partial<RunEvidence>): RunEvidence {
  return {
    queue: 'standard',
    jobs: [
      job('j1', [
        { address: A, kind: 'ok', field: 'to' },
        { address: B, kind: 'refuse', field: 'to' },
      ]),
    ],
    copies: [copy('C1', 'j1', [A], 100)],
    acknowledged: new Set(['C1']),
    refusals: [{ t: 100, recipient: B, code: 550 }],
    dlq: [],
    pending: [],
    invocations: [invocation(['j1'], 90, 110)],
    requeues: [],
    faults: new FaultLog().counts(),
    seconds: 1,
    ...overrides,
  };
}

describe('account', () => {
  it('holds for a delivered recipient and a recorded refusal', () => {
    const table = account(evidence({}));
    expect(table).toMatchObject({ recipients: 2, delivered: 1, duplicates: 0, lost: 0, holds: true });
    expect(table.refusedForGood).toMatchObject({ total: 1, refusedByRelay: 1, delivered: 0 });
  });

  it('finds a lost recipient, and counts queued and dead-lettered ones as not lost', () => {
    expect(account(evidence({ copies: [] }))).toMatchObject({ lost: 1, holds: false });
    const held: HeldBody = {
      body: JSON.stringify({ v: 1, id: 'j1', raw: { envelope: { from: 's@chaos.test', to: [A] }, message: `To: ${B}\r\n\r\n` } }),
      messageAttributes: {},
    };
    expect(account(evidence({ copies: [], pending: [held] }))).toMatchObject({ pending: 1, lost: 0, holds: true });
    const dead: HeldBody = { ...held, messageAttributes: { FailurePhase: { StringValue: 'rcpt' }, FailureCode: { StringValue: '450' } } };
    expect(account(evidence({ copies: [], dlq: [dead] }))).toMatchObject({ deliverableInDlq: 1, dlqByReason: { 'rcpt 450': 1 }, holds: true });
    // The raw form's To: header names B, but its envelope does not: B is not "in the DLQ".
    expect(account(evidence({ copies: [], dlq: [dead] })).refusedForGood.inDlq).toBe(0);
  });

  it('fails when a recipient refused for good was delivered', () => {
    expect(account(evidence({ copies: [copy('C1', 'j1', [A, B], 100)] }))).toMatchObject({ refusedForGood: { delivered: 1 }, holds: false });
  });

  it('explains a duplicate whose first reply never reached the function, or whose invocation was killed after it', () => {
    const twice = [copy('C1', 'j1', [A], 100), copy('C2', 'j1', [A], 200)];
    expect(account(evidence({ copies: twice, acknowledged: new Set(['C2']) }))).toMatchObject({
      duplicates: 1,
      explained: { replyLost: 1 },
      unexplained: 0,
      holds: true,
    });
    const killed = [invocation(['j1'], 90, 150, { killedAt: 150 }), invocation(['j1'], 190, 210)];
    expect(account(evidence({ copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: killed }))).toMatchObject({
      explained: { killedAfterDelivery: 1 },
      holds: true,
    });
  });

  it('explains a duplicate made by a kill after a re-enqueue: the record comes back while its re-enqueued part is queued too', () => {
    const twice = [copy('C1', 'j1', [A], 300), copy('C2', 'j1', [A], 400)];
    const killed = [invocation(['j1'], 90, 150, { killedAt: 150 }), invocation(['j1'], 290, 310), invocation(['j1'], 390, 410)];
    const base = { copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: killed };
    expect(account(evidence({ ...base, requeues: [{ jobId: 'j1', t: 120 }] }))).toMatchObject({ explained: { killedAfterDelivery: 1 }, holds: true });
    // A kill before the invocation did anything for the job explains nothing.
    expect(account(evidence({ ...base, requeues: [{ jobId: 'j1', t: 200 }] }))).toMatchObject({ unexplained: 1, holds: false });
  });

  it('fails on a duplicate whose first copy was acknowledged and not killed, naming a timed-out invocation when there was one', () => {
    const twice = [copy('C1', 'j1', [A], 100), copy('C2', 'j1', [A], 200)];
    const timedOut = [invocation(['j1'], 90, 150, { timedOut: true }), invocation(['j1'], 190, 210)];
    const table = account(evidence({ copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: timedOut }));
    expect(table).toMatchObject({ unexplained: 1, unexplainedCauses: { invocationTimedOut: 1 }, holds: false });
    expect(table.violations[0]).toBe('unexplained duplicates: 1');
  });

  it('fails when a DLQ copy holds a recipient who had the mail, unless a fault explains it', () => {
    const dead: HeldBody = {
      body: JSON.stringify({ v: 1, id: 'j1', to: [A], cc: [B] }),
      messageAttributes: { FailurePhase: { StringValue: 'rcpt' } },
    };
    expect(account(evidence({ dlq: [dead] }))).toMatchObject({ deliveredInDlq: { unexplained: 1 }, holds: false });
    expect(account(evidence({ dlq: [dead], acknowledged: new Set() }))).toMatchObject({ deliveredInDlq: { explained: 1 }, holds: true });
  });

  it('checks each FIFO group is delivered in order', () => {
    const jobs = [0, 1, 2].map((index) =>
      job(`f${index}`, [{ address: `ok1+f${index}@chaos.test`, kind: 'ok', field: 'to' }], { index, group: 'g0' }),
    );
    const inOrder = jobs.map((j, i) => copy(`C${i}`, j.id, [`ok1+${j.id}@chaos.test`], 100 + i));
    const base = { queue: 'fifo' as const, jobs, refusals: [], invocations: [], acknowledged: new Set(inOrder.map((c) => c.copyId)) };
    expect(account(evidence({ ...base, copies: inOrder }))).toMatchObject({ fifoOrderViolations: 0, holds: true });
    const swapped = [
      copy('C0', 'f0', ['ok1+f0@chaos.test'], 100),
      copy('C2', 'f2', ['ok1+f2@chaos.test'], 101),
      copy('C1', 'f1', ['ok1+f1@chaos.test'], 102),
    ];
    expect(account(evidence({ ...base, copies: swapped }))).toMatchObject({ fifoOrderViolations: 1, holds: false });
    // A job re-enqueued (to the back of its group) before the later one was delivered is no violation.
    expect(account(evidence({ ...base, copies: swapped, requeues: [{ jobId: 'f1', t: 100 }] }))).toMatchObject({
      fifoOrderViolations: 0,
      holds: true,
    });
  });
});
