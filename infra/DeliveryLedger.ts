/**
 * The delivery ledger's DynamoDB table (issue 9): which recipients of a job took the message, and
 * the in-progress claims that stop two invocations sending one job. The key schema and the TTL
 * attribute come from `lib/delivery/ledger/tableSchema.ts`, the code's own description of the table.
 * @module
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { Duration } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { Grant, IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LEDGER_ACTIONS, LEDGER_TABLE_SCHEMA } from '../lib/delivery/ledger/tableSchema.js';

export { LEDGER_ACTIONS } from '../lib/delivery/ledger/tableSchema.js';

/** Props of {@link DeliveryLedger}. */
export interface DeliveryLedgerProps {
  /**
   * How long a record is kept after it is written (its `expiresAt`, set by the function from
   * `MAIL_LEDGER_TTL_SECONDS`). `OutboundMail` gives the mail queue's retention plus the
   * dead-letter queue's: a job cannot come back, from the queue or redriven from the DLQ, after its
   * record expired. DynamoDB deletes expired items within days of their expiry, never before it.
   */
  readonly recordLifetime: Duration;
  /**
   * What happens to the table when it leaves the stack. `RETAIN` (the default) also turns on
   * deletion protection; `DESTROY` suits throw-away environments only.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The ledger table: on-demand billing (mail comes in bursts; no capacity to plan or to be throttled
 * by), point-in-time recovery, encryption at rest with the AWS-managed key `aws/dynamodb` (its use
 * shows in CloudTrail; no key policy to keep, no monthly key fee), TTL on `expiresAt`, and kept
 * (with deletion protection) when removed from the stack unless told otherwise.
 *
 * @example
 * ```ts
 * const ledger = new DeliveryLedger(this, 'Ledger', { recordLifetime: Duration.days(18) });
 * ledger.grantLedger(fn);
 * fn.addEnvironment('MAIL_LEDGER_TABLE', ledger.table.tableName);
 * ```
 */
export class DeliveryLedger extends Construct {
  /** The table. */
  readonly table: Table;
  /** How long a record is kept after it is written. */
  readonly recordLifetime: Duration;

  constructor(scope: Construct, id: string, props: DeliveryLedgerProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.recordLifetime = props.recordLifetime;
    this.table = new Table(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE_SCHEMA.partitionKey.name, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: LEDGER_TABLE_SCHEMA.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy,
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
    });
  }

  /**
   * Lets the send-mail function use the ledger: {@link LEDGER_ACTIONS} (the actions the ledger code
   * calls, from `tableSchema.ts`) on this table only: no index, no other table, no stream, no table
   * management.
   *
   * @param grantee - the send-mail function (or its role).
   * @returns the grant.
   */
  grantLedger(grantee: IGrantable): Grant {
    return this.table.grant(grantee, ...LEDGER_ACTIONS);
  }
}
