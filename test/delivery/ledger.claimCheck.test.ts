/**
 * The delivery ledger with claim checks and partly delivered jobs, through the handler, against the
 * scripted relay, the SQS emulator (which also serves S3) and dynalite:
 * - a claim check's copy for some recipients (the pointer with `recipients`) locks, checks and
 *   records only those recipients, not every recipient of the job in S3;
 * - a job some of whose recipients took it on an earlier receive and whose remaining recipients
 *   are now refused for good goes to the DLQ naming only those (as a partly refused job does).
 */
import { describe, expect, it } from 'vitest';
import { payloadPointerBody } from '../../lib/message/payloadPointer.js';
import { useClaimCheckRig } from '../support/claimCheckRig.js';
import { useDynamoEmulator } from '../support/dynamoEmulator.js';
import { useLedgerRig } from '../support/ledgerRig.js';
import type { LedgerRig, LedgerRigOptions } from '../support/ledgerRig.js';
import { mailJob } from '../support/sendMailHarness.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
const dynamo = useDynamoEmulator();
const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'ledger-claim-check-' });
const startLedgerRig = useLedgerRig(emulator, dynamo);
const { exists } = claimChecks;

/** A ledger rig whose handler reads claim checks from a fresh bucket of the emulator. */
async function ledgerRig(options: LedgerRigOptions = {}): Promise<LedgerRig & { bucket: string }> {
  const bucket = await claimChecks.newBucket('ledger-payloads');
  const reader = claimChecks.readerOptions(bucket);
  const running = await startLedgerRig({ ...options, payload: reader.payload, deps: { ...reader.deps, ...options.deps } });
  return { ...running, bucket };
}

/** Writes the job's JSON under payloads/ and returns the pointer's body (naming `recipients` when given). */
async function offload(bucket: string, job: Record<string, unknown>, recipients?: string[]): Promise<string> {
  return (await claimChecks.putJob(bucket, `payloads/${String(job['id'])}`, job, recipients)).body;
}

const refuseBob: LedgerRigOptions['onCommand'] = (command) =>
  command.verb === 'RCPT' && command.args.includes('bob@') ? ['550 5.1.1 <bob@example.com>: no such user'] : undefined;

describe("a claim check's copy for some recipients, with the ledger", () => {
  it('its one recipient recorded as delivered (the other refused for good earlier): duplicateSuppressed, nothing sent, the object deleted', async () => {
    // Prepare: ann was refused 5xx on the first receive (never recorded), bob took the message.
    const { rig, log, invoke, datas, table, bucket } = await ledgerRig();
    const copy = await offload(bucket, mailJob(21, { to: ['ann@example.com', 'bob@example.com'] }), ['bob@example.com']);
    await table.record('job-21', [{ recipient: 'bob@example.com', state: 'delivered' }], undefined);
    await rig.queues.publish([copy]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(datas().reduce((sum, n) => sum + n, 0)).toBe(0);
    expect(log.records().get(records[0]!.messageId)?.attributes).toMatchObject({ outcome: 'duplicateSuppressed', placement: 'done', recipients: 1 });
    expect(await exists(bucket, 'payloads/job-21')).toBe(false);
  });

  it("another invocation holding a lock on a recipient the copy is not for: the copy's recipient is sent to, the other lock left alone", async () => {
    // Prepare
    const { rig, log, invoke, rcpts, confirmed, table, tableName, bucket } = await ledgerRig();
    const copy = await offload(bucket, mailJob(22, { to: ['ann@example.com', 'bob@example.com'] }), ['bob@example.com']);
    await table.claim('job-22', ['ann@example.com'], { owner: 'another-invocation', untilMs: Date.now() + 600_000 });
    await rig.queues.publish([copy]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts()).toEqual([['bob@example.com']]);
    expect(confirmed.map((m) => m.envelope.to)).toEqual([['bob@example.com']]);
    expect(log.records().get(records[0]!.messageId)?.attributes['outcome']).toBe('delivered');
    const item = await dynamo().ledgerItem(tableName, 'job-22');
    expect(Object.keys(item?.locks ?? {})).toEqual(['ann@example.com']);
    expect(item?.locks['ann@example.com']).toMatch(/\|another-invocation$/);
    expect(item?.recipients['bob@example.com']?.state).toBe('delivered');
  });
});

describe('a job partly delivered on an earlier receive, its other recipients now refused for good', () => {
  it('a job in the queue body: the DLQ copy names only the refused recipient (narrowed), with the counts', async () => {
    // Prepare: ann took the message on an earlier receive (recorded), then the record came back.
    const { rig, invoke, rcpts, table } = await ledgerRig({ onCommand: refuseBob });
    await table.record('job-23', [{ recipient: 'ann@example.com', state: 'delivered' }], undefined);
    await rig.queues.publish([JSON.stringify(mailJob(23, { to: ['ann@example.com', 'bob@example.com'] }))]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts()).toEqual([['bob@example.com']]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready).toHaveLength(1);
    const letter = dead.ready[0]!;
    expect(JSON.parse(letter.body)).toEqual(mailJob(23, { to: ['bob@example.com'] }));
    expect(Object.fromEntries(Object.entries(letter.messageAttributes).map(([name, value]) => [name, value.StringValue]))).toMatchObject({
      FailurePhase: 'rcpt',
      FailureKind: 'permanent',
      FailureCode: '550',
      JobForm: 'narrowed',
      PendingRecipients: '1',
      DeliveredRecipients: '1',
    });
  });

  it('a claim check: the DLQ copy is the pointer naming only the refused recipient; the object is kept', async () => {
    // Prepare
    const { rig, invoke, rcpts, table, bucket } = await ledgerRig({ onCommand: refuseBob });
    const pointer = await offload(bucket, mailJob(24, { to: ['ann@example.com', 'bob@example.com'] }));
    await table.record('job-24', [{ recipient: 'ann@example.com', state: 'delivered' }], undefined);
    await rig.queues.publish([pointer]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts()).toEqual([['bob@example.com']]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => m.body)).toEqual([payloadPointerBody({ bucket, key: 'payloads/job-24', recipients: ['bob@example.com'] })]);
    expect(dead.ready[0]!.messageAttributes['PendingRecipients']?.StringValue).toBe('1');
    expect(dead.ready[0]!.messageAttributes['DeliveredRecipients']?.StringValue).toBe('1');
    expect(await exists(bucket, 'payloads/job-24')).toBe(true);
  });

  it('on its last receive (MAIL_MAX_RECEIVES), the remaining recipient refused for now: the last-receive dead letter names only it', async () => {
    // Prepare
    const { rig, invoke, rcpts, table } = await ledgerRig({
      maxReceives: 3,
      onCommand: (command) => (command.verb === 'RCPT' && command.args.includes('bob@') ? ['450 4.2.1 <bob@example.com>: try later'] : undefined),
    });
    await table.record('job-25', [{ recipient: 'ann@example.com', state: 'delivered' }], undefined);
    await rig.queues.publish([JSON.stringify(mailJob(25, { to: ['ann@example.com', 'bob@example.com'] }))]);
    const [record] = await rig.queues.receiveRecords(10);
    const last = { ...record!, attributes: { ...record!.attributes, ApproximateReceiveCount: '3' } };
    // Act
    const response = await invoke([last]);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts()).toEqual([['bob@example.com']]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => JSON.parse(m.body) as unknown)).toEqual([mailJob(25, { to: ['bob@example.com'] })]);
    expect(dead.ready[0]!.messageAttributes['FailureKind']?.StringValue).toBe('last-receive');
    expect(dead.ready[0]!.messageAttributes['DeliveredRecipients']?.StringValue).toBe('1');
  });
});

describe('a claim check copy naming none of its job recipients', () => {
  it('is permanent (nobody left to send to), not a crash of the batch', async () => {
    // Prepare
    const { rig, invoke, datas, bucket } = await ledgerRig();
    const copy = await offload(bucket, mailJob(26, { to: ['ann@example.com'] }), ['nobody@example.com']);
    await rig.queues.publish([copy, JSON.stringify(mailJob(27))]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(datas()).toEqual([1]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready.map((m) => [m.body, m.messageAttributes['FailureMessage']?.StringValue])).toEqual([
      [copy, 'the job has no recipient left to send to'],
    ]);
  });
});
