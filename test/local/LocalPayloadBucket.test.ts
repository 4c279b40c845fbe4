import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { expect, it } from 'vitest';
import { LOCAL_PAYLOAD_BUCKET, ensureLocalPayloadBucket } from '../../lib/local/LocalPayloadBucket.js';
import { emulatorS3Client } from '../support/claimCheckRig.js';
import { useSqsEmulator } from '../support/sqsQueues.js';

const emulator = useSqsEmulator();

it('creates the claim-check bucket on the emulator (path-style), and again without error when it is there (a kept state folder)', async () => {
  const { endpoint } = emulator();
  expect(await ensureLocalPayloadBucket(endpoint, 'us-east-1')).toBe(LOCAL_PAYLOAD_BUCKET);
  expect(await ensureLocalPayloadBucket(endpoint, 'us-east-1')).toBe(LOCAL_PAYLOAD_BUCKET);
  const s3 = emulatorS3Client(endpoint);
  await expect(s3.send(new HeadBucketCommand({ Bucket: LOCAL_PAYLOAD_BUCKET }))).resolves.toBeDefined();
  s3.destroy();
});
