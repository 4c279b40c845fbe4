/**
 * The local run's claim-check bucket on the SQS emulator, which serves S3 too (path-style:
 * `http://127.0.0.1:port/<bucket>/<key>`; objects kept with the queues when the run persists them).
 * @module
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from './LocalSqs.js';

/** The local bucket's name (`MAIL_PAYLOAD_BUCKET` of the local function). */
export const LOCAL_PAYLOAD_BUCKET = 'outbound-mail-local-payloads';

/**
 * Creates the bucket on the emulator at `endpoint` (a bucket kept from an earlier run is fine).
 * @example
 * await ensureLocalPayloadBucket(sqs.endpoint, 'us-east-1');
 */
export async function ensureLocalPayloadBucket(endpoint: string, region: string): Promise<string> {
  const s3 = new S3Client({ endpoint, region, forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: LOCAL_PAYLOAD_BUCKET }));
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  } finally {
    s3.destroy();
  }
  return LOCAL_PAYLOAD_BUCKET;
}
