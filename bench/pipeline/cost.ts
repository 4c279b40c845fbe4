/**
 * What a million mails cost through the pipeline, from what one measured run used per job:
 * Lambda GB-seconds and requests, SQS requests, DynamoDB on-demand request units, at public
 * us-east-1 list prices; next to SES's price per million.
 * @module
 */

/** Public us-east-1 list prices, USD, and where they come from. */
export const PRICES = {
  /** When the figures below were taken from the public price pages (not re-checked online by the bench). */
  asOf: '2025 (DynamoDB on-demand after the 2024-11-01 price cut)',
  /** Lambda, arm64, per GB-second (first 7.5 billion GB-s a month). */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda, per request. */
  lambdaRequest: 0.2 / 1e6,
  /** SQS standard queue, per request (each 64 KB of payload is one request). */
  sqsStandardRequest: 0.4 / 1e6,
  /** SQS FIFO queue, per request. */
  sqsFifoRequest: 0.5 / 1e6,
  /** DynamoDB on-demand, per write request unit (1 KB of item written). */
  dynamoWriteUnit: 0.625 / 1e6,
  /** DynamoDB on-demand, per read request unit (4 KB strongly consistent read). */
  dynamoReadUnit: 0.125 / 1e6,
  /** SES, per email sent (outbound, not from EC2): $0.10 per 1,000. */
  sesEmail: 0.1 / 1000,
} as const;

/** What one job used, on average over a measured run. */
export interface UsagePerJob {
  /** Lambda invocations per job (1 / the batch size, when batches are full). */
  invocations: number;
  /** Billed duration of the function per job, milliseconds. */
  durationMs: number;
  /** The function's memory setting, MiB. */
  memoryMiB: number;
  /** SQS requests per job: the producer's send, the event source's receive and delete, the function's own calls. */
  sqsRequests: number;
  /** DynamoDB write request units per job. */
  dynamoWriteUnits: number;
  /** DynamoDB read request units per job. */
  dynamoReadUnits: number;
  fifo: boolean;
}

/** USD per million mails, by part. */
export interface CostPerMillion {
  lambdaCompute: number;
  lambdaRequests: number;
  sqs: number;
  dynamo: number;
  total: number;
}

/**
 * The cost of a million mails at {@link PRICES}, without free tiers, logs, X-Ray, KMS or data transfer.
 * @example
 * costPerMillion({ invocations: 0.1, durationMs: 40, memoryMiB: 256, sqsRequests: 0.3, dynamoWriteUnits: 2, dynamoReadUnits: 0, fifo: false }).total;
 */
export function costPerMillion(usage: UsagePerJob): CostPerMillion {
  const million = 1e6;
  const lambdaCompute = million * (usage.durationMs / 1000) * (usage.memoryMiB / 1024) * PRICES.lambdaArmGbSecond;
  const lambdaRequests = million * usage.invocations * PRICES.lambdaRequest;
  const sqs = million * usage.sqsRequests * (usage.fifo ? PRICES.sqsFifoRequest : PRICES.sqsStandardRequest);
  const dynamo = million * (usage.dynamoWriteUnits * PRICES.dynamoWriteUnit + usage.dynamoReadUnits * PRICES.dynamoReadUnit);
  return { lambdaCompute, lambdaRequests, sqs, dynamo, total: lambdaCompute + lambdaRequests + sqs + dynamo };
}

/** SES's price for a million mails, USD. */
export const SES_PER_MILLION = 1e6 * PRICES.sesEmail;

/**
 * Write request units of one `UpdateItem` of an item of `itemBytes` (the larger of the item
 * before and after): one per started KiB.
 */
export function writeUnits(itemBytes: number): number {
  return Math.max(1, Math.ceil(itemBytes / 1024));
}
