/**
 * The delivery ledger when it fails, and on FIFO queues: a ledger that cannot be reached (dynalite
 * stopped, an endpoint that never answers) never stops mail: it goes out at-least-once, counted
 * (LedgerUnavailable) and logged, within the invocation's deadline. On a FIFO queue the ledger
 * changes nothing of the order: a suppressed job lets its group go on, a job held elsewhere stops it.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalDynamo } from '../../lib/local/LocalDynamo.js';
import { useDynamoEmulator } from '../support/dynamoEmulator.js';
import { ledgerRig as startLedgerRig } from '../support/ledgerRig.js';
import type { LedgerRig, LedgerRigOptions } from '../support/ledgerRig.js';
import { mailJob } from '../support/sendMailHarness.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
const dynamo = useDynamoEmulator();
let running: LedgerRig | undefined;
let silent: { server: Server; sockets: Set<Socket> } | undefined;
const clients: DynamoDBClient[] = [];

afterEach(async () => {
  await running?.relay.stop();
  running = undefined;
  for (const client of clients.splice(0)) client.destroy();
  if (silent !== undefined) {
    for (const socket of silent.sockets) socket.destroy();
    await new Promise((resolve) => silent?.server.close(resolve));
    silent = undefined;
  }
});

async function ledgerRig(options: LedgerRigOptions = {}): Promise<LedgerRig> {
  running = await startLedgerRig(emulator(), dynamo(), options);
  return running;
}

function clientOf(endpoint: string): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  clients.push(client);
  return client;
}

/** An endpoint that accepts connections and never answers. */
async function stallingEndpoint(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  silent = { server, sockets };
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const outcomes = (rig: LedgerRig, records: SQSRecord[]): unknown[] => records.map((r) => rig.log.records().get(r.messageId)?.attributes['outcome']);

describe('delivery ledger out of reach', () => {
  it('dynalite stopped: the job is delivered anyway (at-least-once), LedgerUnavailable counted, a warning logged', async () => {
    // Prepare
    const stopped = await startLocalDynamo(0, { region: 'us-east-1' });
    await stopped.stop();
    const rig = await ledgerRig({ deps: { dynamo: clientOf(stopped.endpoint) } });
    await rig.rig.queues.publish([JSON.stringify(mailJob(1))]);
    const records = await rig.rig.queues.receiveRecords(10);
    // Act
    const response = await rig.invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rig.confirmed).toHaveLength(1);
    expect(outcomes(rig, records)).toEqual(['delivered']);
    expect(rig.metrics.get('LedgerUnavailable')).toBe(1);
    expect(rig.metrics.get('DuplicatesSuppressed')).toBe(0);
    const warning = rig.log.lines.find((line) => line.message.startsWith('the delivery ledger could not be reached'));
    expect(warning).toMatchObject({ level: 'warn', attributes: { jobs: 1 } });
  });

  it('dynalite stopped, a job published twice in one batch: still sent once (the batch knows), the copy comes back', async () => {
    // Prepare
    const stopped = await startLocalDynamo(0, { region: 'us-east-1' });
    await stopped.stop();
    const rig = await ledgerRig({ deps: { dynamo: clientOf(stopped.endpoint) } });
    const body = JSON.stringify(mailJob(5, { to: ['ann@example.com', 'bob@example.com'] }));
    await rig.rig.queues.publish([body, body]);
    const records = await rig.rig.queues.receiveRecords(10);
    // Act
    const response = await rig.invoke(records);
    // Assess
    expect(rig.rcpts()).toEqual([['ann@example.com', 'bob@example.com']]);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
    expect(outcomes(rig, records)).toEqual(['delivered', 'transient']);
  });

  it('a ledger that never answers: each call is cut after the ledger timeout, and the batch is delivered well within the deadline', async () => {
    // Prepare
    const rig = await ledgerRig({ deps: { dynamo: clientOf(await stallingEndpoint()), ledgerTimeoutMs: 300 } });
    await rig.rig.queues.publish([JSON.stringify(mailJob(2)), JSON.stringify(mailJob(3))]);
    const records = await rig.rig.queues.receiveRecords(10);
    const started = Date.now();
    // Act
    const response = await rig.invoke(records, () => 20_000 - (Date.now() - started));
    // Assess: the claims (300 ms, alongside the connection's setup) and the records (300 ms) each cost one timeout.
    const elapsed = Date.now() - started;
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rig.confirmed).toHaveLength(2);
    expect(rig.metrics.get('LedgerUnavailable')).toBe(2);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('a ledger that never answers, with a ledger timeout longer than the invocation: its calls are cut at the deadline and the batch answers in time', async () => {
    // Prepare
    const rig = await ledgerRig({ deps: { dynamo: clientOf(await stallingEndpoint()), ledgerTimeoutMs: 600_000 } });
    await rig.rig.queues.publish([JSON.stringify(mailJob(4))]);
    const records = await rig.rig.queues.receiveRecords(10);
    const started = Date.now();
    // Act: 7 s left; the session ends 1.5 s before that, so the claim is cut at 5.5 s, when no message may start (5 s margin).
    const response = await rig.invoke(records, () => 7_000 - (Date.now() - started));
    // Assess: nothing sent, nothing lost: the record comes back.
    expect(Date.now() - started).toBeLessThan(7_000);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]!.messageId }] });
    expect(rig.confirmed).toHaveLength(0);
    expect(outcomes(rig, records)).toEqual(['notAttempted']);
    expect(rig.metrics.get('LedgerUnavailable')).toBe(1);
  });
});

describe('delivery ledger on a FIFO queue', () => {
  /** One batch whose records all belong to message group A (see sendMail.fifo.test.ts for why the group is set on the records). */
  async function groupA(rig: LedgerRig, jobs: unknown[]): Promise<SQSRecord[]> {
    await rig.rig.queues.publish(jobs.map((job) => JSON.stringify(job)));
    const received = await rig.rig.queues.receiveRecords(10);
    expect(received).toHaveLength(jobs.length);
    return received.map((record) => ({ ...record, attributes: { ...record.attributes, MessageGroupId: 'A' } }));
  }

  it('a job every recipient has is passed by and its group goes on, in order', async () => {
    // Prepare
    const rig = await ledgerRig({ fifo: true });
    await rig.table.record('job-12', [{ recipient: 'rcpt12@example.com', state: 'delivered' }], undefined);
    const records = await groupA(rig, [mailJob(11), mailJob(12), mailJob(13)]);
    // Act
    const response = await rig.invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rig.confirmed.map((m) => m.envelope.to)).toEqual([['rcpt11@example.com'], ['rcpt13@example.com']]);
    expect(outcomes(rig, records)).toEqual(['delivered', 'duplicateSuppressed', 'delivered']);
  });

  it('a job another invocation holds stops its group: it and the later records come back, in order, untried', async () => {
    // Prepare
    const rig = await ledgerRig({ fifo: true });
    await rig.table.claim('job-22', ['rcpt22@example.com'], { owner: 'another-invocation', untilMs: Date.now() + 60_000 });
    const records = await groupA(rig, [mailJob(21), mailJob(22), mailJob(23)]);
    // Act
    const response = await rig.invoke(records);
    // Assess
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([records[1]!.messageId, records[2]!.messageId]);
    expect(rig.confirmed.map((m) => m.envelope.to)).toEqual([['rcpt21@example.com']]);
    expect(outcomes(rig, records)).toEqual(['delivered', 'transient', 'notAttempted']);
    expect(rig.log.records().get(records[2]!.messageId)?.attributes).toMatchObject({ cause: 'fifoStopped' });
    const held = await dynamo().ledgerItem(rig.tableName, 'job-22');
    expect(held?.locks['rcpt22@example.com']).toMatch(/\|another-invocation$/);
  });
});
