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

  it('puts a duplicate whose first reply never reached the function in the ambiguous class; without the ledger, a kill after delivery is of the other class, with its cause', () => {
    const twice = [copy('C1', 'j1', [A], 100), copy('C2', 'j1', [A], 200)];
    expect(account(evidence({ copies: twice, acknowledged: new Set(['C2']) }))).toMatchObject({
      duplicates: 1,
      ambiguous: { replyLost: 1, killedBeforeLedgerRecord: 0, ledgerUnavailable: 0 },
      other: 0,
      holds: true,
    });
    const killed = [invocation(['j1'], 90, 150, { killedAt: 150 }), invocation(['j1'], 190, 210)];
    expect(account(evidence({ copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: killed }))).toMatchObject({
      ledger: false,
      other: 1,
      otherCauses: { killedAfterDelivery: 1 },
      holds: true,
    });
  });

  it('with the ledger: a kill before the ledger recorded the delivery is ambiguous; a duplicate sent after it recorded it is a violation', () => {
    const twice = [copy('C1', 'j1', [A], 100), copy('C2', 'j1', [A], 200)];
    const killed = [invocation(['j1'], 90, 150, { killedAt: 150 }), invocation(['j1'], 190, 210)];
    const base = { copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: killed };
    const notYet = { recordedAt: new Map<string, number>(), failedAt: new Map<string, number[]>() };
    expect(account(evidence({ ...base, ledger: notYet }))).toMatchObject({
      ledger: true,
      ambiguous: { killedBeforeLedgerRecord: 1 },
      other: 0,
      holds: true,
    });
    const recorded = { recordedAt: new Map([[`j1 ${A}`, 120]]), failedAt: new Map<string, number[]>() };
    const table = account(evidence({ ...base, ledger: recorded }));
    expect(table).toMatchObject({ other: 1, otherCauses: { killedAfterDelivery: 1 }, holds: false });
    expect(table.violations[0]).toBe('duplicates outside the ambiguous class, with the ledger: 1');
    // ...unless the ledger failed for that job in between: the function then sends at-least-once.
    const failed = { recordedAt: new Map([[`j1 ${A}`, 120]]), failedAt: new Map([['j1', [195]]]) };
    expect(account(evidence({ ...base, ledger: failed }))).toMatchObject({ ambiguous: { ledgerUnavailable: 1 }, other: 0, holds: true });
    // ...or the invocation sending the duplicate said it could not reach the ledger.
    const unreachable = [invocation(['j1'], 90, 150, { killedAt: 150 }), invocation(['j1'], 190, 210, { ledgerUnavailable: 1 })];
    expect(account(evidence({ ...base, invocations: unreachable, ledger: recorded }))).toMatchObject({
      ambiguous: { ledgerUnavailable: 1 },
      holds: true,
    });
    // An invocation that was neither killed nor timed out had time to record: no excuse.
    const alive = [invocation(['j1'], 90, 150), invocation(['j1'], 190, 210)];
    expect(account(evidence({ ...base, invocations: alive, ledger: notYet }))).toMatchObject({ other: 1, otherCauses: { unknown: 1 }, holds: false });
  });

  it('with the ledger: a copy whose reply was lost, stored after its retry when no invocation of the job was running, is the lost reply arriving late (ambiguous)', () => {
    // The first invocation's end of data stalled in the network; it gave up (ambiguous) at 150, the
    // retry was delivered at 200, and the stalled copy reached the relay at 400, after both.
    const late = [copy('C1', 'j1', [A], 200), copy('C2', 'j1', [A], 400)];
    const invocations = [invocation(['j1'], 90, 150), invocation(['j1'], 190, 210)];
    const ledger = { recordedAt: new Map([[`j1 ${A}`, 205]]), failedAt: new Map<string, number[]>() };
    expect(account(evidence({ copies: late, acknowledged: new Set(['C1']), invocations, ledger }))).toMatchObject({
      ambiguous: { replyLost: 1, killedBeforeLedgerRecord: 0, ledgerUnavailable: 0 },
      other: 0,
      holds: true,
    });
    // The same late copy while an invocation of the job runs is not excused by its own lost reply.
    const running = [invocation(['j1'], 90, 150), invocation(['j1'], 190, 410)];
    expect(account(evidence({ copies: late, acknowledged: new Set(['C1']), invocations: running, ledger }))).toMatchObject({
      other: 1,
      holds: false,
    });
    // One lost reply explains one extra copy, not two.
    const thrice = [...late, copy('C3', 'j1', [A], 500)];
    const three = [...invocations, invocation(['j1'], 490, 510)];
    expect(account(evidence({ copies: thrice, acknowledged: new Set(['C1', 'C3']), invocations: three, ledger }))).toMatchObject({
      ambiguous: { replyLost: 1 },
      other: 1,
      holds: false,
    });
  });

  it("names a producer's double publish and an SQS re-delivery as causes without the ledger", () => {
    const twice = [copy('C1', 'j1', [A], 100), copy('C2', 'j1', [A], 200)];
    const base = { copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: [invocation(['j1'], 90, 150), invocation(['j1'], 190, 210)] };
    expect(account(evidence({ ...base, doublePublished: new Set(['j1']) }))).toMatchObject({ otherCauses: { doublePublished: 1 }, holds: true });
    expect(account(evidence({ ...base, redelivered: new Set(['j1']) }))).toMatchObject({ otherCauses: { redelivered: 1 }, holds: true });
  });

  it("measures the ledger's lag behind the relay's reply", () => {
    const ledger = { recordedAt: new Map([[`j1 ${A}`, 130]]), failedAt: new Map<string, number[]>(), acknowledgedAt: new Map([['C1', 105]]) };
    expect(account(evidence({ ledger })).ledgerRecordLagMs).toEqual({ median: 25, p95: 25, max: 25 });
  });

  it('explains a duplicate made by a kill after a re-enqueue: the record comes back while its re-enqueued part is queued too', () => {
    const twice = [copy('C1', 'j1', [A], 300), copy('C2', 'j1', [A], 400)];
    const killed = [invocation(['j1'], 90, 150, { killedAt: 150 }), invocation(['j1'], 290, 310), invocation(['j1'], 390, 410)];
    const base = { copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: killed };
    expect(account(evidence({ ...base, requeues: [{ jobId: 'j1', t: 120 }] }))).toMatchObject({
      otherCauses: { killedAfterDelivery: 1 },
      holds: true,
    });
    // A kill before the invocation did anything for the job explains nothing.
    expect(account(evidence({ ...base, requeues: [{ jobId: 'j1', t: 200 }] }))).toMatchObject({ otherCauses: { unknown: 1 }, holds: false });
  });

  it('names a timed-out invocation as the cause of a duplicate, and fails on one no fault explains', () => {
    const twice = [copy('C1', 'j1', [A], 100), copy('C2', 'j1', [A], 200)];
    const timedOut = [invocation(['j1'], 90, 150, { timedOut: true }), invocation(['j1'], 190, 210)];
    expect(account(evidence({ copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: timedOut }))).toMatchObject({
      other: 1,
      otherCauses: { invocationTimedOut: 1 },
      holds: true,
    });
    const table = account(
      evidence({ copies: twice, acknowledged: new Set(['C1', 'C2']), invocations: [invocation(['j1'], 90, 150), invocation(['j1'], 190, 210)] }),
    );
    expect(table).toMatchObject({ other: 1, otherCauses: { unknown: 1 }, holds: false });
    expect(table.violations[0]).toBe('duplicates without a fault to explain them: 1');
  });

  it('fails when a DLQ copy holds a recipient who had the mail, unless a fault explains it', () => {
    const dead: HeldBody = {
      body: JSON.stringify({ v: 1, id: 'j1', to: [A], cc: [B] }),
      messageAttributes: { FailurePhase: { StringValue: 'rcpt' } },
    };
    expect(account(evidence({ dlq: [dead] }))).toMatchObject({ deliveredInDlq: { unexplained: 1 }, holds: false });
    expect(account(evidence({ dlq: [dead], acknowledged: new Set() }))).toMatchObject({ deliveredInDlq: { explained: 1 }, holds: true });
    // The invocation that delivered it timed out before it could record or settle it.
    const timedOut = [invocation(['j1'], 90, 150, { timedOut: true })];
    expect(account(evidence({ dlq: [dead], invocations: timedOut }))).toMatchObject({ deliveredInDlq: { explained: 1 }, holds: true });
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
