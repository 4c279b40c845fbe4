/**
 * The ledger's DynamoDB calls against dynalite: the conditional claim (and what it reads), its
 * lapse, recording recipients and releasing only one's own claim; and the pure parts: recipient
 * names, a job's recipients, a raw message's Message-ID, the id written into re-enqueued copies.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { LedgerTable, recipientAttribute } from '../../lib/delivery/ledger/LedgerTable.js';
import { headerMessageId, jobRecipients, recipientKey } from '../../lib/delivery/ledger/recipients.js';
import { LEDGER_TABLE_SCHEMA, ledgerCreateTableInput } from '../../lib/delivery/ledger/tableSchema.js';
import { narrowedComposedJobs, narrowedRawJob } from '../../lib/delivery/requeueJob.js';
import { parseMailJob } from '../../lib/message/index.js';
import { useDynamoEmulator } from '../support/dynamoEmulator.js';

const dynamo = useDynamoEmulator();

async function table(now?: () => number): Promise<{ ledger: LedgerTable; name: string }> {
  const name = await dynamo().newLedgerTable();
  return { ledger: new LedgerTable(dynamo().client, { tableName: name, ttlSeconds: 600, ...(now === undefined ? {} : { now }) }), name };
}

describe('LedgerTable', () => {
  it('a claim holds the job until it lapses: a second owner is refused before, and takes it after', async () => {
    // Prepare
    let clock = 1_000_000;
    const { ledger, name } = await table(() => clock);
    // Act
    const first = await ledger.claim('job-1', 'owner-a', clock + 5_000);
    const refused = await ledger.claim('job-1', 'owner-b', clock + 5_000);
    clock += 5_001;
    const taken = await ledger.claim('job-1', 'owner-b', clock + 5_000);
    // Assess
    expect(first.held).toBe(true);
    expect(refused.held).toBe(false);
    expect(taken.held).toBe(true);
    expect(await dynamo().ledgerItem(name, 'job-1')).toMatchObject({
      claimOwner: 'owner-b',
      claimUntil: clock + 5_000,
      expiresAt: Math.floor(clock / 1000) + 600,
    });
  });

  it('the claim reads the recipients recorded as delivered (not the ambiguous ones), by their ledger name', async () => {
    // Prepare
    const { ledger } = await table();
    await ledger.record(
      'job-2',
      [
        { recipient: 'Ann@Example.COM', state: 'delivered', messageId: '<job-2@example.com>' },
        { recipient: 'bob@example.com', state: 'ambiguous' },
      ],
      undefined,
    );
    // Act
    const claim = await ledger.claim('job-2', 'owner-a', Date.now() + 5_000);
    // Assess
    expect(claim).toEqual({ held: true, delivered: new Set(['Ann@example.com']) });
  });

  it('recording with release ends only its own claim; another owner records without touching it', async () => {
    // Prepare
    const { ledger, name } = await table();
    await ledger.claim('job-3', 'owner-a', Date.now() + 60_000);
    // Act
    await ledger.record('job-3', [{ recipient: 'ann@example.com', state: 'delivered' }], { owner: 'owner-b' });
    const afterOther = await dynamo().ledgerItem(name, 'job-3');
    await ledger.record('job-3', [], { owner: 'owner-b' });
    await ledger.record('job-3', [{ recipient: 'bob@example.com', state: 'delivered' }], { owner: 'owner-a' });
    const afterOwn = await dynamo().ledgerItem(name, 'job-3');
    // Assess
    expect(afterOther?.claimOwner).toBe('owner-a');
    expect(Object.keys(afterOther?.recipients ?? {})).toEqual(['ann@example.com']);
    expect(afterOwn?.claimOwner).toBeUndefined();
    expect(Object.keys(afterOwn?.recipients ?? {}).sort()).toEqual(['ann@example.com', 'bob@example.com']);
  });

  it('an ambiguous send never hides an earlier delivery; a delivery replaces an ambiguous record', async () => {
    // Prepare
    const { ledger, name } = await table();
    await ledger.record('job-4', [{ recipient: 'ann@example.com', state: 'delivered', messageId: '<m1@x>' }], undefined);
    await ledger.record('job-4', [{ recipient: 'bob@example.com', state: 'ambiguous' }], undefined);
    // Act
    await ledger.record('job-4', [{ recipient: 'ann@example.com', state: 'ambiguous' }], undefined);
    await ledger.record('job-4', [{ recipient: 'bob@example.com', state: 'delivered' }], undefined);
    // Assess
    const item = await dynamo().ledgerItem(name, 'job-4');
    expect(item?.recipients['ann@example.com']).toMatchObject({ state: 'delivered', messageId: '<m1@x>' });
    expect(item?.recipients['bob@example.com']?.state).toBe('delivered');
  });

  it('releasing a claim that was never made creates nothing', async () => {
    // Prepare
    const { ledger, name } = await table();
    // Act
    await ledger.record('job-5', [], { owner: 'owner-a' });
    // Assess
    expect(await dynamo().ledgerItem(name, 'job-5')).toBeUndefined();
  });

  it('an endpoint that never answers: the call fails after the timeout, not later', async () => {
    // Prepare
    const sockets = new Set<Socket>();
    const server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const ledger = new LedgerTable(client, { tableName: 'ledger', ttlSeconds: 60, timeoutMs: 200 });
    const started = Date.now();
    try {
      // Act + Assess
      await expect(ledger.claim('job-6', 'owner-a', Date.now() + 5_000)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_500);
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('the table schema: partition key jobId (string) and nothing else, TTL on expiresAt', () => {
    expect(LEDGER_TABLE_SCHEMA).toEqual({ partitionKey: { name: 'jobId', type: 'S' }, timeToLiveAttribute: 'expiresAt' });
    expect(ledgerCreateTableInput('t-1')).toEqual({
      TableName: 't-1',
      AttributeDefinitions: [{ AttributeName: 'jobId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'jobId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
  });
});

describe('the ledger names', () => {
  it('a recipient: the local part as written, the domain in lower case', () => {
    expect(recipientKey('Ann@Example.COM')).toBe('Ann@example.com');
    expect(recipientAttribute('Ann@Example.COM')).toBe('rcpt:Ann@example.com');
  });

  it("a job's recipients: to, cc, bcc once each, as composeMail's envelope; a raw job's own envelope", () => {
    const composed = parseMailJob({
      v: 1,
      from: 'a@example.com',
      to: ['b@example.com', 'B@EXAMPLE.com'],
      cc: 'c@example.com',
      bcc: 'b@example.com',
      subject: 's',
      text: 't',
    });
    const raw = parseMailJob({
      v: 1,
      raw: { envelope: { from: 'a@example.com', to: ['x@example.com', 'x@EXAMPLE.COM'] }, message: 'From: a@example.com\r\nSubject: s\r\n\r\nt\r\n' },
    });
    expect(jobRecipients(composed)).toEqual(['b@example.com', 'B@example.com', 'c@example.com']);
    expect(jobRecipients(raw)).toEqual(['x@example.com']);
  });

  it("a raw message's Message-ID, from its header only (folded or not)", () => {
    expect(headerMessageId('Subject: s\r\nMessage-ID:\r\n <abc@example.com>\r\n\r\nbody')).toBe('<abc@example.com>');
    expect(headerMessageId('Subject: s\r\n\r\nMessage-ID: <in-body@example.com>\r\n')).toBeUndefined();
  });

  it('a copy re-enqueued for some recipients carries the job id it was given (a job published without one), and keeps its own', () => {
    const job = JSON.stringify({ v: 1, from: 'a@example.com', to: ['b@example.com', 'c@example.com'], subject: 's', text: 't' });
    const raw = JSON.stringify({
      v: 1,
      raw: { envelope: { from: 'a@example.com', to: ['b@example.com', 'c@example.com'] }, message: 'Subject: s\r\n\r\nt\r\n' },
    });
    const copyOf = (narrowed: ReturnType<typeof narrowedRawJob>): unknown => ('copy' in narrowed ? JSON.parse(narrowed.copy(0).body) : narrowed);
    expect(copyOf(narrowedComposedJobs(job, ['c@example.com'], 'content.0123'))).toMatchObject({ id: 'content.0123', to: ['c@example.com'] });
    expect(copyOf(narrowedRawJob(raw, ['c@example.com'], 'content.0123'))).toMatchObject({
      id: 'content.0123',
      raw: { envelope: { to: ['c@example.com'] } },
    });
    expect(copyOf(narrowedComposedJobs(JSON.stringify({ ...JSON.parse(job), id: 'own' }), ['c@example.com'], 'content.0123'))).toMatchObject({
      id: 'own',
    });
  });
});
