/**
 * The delivery ledger's DynamoDB table as the code uses it: one item per job, keyed by the job id.
 * The stack (infra/DeliveryLedger.ts), the local run and the tests build the table from this file,
 * so there is one description of it. Plain data: no SDK import, so `infra/` can read it.
 *
 * An item (attribute names from {@link LEDGER_ATTRIBUTE}):
 *
 * | attribute | type | holds |
 * |---|---|---|
 * | `jobId` | S | partition key: the producer's job id, or the id derived from the job's content (`lib/message/contentJobId.ts`) |
 * | `lock:<recipient>` | S | while an invocation is sending the job to that recipient: `<until>\|<owner>`, when the lock lapses (13 digits of epoch ms: the holder's deadline, shorter than the queue's visibility timeout) and a random token of the invocation |
 * | `rcpt:<recipient>` | M | one per recipient that took the message or may have: `{ state: 'delivered' \| 'ambiguous', at: ISO 8601, messageId?: S }` |
 * | `expiresAt` | N | TTL, epoch seconds: the last write plus `MAIL_LEDGER_TTL_SECONDS` |
 *
 * One item per job, not one per recipient: the claim (a lock per recipient, so that copies of one
 * job for different recipients go on side by side) and the read of what was delivered are then
 * one conditional `UpdateItem` (`ReturnValues: ALL_NEW`), and recording a job's recipients is one
 * more; a job of 100 recipients stays far under DynamoDB's 400 KB item limit (~60 KB at most).
 * @module
 */

/** Names of the ledger item's attributes. */
export const LEDGER_ATTRIBUTE = {
  /** Partition key (S). */
  jobId: 'jobId',
  /** Prefix of a recipient's lock (S, `<until ms, 13 digits>|<owner>`): `lock:` then the recipient as for {@link LEDGER_ATTRIBUTE.recipientPrefix}. */
  lockPrefix: 'lock:',
  /** TTL attribute, epoch seconds (N). */
  expiresAt: 'expiresAt',
  /** Prefix of a recipient's attribute (M): `rcpt:` then the envelope address, its domain in lower case. */
  recipientPrefix: 'rcpt:',
} as const;

/**
 * The table's key and TTL, for the stack and for `CreateTable`: partition key `jobId` (string), no
 * sort key; TTL on `expiresAt`; on-demand billing.
 */
export const LEDGER_TABLE_SCHEMA = {
  partitionKey: { name: LEDGER_ATTRIBUTE.jobId, type: 'S' },
  timeToLiveAttribute: LEDGER_ATTRIBUTE.expiresAt,
} as const;

/**
 * The DynamoDB actions the function calls on the table, and no others (the stack's grant):
 * `UpdateItem` for the claim (conditional, returning the item), for recording recipients and for
 * releasing the locks.
 */
export const LEDGER_ACTIONS = ['dynamodb:UpdateItem'] as const;

/** Default of `MAIL_LEDGER_TTL_SECONDS`: 28 days, SQS's longest retention (14 days) in the queue plus the same in the DLQ. */
export const DEFAULT_LEDGER_TTL_SECONDS = 28 * 24 * 60 * 60;

/**
 * The `CreateTable` input of a ledger table (local run and tests; the stack builds its own from
 * {@link LEDGER_TABLE_SCHEMA}).
 * @example
 * await dynamo.send(new CreateTableCommand(ledgerCreateTableInput('mail-ledger')));
 */
export function ledgerCreateTableInput(tableName: string): {
  TableName: string;
  AttributeDefinitions: { AttributeName: string; AttributeType: 'S' }[];
  KeySchema: { AttributeName: string; KeyType: 'HASH' }[];
  BillingMode: 'PAY_PER_REQUEST';
} {
  return {
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: LEDGER_TABLE_SCHEMA.partitionKey.name, AttributeType: LEDGER_TABLE_SCHEMA.partitionKey.type }],
    KeySchema: [{ AttributeName: LEDGER_TABLE_SCHEMA.partitionKey.name, KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  };
}
