/**
 * The ledger's DynamoDB calls against dynalite: the conditional claim of a job's recipients (and
 * what it reads), its lapse, recording recipients and releasing only one's own locks; and the pure parts: recipient
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
  it('a claim locks the recipients until it lapses: a second owner is refused before, and takes them after', async () => {
    // Prepare
    let clock = 1_000_000;
    const { ledger, name } = await table(() => clock);
    const a = { owner: 'owner-a', untilMs: clock + 5_000 };
    // Act
    const first = await ledger.claim('job-1', ['ann@example.com', 'Bob@Example.com'], a);
    const refused = await ledger.claim('job-1', ['Bob@EXAMPLE.com'], { owner: 'owner-b', untilMs: clock + 5_000 });
    clock += 5_001;
    const taken = await ledger.claim('job-1', ['Bob@example.com'], { owner: 'owner-b', untilMs: clock + 5_000 });
    // Assess
    expect(first.held).toBe(true);
    expect(refused.held).toBe(false);
    expect(taken.held).toBe(true);
    expect(await dynamo().ledgerItem(name, 'job-1')).toMatchObject({
      locks: { 'ann@example.com': '0000001005000|owner-a', 'Bob@example.com': `${String(clock + 5_000).padStart(13, '0')}|owner-b` },
      expiresAt: Math.floor(clock / 1000) + 600,
    });
  });

  it('two owners of one job for different recipients (blind copies) both hold their claims', async () => {
    // Prepare
    const { ledger } = await table();
    const until = Date.now() + 60_000;
    // Act
    const a = await ledger.claim('job-7', ['ann@example.com'], { owner: 'owner-a', untilMs: until });
    const b = await ledger.claim('job-7', ['bob@example.com'], { owner: 'owner-b', untilMs: until });
    const c = await ledger.claim('job-7', ['cat@example.com', 'ann@example.com'], { owner: 'owner-c', untilMs: until });
    // Assess
    expect([a.held, b.held, c.held]).toEqual([true, true, false]);
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
    const claim = await ledger.claim('job-2', ['Ann@example.com', 'bob@example.com'], { owner: 'owner-a', untilMs: Date.now() + 5_000 });
    // Assess
    expect(claim).toEqual({ held: true, delivered: new Set(['Ann@example.com']) });
  });

  it('recording with release ends only its own locks; another owner records without touching them', async () => {
    // Prepare
    const { ledger, name } = await table();
    const a = { owner: 'owner-a', untilMs: Date.now() + 60_000 };
    const b = { owner: 'owner-b', untilMs: a.untilMs };
    const both = ['ann@example.com', 'bob@example.com'];
    await ledger.claim('job-3', both, a);
    // Act
    await ledger.record('job-3', [{ recipient: 'ann@example.com', state: 'delivered' }], { token: b, recipients: both });
    const afterOther = await dynamo().ledgerItem(name, 'job-3');
    await ledger.record('job-3', [], { token: b, recipients: both });
    await ledger.record('job-3', [{ recipient: 'bob@example.com', state: 'delivered' }], { token: a, recipients: both });
    const afterOwn = await dynamo().ledgerItem(name, 'job-3');
    // Assess
    expect(Object.keys(afterOther?.locks ?? {}).sort()).toEqual(both);
    expect(Object.keys(afterOther?.recipients ?? {})).toEqual(['ann@example.com']);
    expect(afterOwn?.locks).toEqual({});
    expect(Object.keys(afterOwn?.recipients ?? {}).sort()).toEqual(both);
  });

  it('100 recipients: claimed in one request, recorded in three (40 each), released with the last', async () => {
    // Prepare
    const { ledger, name } = await table();
    const token = { owner: 'owner-a', untilMs: Date.now() + 60_000 };
    const all = Array.from({ length: 100 }, (_, n) => `recipient.number.${n}@a-rather-long-domain-name.example.com`);
    // Act
    const claim = await ledger.claim('job-8', all, token);
    await ledger.record(
      'job-8',
      all.map((recipient) => ({ recipient, state: 'delivered' as const, messageId: '<job-8@example.com>' })),
      { token, recipients: all },
    );
    // Assess
    const item = await dynamo().ledgerItem(name, 'job-8');
    expect(claim.held).toBe(true);
    expect(Object.keys(item?.recipients ?? {})).toHaveLength(100);
    expect(item?.locks).toEqual({});
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
    await ledger.record('job-5', [], { token: { owner: 'owner-a', untilMs: Date.now() + 5_000 }, recipients: ['ann@example.com'] });
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
      await expect(ledger.claim('job-6', ['ann@example.com'], { owner: 'owner-a', untilMs: Date.now() + 5_000 })).rejects.toThrow();
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
