/**
 * The AWS call recorder in front of dynalite, with the AWS SDK: it records each call's action,
 * status and body, adds latency when asked, and fails calls in the shape the SDK reads.
 */
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_LEDGER_TABLE, startLocalDynamo } from '../../lib/local/LocalDynamo.js';
import { LOCAL_CREDENTIALS } from '../../lib/local/LocalSqs.js';
import { startAwsCallRecorder } from './awsCallRecorder.js';
import type { AwsCallRecorder } from './awsCallRecorder.js';

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function recorded(): Promise<{ recorder: AwsCallRecorder; client: DynamoDBClient }> {
  const dynamo = await startLocalDynamo(0, { region: 'eu-west-1' });
  stops.push(() => dynamo.stop());
  await dynamo.createLedgerTable(LOCAL_LEDGER_TABLE);
  const recorder = await startAwsCallRecorder(dynamo.endpoint);
  stops.push(() => recorder.stop());
  const client = new DynamoDBClient({ endpoint: recorder.endpoint, region: 'eu-west-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  stops.push(() => {
    client.destroy();
    return Promise.resolve();
  });
  return { recorder, client };
}

const update = (jobId: string): UpdateItemCommand =>
  new UpdateItemCommand({
    TableName: LOCAL_LEDGER_TABLE,
    Key: { jobId: { S: jobId } },
    UpdateExpression: 'SET #a = :a',
    ExpressionAttributeNames: { '#a': 'claimOwner' },
    ExpressionAttributeValues: { ':a': { S: 'me' } },
  });

describe('the AWS call recorder', () => {
  it('forwards a call and records its action, status and body', async () => {
    const { recorder, client } = await recorded();
    await client.send(update('j1'));
    expect(recorder.calls).toHaveLength(1);
    expect(recorder.calls[0]).toMatchObject({ action: 'UpdateItem', status: 200 });
    expect(JSON.parse(recorder.calls[0]!.body)).toMatchObject({ Key: { jobId: { S: 'j1' } } });
    recorder.reset();
    expect(recorder.calls).toEqual([]);
  });

  it('adds delayMs to each call', async () => {
    const { recorder, client } = await recorded();
    recorder.delayMs = 200;
    const started = Date.now();
    await client.send(update('j2'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(195);
    expect(recorder.calls[0]!.end - recorder.calls[0]!.start).toBeGreaterThanOrEqual(195);
  });

  it('fails a call chosen by intercept, without forwarding it, in the shape the SDK reads', async () => {
    const { recorder, client } = await recorded();
    recorder.intercept = (action, body) =>
      action === 'UpdateItem' && body.includes('"j3"')
        ? { status: 500, type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'chaos' }
        : undefined;
    const error = await client.send(update('j3')).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } });
    await client.send(update('j4'));
    expect(recorder.calls.map((call) => [call.action, call.status])).toEqual([
      ['UpdateItem', 500],
      ['UpdateItem', 200],
    ]);
  });
});
