/**
 * The delivery ledger's edges found in review, through the send-mail handler against the scripted
 * relay, the SQS emulator and dynalite: a raw job naming a recipient twice in its envelope, and the
 * order of a job's ledger writes when two records of one batch carry it (the locks go last).
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createSendMailHandler, LedgerTable } from '../../lib/delivery/index.js';
import { useDynamoEmulator } from '../support/dynamoEmulator.js';
import { useLedgerRig } from '../support/ledgerRig.js';
import type { LedgerRig, LedgerRigOptions } from '../support/ledgerRig.js';
import { mailJob } from '../support/sendMailHarness.js';
import { lambdaContext, sqsEvent } from '../support/sqsEvents.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
const dynamo = useDynamoEmulator();
const ledgerRig = useLedgerRig(emulator, dynamo);

/** A raw job whose envelope names `to` as given (the producer's, duplicates and all). */
function rawJob(id: string, to: string[]): string {
  const message = [
    'From: Sender <sender@example.com>',
    `To: ${to[0] ?? ''}`,
    'Subject: Raw',
    'Date: Tue, 01 Dec 2026 10:00:00 +0000',
    `Message-ID: <${id}@example.com>`,
    '',
    'Hello.',
    '',
  ].join('\r\n');
  return JSON.stringify({ v: 1, id, raw: { envelope: { from: 'sender@example.com', to }, message } });
}

/**
 * Publishes job `n` twice and hands both copies, in one batch and on their last receive
 * (ApproximateReceiveCount 3 with MAIL_MAX_RECEIVES 3), to a handler with the ledger; the relay
 * answers as `options` say.
 */
async function bothCopiesOnLastReceive(n: number, options: LedgerRigOptions = {}) {
  const { rig, log, confirmed, tableName } = await ledgerRig(options);
  const handler = createSendMailHandler(
    { ...rig.config, ledger: { tableName, ttlSeconds: 3600 }, maxReceives: 3 },
    { log, metrics: rig.metrics, sqs: emulator().sqs, dynamo: dynamo().client, tuning: { backoff: { random: () => 0 } } },
  );
  const body = JSON.stringify(mailJob(n));
  await rig.queues.publish([body, body]);
  const records = (await rig.queues.receiveRecords(10)).map((record) => ({
    ...record,
    attributes: { ...record.attributes, ApproximateReceiveCount: '3' },
  }));
  const response = await handler(sqsEvent(records), lambdaContext());
  return { rig, log, confirmed, records, response };
}

describe('delivery ledger, edges found in review', () => {
  it('a raw job naming one recipient twice in its envelope (domain case aside): sent once, recorded once, the locks released, a re-delivery suppressed', async () => {
    // Prepare
    const { rig, log, metrics, confirmed, tableName, invoke, rcpts } = await ledgerRig();
    await rig.queues.publish([rawJob('raw-dup', ['dup@example.com', 'dup@EXAMPLE.com', 'other@example.com'])]);
    const [record] = await rig.queues.receiveRecords(10);
    // Act
    const first = await invoke([record!]);
    const again = await invoke([record!]);
    // Assess
    expect(first).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    expect(rcpts()).toEqual([['dup@example.com', 'other@example.com'], []]);
    expect(confirmed).toHaveLength(1);
    expect(metrics.get('LedgerUnavailable')).toBe(0);
    const item = await dynamo().ledgerItem(tableName, 'raw-dup');
    expect(item?.locks).toEqual({});
    expect(Object.keys(item?.recipients ?? {}).sort()).toEqual(['dup@example.com', 'other@example.com']);
    expect(item?.recipients['dup@example.com']).toMatchObject({ state: 'delivered', messageId: '<raw-dup@example.com>' });
    expect(log.records().get(record!.messageId)?.attributes['outcome']).toBe('duplicateSuppressed');
  });

  it('two records of one job in a batch: the locks are released only after the delivered recipients are recorded, so no claim in between finds them free and unrecorded', async () => {
    // Prepare: the delivered record's write is held back until the release has had time to go
    // (300 ms); while it is held, another invocation (a third copy of the job) claims the recipient.
    const real = dynamo().client;
    let competing: { held: boolean; delivered: string[] } | undefined;
    let released = false;
    const started: { rig?: LedgerRig } = {};
    const send = (async (command: unknown, options?: unknown) => {
      if (command instanceof UpdateItemCommand) {
        const input = command.input;
        const release = input.UpdateExpression?.includes('REMOVE') === true;
        const recordOnly = input.ConditionExpression === undefined && input.UpdateExpression?.includes(':r0') === true;
        if (release) released = true;
        if (recordOnly && competing === undefined && started.rig !== undefined) {
          for (let waited = 0; waited < 300 && !released; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
          const reply = await started.rig.table.claim('job-31', ['rcpt31@example.com'], { owner: 'third-copy', untilMs: Date.now() + 60_000 });
          competing = { held: reply.held, delivered: [...reply.delivered] };
        }
      }
      return real.send(command as never, options as never);
    }) as DynamoDBClient['send'];
    const rig = await ledgerRig({ deps: { dynamo: { send } } });
    started.rig = rig;
    const body = JSON.stringify(mailJob(31));
    await rig.rig.queues.publish([body, body]);
    const records = await rig.rig.queues.receiveRecords(10);
    // Act
    const response = await rig.invoke(records);
    // Assess: one sent, the copy comes back; the third copy's claim, made while the delivery was
    // not yet recorded, is refused (the lock still held), never granted with nobody delivered.
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
    expect(rig.confirmed).toHaveLength(1);
    expect(competing).toEqual({ held: false, delivered: [] });
    const item = await dynamo().ledgerItem(rig.tableName, 'job-31');
    expect(item?.recipients['rcpt31@example.com']?.state).toBe('delivered');
  });

  it('a job of 100 recipients recorded with the release: the locks go in the last request, sent only once the other two are answered', async () => {
    // Prepare
    const real = dynamo().client;
    const events: string[] = [];
    const send = (async (command: unknown, options?: unknown) => {
      const release = command instanceof UpdateItemCommand && command.input.UpdateExpression?.includes('REMOVE') === true;
      events.push(release ? 'release sent' : 'record sent');
      const reply = await real.send(command as never, options as never);
      events.push(release ? 'release answered' : 'record answered');
      return reply;
    }) as DynamoDBClient['send'];
    const tableName = await dynamo().newLedgerTable();
    const table = new LedgerTable({ send }, { tableName, ttlSeconds: 3600 });
    const recipients = Array.from({ length: 100 }, (_, n) => `r${n}@example.com`);
    const token = { owner: 'one', untilMs: Date.now() + 60_000 };
    await table.claim('job-100', recipients, token);
    events.length = 0;
    // Act
    await table.record(
      'job-100',
      recipients.map((recipient) => ({ recipient, state: 'delivered' as const })),
      { token, recipients },
    );
    // Assess
    expect(events).toEqual(['record sent', 'record sent', 'record answered', 'record answered', 'release sent', 'release answered']);
    const item = await dynamo().ledgerItem(tableName, 'job-100');
    expect(item?.locks).toEqual({});
    expect(Object.keys(item?.recipients ?? {})).toHaveLength(100);
  });

  it('a job published twice, both copies in one batch on their last receive (MAIL_MAX_RECEIVES): the copy is found delivered by the first, not dead-lettered as a failure', async () => {
    // Prepare, Act
    const { rig, log, confirmed, records, response } = await bothCopiesOnLastReceive(32);
    // Assess: sent once; the copy is done as a duplicate; nothing in the DLQ.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(confirmed).toHaveLength(1);
    expect(records.map((record) => log.records().get(record.messageId)?.attributes['outcome'])).toEqual(['delivered', 'duplicateSuppressed']);
    expect(await rig.queues.receiveAll(rig.queues.dlqUrl)).toEqual([]);
  });

  it('the same, when the first copy fails for now too: both are dead-lettered on their last receive, the copy with the ledger reason', async () => {
    // Prepare, Act
    const { rig, confirmed, records, response } = await bothCopiesOnLastReceive(33, { onMessage: () => ['451 4.3.0 Try later'] });
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(confirmed).toHaveLength(0);
    const dead = await rig.queues.receiveAll(rig.queues.dlqUrl);
    const phases = new Map(
      dead.map((m) => [m.MessageAttributes?.['SourceMessageId']?.StringValue, m.MessageAttributes?.['FailurePhase']?.StringValue]),
    );
    expect(phases).toEqual(
      new Map([
        [records[0]!.messageId, 'data'],
        [records[1]!.messageId, 'ledger'],
      ]),
    );
    expect(dead.map((m) => m.MessageAttributes?.['FailureKind']?.StringValue)).toEqual(['last-receive', 'last-receive']);
  });
});
