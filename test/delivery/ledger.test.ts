/**
 * The delivery ledger (issue 9) through the send-mail handler, against the scripted relay (the
 * commands it got), the SQS emulator and dynalite: re-deliveries and double publishes suppressed,
 * recipients already delivered skipped, one sender per job at a time, ambiguous sends sent again.
 */
import type { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { useDynamoEmulator } from '../support/dynamoEmulator.js';
import { useLedgerRig } from '../support/ledgerRig.js';
import type { ScriptedMessage } from '../support/scriptedServer.js';
import { mailJob } from '../support/sendMailHarness.js';
import type { RecordingLog } from '../support/sendMailHarness.js';
import { sqsRecordFactory } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
const dynamo = useDynamoEmulator();
const ledgerRig = useLedgerRig(emulator, dynamo);

const outcomeOf = (log: RecordingLog, record: SQSRecord): unknown => log.records().get(record.messageId)?.attributes['outcome'];
const messageIdOf = (message: ScriptedMessage): string | undefined => /^Message-ID: (<[^>]+>)/im.exec(message.content.toString('latin1'))?.[1];

describe('delivery ledger, through the handler', () => {
  it('a job delivered then re-delivered (the same body sent twice): the second is duplicateSuppressed, one copy in the mailbox', async () => {
    // Prepare
    const { rig, log, metrics, confirmed, tableName, invoke, datas } = await ledgerRig();
    const body = JSON.stringify(mailJob(1, { to: ['ann@example.com', 'Bob@Example.COM'] }));
    await rig.queues.publish([body, body]);
    const [first, second] = await rig.queues.receiveRecords(10);
    // Act
    const one = await invoke([first!]);
    const two = await invoke([second!]);
    // Assess
    expect(one).toEqual({ batchItemFailures: [] });
    expect(two).toEqual({ batchItemFailures: [] });
    expect(confirmed).toHaveLength(1);
    expect(datas()).toEqual([1, 0]);
    expect([outcomeOf(log, first!), outcomeOf(log, second!)]).toEqual(['delivered', 'duplicateSuppressed']);
    expect(log.records().get(second!.messageId)?.attributes).toMatchObject({ placement: 'done', recipients: 2, jobId: 'job-1' });
    expect(metrics.get('DuplicatesSuppressed')).toBe(1);
    expect(metrics.get('LedgerUnavailable')).toBe(0);
    const item = await dynamo().ledgerItem(tableName, 'job-1');
    expect(item?.locks).toEqual({});
    expect(Object.keys(item?.recipients ?? {}).sort()).toEqual(['Bob@example.com', 'ann@example.com']);
    expect(item?.recipients['ann@example.com']).toMatchObject({ state: 'delivered', messageId: '<job-1@example.com>' });
    expect(item?.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3000);
  });

  it('a job without an id published twice: one content-derived id for the ledger and the Message-ID; the copy in the same batch waits, then is suppressed', async () => {
    // Prepare
    const { rig, log, confirmed, invoke } = await ledgerRig();
    const { id: _, ...job } = mailJob(2);
    await rig.queues.publish([JSON.stringify(job), JSON.stringify({ ...job, subject: job['subject'], v: 1 })]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const first = await invoke(records);
    const retry = await invoke([records[1]!]);
    // Assess: one send; the second record of the batch came back, then was found delivered.
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
    expect(log.records().get(records[1]!.messageId)?.attributes['outcome']).toBe('duplicateSuppressed');
    expect(retry).toEqual({ batchItemFailures: [] });
    expect(confirmed).toHaveLength(1);
    expect(messageIdOf(confirmed[0]!)).toMatch(/^<content\.[0-9a-f]{32}@example\.com>$/);
  });

  it('partly refused, then the 4xx part retried: only those recipients sent; the original re-delivered is suppressed', async () => {
    // Prepare: later@ is refused for now the first time only.
    let refusals = 0;
    const { rig, log, confirmed, invoke, rcpts, tableName } = await ledgerRig({
      onCommand: (command) =>
        command.verb === 'RCPT' && command.args.includes('later@') && refusals++ === 0 ? ['450 4.2.1 Mailbox busy'] : undefined,
    });
    await rig.queues.publish([JSON.stringify(mailJob(3, { to: ['ann@example.com', 'later@example.com'] }))]);
    const [record] = await rig.queues.receiveRecords(10);
    // Act 1
    const one = await invoke([record!]);
    // Assess 1
    expect(one).toEqual({ batchItemFailures: [] });
    expect(outcomeOf(log, record!)).toBe('partlyRefused');
    const queued = await rig.queues.contents(rig.queues.queueName);
    const copy = [...queued.ready, ...queued.delayed].find((m) => m.messageAttributes['MailRequeueCount'] !== undefined);
    expect(JSON.parse(copy!.body)).toMatchObject({ id: 'job-3' });
    // Act 2: the copy, then the original again (an SQS re-delivery)
    const two = await invoke([sqsRecordFactory(copy!.body, { eventSourceARN: rig.queues.queueArn })]);
    const again = await invoke([{ ...record!, messageId: `${record!.messageId}-again` }]);
    // Assess 2
    expect(two).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    expect(rcpts()).toEqual([['ann@example.com', 'later@example.com'], ['later@example.com'], []]);
    expect(confirmed.map((m) => m.envelope.to)).toEqual([['ann@example.com'], ['later@example.com']]);
    const item = await dynamo().ledgerItem(tableName, 'job-3');
    expect(Object.keys(item?.recipients ?? {}).sort()).toEqual(['ann@example.com', 'later@example.com']);
  });

  it('a job without an id partly refused: its copy carries the content-derived id, so the copy and the original share one ledger key', async () => {
    // Prepare: a narrowed copy (the raw copy does not fit: the job is near the queue's limit).
    let refusals = 0;
    const { rig, confirmed, invoke, tableName } = await ledgerRig({
      onCommand: (command) =>
        command.verb === 'RCPT' && command.args.includes('later@') && refusals++ === 0 ? ['450 4.2.1 Mailbox busy'] : undefined,
    });
    const { id: _, ...job } = mailJob(4, { to: ['ann@example.com', 'later@example.com'] });
    await rig.queues.publish([JSON.stringify(job)]);
    const [record] = await rig.queues.receiveRecords(10);
    await invoke([record!]);
    const queued = await rig.queues.contents(rig.queues.queueName);
    const copy = [...queued.ready, ...queued.delayed].find((m) => m.messageAttributes['MailRequeueCount'] !== undefined)!;
    const key = (JSON.parse(copy.body) as { id?: string }).id;
    // Act
    await invoke([sqsRecordFactory(copy.body, { eventSourceARN: rig.queues.queueArn })]);
    // Assess
    expect(key).toMatch(/^content\.[0-9a-f]{32}$/);
    expect(confirmed.map((m) => messageIdOf(m))).toEqual([`<${key}@example.com>`, `<${key}@example.com>`]);
    const item = await dynamo().ledgerItem(tableName, key!);
    expect(Object.keys(item?.recipients ?? {}).sort()).toEqual(['ann@example.com', 'later@example.com']);
  });

  it('a job with some recipients in the ledger: only the others in RCPT', async () => {
    // Prepare
    const { rig, log, table, invoke, rcpts, confirmed, tableName } = await ledgerRig();
    await table.record('job-5', [{ recipient: 'ann@example.com', state: 'delivered', messageId: '<job-5@example.com>' }], undefined);
    await rig.queues.publish([JSON.stringify(mailJob(5, { to: ['ann@example.com', 'bob@example.com'], cc: ['cat@example.com'] }))]);
    const [record] = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke([record!]);
    // Assess: the message is the same (To and Cc show everyone); the envelope skips ann@.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(rcpts()).toEqual([['bob@example.com', 'cat@example.com']]);
    expect(confirmed[0]!.content.toString('latin1')).toMatch(/^To: ann@example\.com, bob@example\.com$/m);
    expect(log.records().get(record!.messageId)?.attributes).toMatchObject({ outcome: 'delivered', accepted: 2 });
    const item = await dynamo().ledgerItem(tableName, 'job-5');
    expect(Object.keys(item?.recipients ?? {}).sort()).toEqual(['ann@example.com', 'bob@example.com', 'cat@example.com']);
  });

  it('two invocations at once on the same record: exactly one sends, the other hands it back untried', async () => {
    // Prepare
    const { rig, log, confirmed, invoke, datas } = await ledgerRig();
    await rig.queues.publish([JSON.stringify(mailJob(6))]);
    const [record] = await rig.queues.receiveRecords(10);
    // Act
    const [a, b] = await Promise.all([invoke([record!]), invoke([record!])]);
    const later = await invoke([record!]);
    // Assess
    expect([a, b].map((r) => r.batchItemFailures.length).sort()).toEqual([0, 1]);
    expect(confirmed).toHaveLength(1);
    expect(datas().reduce((sum, n) => sum + n, 0)).toBe(1);
    const lines = log.lines.filter((line) => line.attributes['sqsMessageId'] === record!.messageId).map((line) => line.attributes);
    expect(lines.map((line) => line['outcome']).sort()).toEqual(['delivered', 'duplicateSuppressed', 'transient']);
    expect(lines.find((line) => line['outcome'] === 'transient')).toMatchObject({ placement: 'retry', reason: { phase: 'ledger' } });
    expect(later).toEqual({ batchItemFailures: [] });
  });

  it('a job sent in several transactions: the recipients of the first are in the ledger before the last one is answered', async () => {
    // Prepare: one recipient per message; the relay holds its reply to the second message until the ledger has the first's recipient (or 3 s).
    let recordedFirst: boolean | undefined;
    let tableName = '';
    const started = await ledgerRig({
      maxRecipientsPerMessage: 1,
      onMessage: async (message) => {
        if (!message.envelope.to.includes('bob@example.com')) return undefined;
        const until = Date.now() + 3_000;
        do {
          const item = await dynamo().ledgerItem(tableName, 'job-8');
          recordedFirst = item?.recipients['ann@example.com']?.state === 'delivered';
          if (!recordedFirst) await new Promise((resolve) => setTimeout(resolve, 50));
        } while (!recordedFirst && Date.now() < until);
        return undefined;
      },
    });
    const { rig, invoke, confirmed } = started;
    tableName = started.tableName;
    await rig.queues.publish([JSON.stringify(mailJob(8, { to: ['ann@example.com', 'bob@example.com'] }))]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(confirmed.map((m) => m.envelope.to)).toEqual([['ann@example.com'], ['bob@example.com']]);
    expect(recordedFirst).toBe(true);
  });

  it('a batch of 10: one round trip of claims (10 UpdateItem, all sent before the first answer and before the first MAIL), one record per job', async () => {
    // Prepare: count the ledger's requests and when they went.
    const calls: { kind: 'claim' | 'record'; sentAt: number; answeredAt?: number }[] = [];
    const counting: Pick<DynamoDBClient, 'send'> = {
      send: (async (command: UpdateItemCommand, options?: { abortSignal?: AbortSignal }) => {
        const call: (typeof calls)[number] = {
          kind: command.input.ReturnValues === 'ALL_NEW' ? 'claim' : 'record',
          sentAt: performance.now(),
        };
        calls.push(call);
        try {
          return await dynamo().client.send(command, options);
        } finally {
          call.answeredAt = performance.now();
        }
      }) as DynamoDBClient['send'],
    };
    let firstMail: number | undefined;
    const { rig, invoke, confirmed } = await ledgerRig({
      deps: { dynamo: counting },
      onCommand: (command) => {
        if (command.verb === 'MAIL') firstMail ??= performance.now();
        return undefined;
      },
    });
    await rig.queues.publish(Array.from({ length: 10 }, (_, n) => JSON.stringify(mailJob(20 + n))));
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(confirmed).toHaveLength(10);
    const claims = calls.filter((call) => call.kind === 'claim');
    expect(claims).toHaveLength(10);
    expect(calls.filter((call) => call.kind === 'record')).toHaveLength(10);
    const firstAnswer = Math.min(...claims.map((call) => call.answeredAt ?? Infinity));
    expect(claims.every((call) => call.sentAt <= firstAnswer)).toBe(true);
    expect(Math.max(...claims.map((call) => call.sentAt))).toBeLessThan(firstMail ?? 0);
  });

  it('copies of one job for different recipients (blind copies re-enqueued one each) in two invocations at once: both send', async () => {
    // Prepare
    const { rig, invoke, confirmed } = await ledgerRig();
    const copy = (to: string): string => JSON.stringify(mailJob(9, { to: [to] }));
    await rig.queues.publish([copy('ann@example.com'), copy('bob@example.com')]);
    const [ann, bob] = await rig.queues.receiveRecords(10);
    // Act
    const responses = await Promise.all([invoke([ann!]), invoke([bob!])]);
    // Assess
    expect(responses).toEqual([{ batchItemFailures: [] }, { batchItemFailures: [] }]);
    expect(confirmed.map((m) => m.envelope.to).sort()).toEqual([['ann@example.com'], ['bob@example.com']]);
  });

  it('ambiguous (the dot sent, no reply): recorded as ambiguous, not delivered; the retry sends again', async () => {
    // Prepare
    let drops = 0;
    const { rig, log, invoke, datas, tableName } = await ledgerRig({ onMessage: () => (drops++ === 0 ? 'drop' : undefined) });
    await rig.queues.publish([JSON.stringify(mailJob(7))]);
    const [record] = await rig.queues.receiveRecords(10);
    // Act 1
    const one = await invoke([record!]);
    // Assess 1
    expect(one).toEqual({ batchItemFailures: [{ itemIdentifier: record!.messageId }] });
    expect(outcomeOf(log, record!)).toBe('ambiguous');
    const ambiguous = await dynamo().ledgerItem(tableName, 'job-7');
    expect(ambiguous?.recipients['rcpt7@example.com']).toMatchObject({ state: 'ambiguous', messageId: '<job-7@example.com>' });
    expect(ambiguous?.locks).toEqual({});
    // Act 2
    const two = await invoke([record!]);
    // Assess 2
    expect(two).toEqual({ batchItemFailures: [] });
    expect(datas()).toEqual([1, 1]);
    const delivered = await dynamo().ledgerItem(tableName, 'job-7');
    expect(delivered?.recipients['rcpt7@example.com']?.state).toBe('delivered');
  });
});
