/**
 * A relay answering 552 in the middle of a streamed message (a claim check's job), through the
 * handler: the job is permanent at once (the DLQ with the reply as its reason, its object kept for
 * a redrive), never retried as a protocol error; a job queued behind it on the same connection
 * only lost its connection and comes back. Scripted relay, SQS and S3 on fauxqs, the ledger in dynalite.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { useClaimCheckRig } from '../support/claimCheckRig.js';
import { useDynamoEmulator } from '../support/dynamoEmulator.js';
import { useLedgerRig } from '../support/ledgerRig.js';
import { mailJob } from '../support/sendMailHarness.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();
const dynamo = useDynamoEmulator();
const claimChecks = useClaimCheckRig(emulator, { spoolPrefix: 'too-large-' });
const ledgerRig = useLedgerRig(emulator, dynamo);

describe('552 in the middle of a streamed message, through the handler', () => {
  it('the job goes to the DLQ at once as too large (phase data, 552, the reply), its object kept; the job behind it comes back', async () => {
    // Prepare: the relay answers the first DATA with its 354 and, at once, 552.
    const bucket = await claimChecks.newBucket('too-large-payloads');
    let datas = 0;
    const { rig, invoke, confirmed, log } = await ledgerRig({
      ...claimChecks.readerOptions(bucket),
      onCommand: (command) => {
        if (command.verb !== 'DATA') return undefined;
        datas += 1;
        return datas === 1 ? ['354 go ahead', '552 5.3.4 Message size exceeds fixed maximum message size'] : undefined;
      },
    });
    const job = mailJob(31, {
      attachments: [{ filename: 'big.bin', contentType: 'application/octet-stream', content: Buffer.alloc(1_500_000, 7).toString('base64') }],
    });
    const { body: pointer } = await claimChecks.putJob(bucket, 'payloads/job-31', job);
    await rig.queues.publish([pointer, JSON.stringify(mailJob(32))]);
    const records = await rig.queues.receiveRecords(10);
    // Act
    const response = await invoke(records);
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]!.messageId }] });
    expect(confirmed).toEqual([]);
    const dead = await rig.queues.contents(rig.queues.dlqName);
    expect(dead.ready).toHaveLength(1);
    const attributes = Object.fromEntries(Object.entries(dead.ready[0]!.messageAttributes).map(([name, value]) => [name, value.StringValue]));
    expect(dead.ready[0]!.body).toBe(pointer);
    expect(attributes).toMatchObject({ FailurePhase: 'data', FailureKind: 'permanent', FailureCode: '552' });
    expect(attributes['FailureMessage']).toContain('552 5.3.4 Message size exceeds fixed maximum message size');
    const behind = log.records().get(records[1]!.messageId)?.attributes;
    expect(behind?.['placement']).toBe('retry');
    expect(behind?.['outcome']).not.toBe('permanent');
    await expect(claimChecks.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'payloads/job-31' }))).resolves.toBeDefined();
  });
});
