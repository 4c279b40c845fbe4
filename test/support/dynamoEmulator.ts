/**
 * The DynamoDB emulator (`dynalite`) for tests: the local run's own (lib/local/LocalDynamo.ts),
 * started in-process on 127.0.0.1, port 0, with a fresh ledger table per test and a reader of a
 * job's ledger item. `useDynamoEmulator` registers the usual `beforeAll` / `afterAll` pair.
 * @module
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { LEDGER_ATTRIBUTE } from '../../lib/delivery/ledger/tableSchema.js';
import { startLocalDynamo } from '../../lib/local/LocalDynamo.js';
import type { LocalDynamo } from '../../lib/local/LocalDynamo.js';

/** A job's ledger item, read plainly. */
export interface LedgerItem {
  /** Locks held, by recipient (`lock:` taken off): `<until ms>|<owner>`. */
  locks: Record<string, string>;
  expiresAt?: number;
  /** By recipient (`rcpt:` taken off). */
  recipients: Record<string, { state: string; at: string; messageId?: string }>;
}

/** A running emulator. */
export interface DynamoEmulator extends LocalDynamo {
  /** Makes a ledger table with a name unique to this emulator and returns the name. */
  newLedgerTable(): Promise<string>;
  /** The job's item (consistent read), or `undefined`. */
  ledgerItem(table: string, jobId: string): Promise<LedgerItem | undefined>;
}

let counter = 0;

/**
 * Starts dynalite on 127.0.0.1, port 0.
 * @example
 * const dynamo = await startDynamoEmulator();
 * const table = await dynamo.newLedgerTable();
 */
export async function startDynamoEmulator(): Promise<DynamoEmulator> {
  const local = await startLocalDynamo(0, { region: 'us-east-1' });
  return {
    ...local,
    async newLedgerTable() {
      counter += 1;
      const name = `ledger-${counter}`;
      await local.createLedgerTable(name);
      return name;
    },
    async ledgerItem(table, jobId) {
      const reply = await local.client.send(
        new GetItemCommand({ TableName: table, Key: { [LEDGER_ATTRIBUTE.jobId]: { S: jobId } }, ConsistentRead: true }),
      );
      return reply.Item === undefined ? undefined : plainItem(reply.Item);
    },
  };
}

function plainItem(item: Record<string, AttributeValue>): LedgerItem {
  const plain: LedgerItem = { locks: {}, recipients: {} };
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith(LEDGER_ATTRIBUTE.lockPrefix) && value.S !== undefined) plain.locks[name.slice(LEDGER_ATTRIBUTE.lockPrefix.length)] = value.S;
    else if (name === LEDGER_ATTRIBUTE.expiresAt && value.N !== undefined) plain.expiresAt = Number(value.N);
    else if (name.startsWith(LEDGER_ATTRIBUTE.recipientPrefix) && value.M !== undefined) {
      const record = value.M;
      plain.recipients[name.slice(LEDGER_ATTRIBUTE.recipientPrefix.length)] = {
        state: record['state']?.S ?? '',
        at: record['at']?.S ?? '',
        ...(record['messageId']?.S === undefined ? {} : { messageId: record['messageId'].S }),
      };
    }
  }
  return plain;
}

/**
 * Starts one emulator for the calling file (or `describe` block) in `beforeAll` and stops it in
 * `afterAll`.
 * @returns A getter for the running emulator.
 * @throws Error (from the getter) when called outside the hooks' span.
 * @example
 * const dynamo = useDynamoEmulator();
 * it('...', async () => {
 *   const table = await dynamo().newLedgerTable();
 * });
 */
export function useDynamoEmulator(): () => DynamoEmulator {
  let running: DynamoEmulator | undefined;
  beforeAll(async () => {
    running = await startDynamoEmulator();
  });
  afterAll(async () => {
    await running?.stop();
    running = undefined;
  });
  return () => {
    if (running === undefined) throw new Error('the DynamoDB emulator is not running (useDynamoEmulator starts it in beforeAll)');
    return running;
  };
}
