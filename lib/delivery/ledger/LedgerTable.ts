/**
 * The delivery ledger's DynamoDB calls: claim a job (and read who has it already) in one
 * conditional `UpdateItem`, and record the recipients that took it (releasing the claim) in
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
 * The answer to a claim: whether this invocation now holds the job, and the recipients the ledger
 * says took it already (by {@link recipientKey}). When another invocation holds the job, the
 * recipients are known only if DynamoDB returned the item with the refusal (it does; dynalite does not).
 */
export interface ClaimReply {
  held: boolean;
  delivered: ReadonlySet<string>;
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
 * const { held, delivered } = await table.claim('order-1234', owner, Date.now() + remainingMs, signal);
 * await table.record('order-1234', [{ recipient: 'ann@example.com', state: 'delivered', messageId }], { owner }, signal);
 */
export class LedgerTable {
  readonly #client: Pick<DynamoDBClient, 'send'>;
  readonly #options: LedgerTableOptions;

  constructor(client: Pick<DynamoDBClient, 'send'>, options: LedgerTableOptions) {
    this.#client = client;
    this.#options = options;
  }

  /**
   * Claims the job for `owner` until `untilMs` (epoch ms) unless another owner's claim has not
   * lapsed yet, and returns the recipients already recorded as delivered.
   * @throws whatever the SDK throws, but not for a claim held elsewhere (`held: false`)
   */
  async claim(jobId: string, owner: string, untilMs: number, signal?: AbortSignal): Promise<ClaimReply> {
    const now = this.#now();
    try {
      const reply = await this.#update(
        {
          Key: { [LEDGER_ATTRIBUTE.jobId]: { S: jobId } },
          UpdateExpression: 'SET #owner = :owner, #until = :until, #expires = :expires',
          ConditionExpression: 'attribute_not_exists(#until) OR #until < :now',
          ExpressionAttributeNames: {
            '#owner': LEDGER_ATTRIBUTE.claimOwner,
            '#until': LEDGER_ATTRIBUTE.claimUntil,
            '#expires': LEDGER_ATTRIBUTE.expiresAt,
          },
          ExpressionAttributeValues: {
            ':owner': { S: owner },
            ':until': { N: String(Math.floor(untilMs)) },
            ':now': { N: String(now) },
            ':expires': { N: String(this.#expiresAt(now)) },
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
   * Records recipients (and refreshes the item's expiry). With `release`, also ends `release.owner`'s
   * claim, if it still holds it: the recipients are recorded either way.
   * @throws whatever the SDK throws
   */
  async record(jobId: string, entries: readonly LedgerEntry[], release: { owner: string } | undefined, signal?: AbortSignal): Promise<void> {
    if (entries.length === 0 && release === undefined) return;
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
    if (release !== undefined) {
      try {
        await this.#update(
          {
            Key: key,
            UpdateExpression: `${set} REMOVE #owner, #until`.trim(),
            ConditionExpression: '#owner = :me',
            ExpressionAttributeNames: { ...names, '#owner': LEDGER_ATTRIBUTE.claimOwner, '#until': LEDGER_ATTRIBUTE.claimUntil },
            ExpressionAttributeValues: { ...values, ':me': { S: release.owner } },
          },
          signal,
        );
        return;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        // The claim is no longer ours (it lapsed and was taken): record without touching it.
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

/** The attribute holding a recipient's record. */
export function recipientAttribute(recipient: string): string {
  return `${LEDGER_ATTRIBUTE.recipientPrefix}${recipientKey(recipient)}`;
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
