/**
 * The delivery ledger of a fault-injection run: dynalite with the ledger table, behind a call
 * recorder that fails some calls (the plan's `ledgerError`) and remembers them all, so the run can
 * tell when each delivery was recorded.
 * @module
 */
import { LOCAL_LEDGER_TABLE, startLocalDynamo } from '../../lib/local/LocalDynamo.js';
import { startAwsCallRecorder } from '../support/awsCallRecorder.js';
import type { RecordedCall } from '../support/awsCallRecorder.js';
import type { FaultLog } from './FaultLog.js';
import type { SeededRandom } from './random.js';
import type { LedgerEvidence } from './runEvidence.js';

/** The running ledger. */
export interface ChaosLedger {
  /** The function's settings for it (`MAIL_LEDGER_TABLE`, `AWS_ENDPOINT_URL_DYNAMODB`). */
  environment: Record<string, string>;
  /** Every call that reached the recorder. */
  calls: readonly RecordedCall[];
  stop(): Promise<void>;
}

/**
 * Starts dynalite with the ledger table and the recorder in front of it.
 * @param errorRate chance that a call is answered `500` without reaching dynalite (logged as `ledgerError`)
 */
export async function startChaosLedger(region: string, errorRate: number, random: SeededRandom, log: FaultLog): Promise<ChaosLedger> {
  const dynamo = await startLocalDynamo(0, { region });
  try {
    await dynamo.createLedgerTable(LOCAL_LEDGER_TABLE);
    const recorder = await startAwsCallRecorder(dynamo.endpoint);
    recorder.intercept = (action, body) => {
      if (!random.chance(errorRate)) return undefined;
      log.add('ledgerError', `${action} job ${jobKeyOf(body) ?? '?'}`);
      return { status: 500, type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'chaos: internal server error' };
    };
    return {
      environment: { MAIL_LEDGER_TABLE: LOCAL_LEDGER_TABLE, AWS_ENDPOINT_URL_DYNAMODB: recorder.endpoint },
      calls: recorder.calls,
      async stop() {
        await recorder.stop();
        await dynamo.stop();
      },
    };
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
}

/** The job id (the item's key) of a ledger call's request body. */
function jobKeyOf(body: string): string | undefined {
  try {
    const key = (JSON.parse(body) as { Key?: { jobId?: { S?: unknown } } }).Key?.jobId?.S;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}

/** When the ledger recorded each (job, recipient) as delivered, and when calls about a job failed, from the calls that reached it. */
export function ledgerEvidence(calls: readonly RecordedCall[]): LedgerEvidence {
  const recordedAt = new Map<string, number>();
  const failedAt = new Map<string, number[]>();
  for (const call of calls) {
    if (call.action !== 'UpdateItem') continue;
    const jobId = jobKeyOf(call.body);
    if (jobId === undefined) continue;
    if (call.status >= 500) {
      failedAt.set(jobId, [...(failedAt.get(jobId) ?? []), call.end]);
      continue;
    }
    if (call.status !== 200) continue;
    const request = JSON.parse(call.body) as {
      ExpressionAttributeNames?: Record<string, string>;
      ExpressionAttributeValues?: Record<string, { M?: { state?: { S?: string } } }>;
    };
    for (const [placeholder, name] of Object.entries(request.ExpressionAttributeNames ?? {})) {
      if (!name.startsWith('rcpt:')) continue;
      if (request.ExpressionAttributeValues?.[`:${placeholder.slice(1)}`]?.M?.state?.S !== 'delivered') continue;
      const key = `${jobId} ${name.slice('rcpt:'.length)}`;
      if (!recordedAt.has(key)) recordedAt.set(key, call.end);
    }
  }
  return { recordedAt, failedAt };
}
