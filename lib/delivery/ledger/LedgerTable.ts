/**
 * The delivery ledger's DynamoDB calls: claim a job's recipients (and read who has it already) in
 * one conditional `UpdateItem`, and record the recipients that took it (releasing the locks) in
 * another. The layout is in `tableSchema.ts`.
 * @module
 */
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { recipientKey } from './recipients.js';
import { LEDGER_ATTRIBUTE } from './tableSchema.js';

/** What the ledger keeps of one recipient. */
export interface LedgerEntry {
  /** The envelope address (its domain is lower-cased for the attribute name). */
  recipient: string;
  /** `delivered`: the relay took it for this recipient; `ambiguous`: the end of data went out and no reply came (sent again on retry). */
  state: 'delivered' | 'ambiguous';
  /** The message's Message-ID, when known. */
  messageId?: string;
}

/**
 * The answer to a claim: whether this invocation now holds the job's recipients, and the
 * recipients the ledger says took it already (by {@link recipientKey}). When another invocation
 * holds one of them, the recipients are known only if DynamoDB returned the item with the refusal
 * (it does; dynalite does not).
 */
export interface ClaimReply {
  held: boolean;
  delivered: ReadonlySet<string>;
}

/** Who claims, and until when (epoch ms): one per invocation. */
export interface ClaimToken {
  owner: string;
  untilMs: number;
}

/** Settings of a {@link LedgerTable}. */
export interface LedgerTableOptions {
  /** `MAIL_LEDGER_TABLE`. */
  tableName: string;
  /** `MAIL_LEDGER_TTL_SECONDS`: how long an item is kept after its last write. */
  ttlSeconds: number;
  /**
   * Each call (the SDK's retries included) is cut after this long: a ledger that stalls must not
   * hold mail up (the job is then sent without it, at-least-once). @default 2000
   */
  timeoutMs?: number;
  /** The clock, epoch milliseconds. @default Date.now */
  now?: () => number;
}

/** DynamoDB's refusal of a conditional write. */
const CONDITION_FAILED = 'ConditionalCheckFailedException';

/**
 * The ledger table. Every method throws when DynamoDB cannot be reached or refuses the call
 * (timeout, throttling, missing table, abort): the caller sends without the ledger then.
 *
 * @example
 * const table = new LedgerTable(new DynamoDBClient({}), { tableName: 'mail-ledger', ttlSeconds: 2_419_200 });
 * const token = { owner: randomUUID(), untilMs: Date.now() + remainingMs };
 * const { held, delivered } = await table.claim('order-1234', ['ann@example.com'], token, signal);
 * await table.record('order-1234', [{ recipient: 'ann@example.com', state: 'delivered', messageId }], { token, recipients: ['ann@example.com'] }, signal);
 */
export class LedgerTable {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #options: LedgerTableOptions;

  constructor(client: Pick<DynamoDBClient, 'send'>, options: LedgerTableOptions) {
    this.#client = client;
    this.#options = options;
  }

  /**
   * Claims the job's `recipients` for `token.owner` until `token.untilMs` (one lock attribute each),
   * unless another owner's lock on one of them has not lapsed yet, and returns the recipients
   * already recorded as delivered. Two invocations holding one job for different recipients (its
   * blind copies, re-enqueued one per recipient) both go on; for one recipient, only one does.
   * @throws whatever the SDK throws, but not for a lock held elsewhere (`held: false`)
   */
  async claim(jobId: string, recipients: readonly string[], token: ClaimToken, signal?: AbortSignal): Promise<ClaimReply> {
    const now = this.#now();
    const names: Record<string, string> = { '#expires': LEDGER_ATTRIBUTE.expiresAt };
    const locks = distinctKeys(recipients).map((recipient, n) => {
      names[`#l${n}`] = lockAttribute(recipient);
      return `#l${n}`;
    });
    try {
      const reply = await this.#update(
        {
          Key: { [LEDGER_ATTRIBUTE.jobId]: { S: jobId } },
          UpdateExpression: `SET ${['#expires = :expires', ...locks.map((lock) => `${lock} = :lock`)].join(', ')}`,
          // A lock is `<until, 13 digits>|<owner>`: it compares above `:now` (13 digits) exactly while it holds.
          ...(locks.length === 0 ? {} : { ConditionExpression: locks.map((lock) => `NOT (${lock} > :now)`).join(' AND ') }),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':expires': { N: String(this.#expiresAt(now)) },
            ...(locks.length === 0 ? {} : { ':lock': { S: lockValue(token) }, ':now': { S: epochDigits(now) } }),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
        signal,
      );
      return { held: true, delivered: deliveredIn(reply.Attributes) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      return { held: false, delivered: deliveredIn((error as { Item?: Record<string, AttributeValue> }).Item) };
    }
  }

  /**
   * Records recipients (and refreshes the item's expiry). With `release`, also ends the locks
   * `release.token` holds on `release.recipients`, if it still holds them all: the recipients are
   * recorded either way. A long list goes in several requests ({@link ENTRIES_PER_REQUEST}), the
   * release with the last, once the others are answered. A recipient listed twice is recorded once.
   * @throws whatever the SDK throws
   */
  async record(
    jobId: string,
    entries: readonly LedgerEntry[],
    release: { token: ClaimToken; recipients: readonly string[] } | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    // One entry per attribute: a raw job's envelope may name a recipient twice, and DynamoDB refuses
    // an update that sets one attribute twice ("Two document paths overlap"). A delivery wins.
    const byRecipient = new Map<string, LedgerEntry>();
    for (const entry of entries) {
      const key = recipientKey(entry.recipient);
      if (byRecipient.get(key)?.state !== 'delivered') byRecipient.set(key, entry);
    }
    const distinct = [...byRecipient.values()];
    const chunks: (readonly LedgerEntry[])[] = [];
    for (let start = 0; start < distinct.length; start += ENTRIES_PER_REQUEST) chunks.push(distinct.slice(start, start + ENTRIES_PER_REQUEST));
    const last = chunks.pop() ?? [];
    if (release === undefined || chunks.length === 0) {
      await Promise.all([...chunks, last].map((chunk) => this.#record(jobId, chunk, release, signal)));
      return;
    }
    // The locks go only once the other requests' recipients are recorded (one more round trip, for
    // over 40 recipients): a lock released first would let a claim find them free and unrecorded.
    await Promise.all(chunks.map((chunk) => this.#record(jobId, chunk, undefined, signal)));
    await this.#record(jobId, last, release, signal);
  }

  async #record(
    jobId: string,
    entries: readonly LedgerEntry[],
    release: { token: ClaimToken; recipients: readonly string[] } | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const locks = release === undefined ? [] : distinctKeys(release.recipients);
    if (entries.length === 0 && locks.length === 0) return;
    const now = this.#now();
    const at = new Date(now).toISOString();
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const sets: string[] = [];
    if (entries.length > 0) {
      names['#expires'] = LEDGER_ATTRIBUTE.expiresAt;
      values[':expires'] = { N: String(this.#expiresAt(now)) };
      sets.push('#expires = :expires');
    }
    entries.forEach((entry, n) => {
      names[`#r${n}`] = recipientAttribute(entry.recipient);
      values[`:r${n}`] = {
        M: { state: { S: entry.state }, at: { S: at }, ...(entry.messageId === undefined ? {} : { messageId: { S: entry.messageId } }) },
      };
      // An ambiguous send never hides an earlier delivery's record.
      sets.push(entry.state === 'delivered' ? `#r${n} = :r${n}` : `#r${n} = if_not_exists(#r${n}, :r${n})`);
    });
    const key = { [LEDGER_ATTRIBUTE.jobId]: { S: jobId } };
    const set = sets.length > 0 ? `SET ${sets.join(', ')}` : '';
    if (release !== undefined && locks.length > 0) {
      const lockNames = Object.fromEntries(locks.map((recipient, n) => [`#l${n}`, lockAttribute(recipient)]));
      try {
        await this.#update(
          {
            Key: key,
            UpdateExpression: `${set} REMOVE ${Object.keys(lockNames).join(', ')}`.trim(),
            ConditionExpression: Object.keys(lockNames)
              .map((lock) => `${lock} = :mine`)
              .join(' AND '),
            ExpressionAttributeNames: { ...names, ...lockNames },
            ExpressionAttributeValues: { ...values, ':mine': { S: lockValue(release.token) } },
          },
          signal,
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // A lock is no longer ours (it lapsed and was taken): record without touching the locks.
        if (entries.length === 0) return;
      }
    }
    await this.#update({ Key: key, UpdateExpression: set, ExpressionAttributeNames: names, ExpressionAttributeValues: values }, signal);
  }

  async #update(
    input: Omit<ConstructorParameters<typeof UpdateItemCommand>[0], 'TableName'>,
    signal: AbortSignal | undefined,
  ): Promise<{ Attributes?: Record<string, AttributeValue> }> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 2000);
    const abortSignal = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    return this.#client.send(new UpdateItemCommand({ TableName: this.#options.tableName, ...input }), { abortSignal });
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #expiresAt(nowMs: number): number {
    return Math.floor(nowMs / 1000) + this.#options.ttlSeconds;
  }
}

/** Recipient records per request: keeps every expression well under DynamoDB's 4 KB (a job has at most 100 recipients). */
export const ENTRIES_PER_REQUEST = 40;

/** The attribute holding a recipient's record. */
export function recipientAttribute(recipient: string): string {
  return `${LEDGER_ATTRIBUTE.recipientPrefix}${recipientKey(recipient)}`;
}

/** The attribute holding a recipient's lock. */
export function lockAttribute(recipient: string): string {
  return `${LEDGER_ATTRIBUTE.lockPrefix}${recipientKey(recipient)}`;
}

/** A lock's value: the moment it lapses (13 digits of epoch ms, so that strings compare as numbers) and its owner. */
export function lockValue(token: ClaimToken): string {
  return `${epochDigits(token.untilMs)}|${token.owner}`;
}

function epochDigits(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(13, '0');
}

/** The recipients' ledger names, each once. */
function distinctKeys(recipients: readonly string[]): string[] {
  return [...new Set(recipients.map(recipientKey))];
}

/** The recipients an item records as delivered (ambiguous ones are not: they are sent again). */
function deliveredIn(item: Record<string, AttributeValue> | undefined): ReadonlySet<string> {
  const delivered = new Set<string>();
  for (const [name, value] of Object.entries(item ?? {})) {
    if (name.startsWith(LEDGER_ATTRIBUTE.recipientPrefix) && value.M?.['state']?.S === 'delivered') {
      delivered.add(name.slice(LEDGER_ATTRIBUTE.recipientPrefix.length));
    }
  }
  return delivered;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === CONDITION_FAILED;
}
