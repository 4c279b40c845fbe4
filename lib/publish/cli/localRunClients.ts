/**
 * The SDK clients of the local run (`npm start`) for the CLI's commands: its emulator's SQS and S3
 * as its state file gives them.
 * @module
 */
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { LocalRunState } from '../localRun.js';

/**
 * SQS and S3 clients on the local run's emulator: its endpoints, region and (dummy) credentials
 * from the state file, the `--endpoint` and `--region` flags first; S3 path-style (an emulator has
 * no bucket host names) and with `s3Options` added (e.g. the checksum setting for uploads).
 * @example
 * const { sqs, s3 } = localRunClients(local, flags);
 */
export function localRunClients(
  local: LocalRunState,
  flags: { endpoint?: string; region?: string },
  s3Options: Pick<S3ClientConfig, 'requestChecksumCalculation'> = {},
): { sqs: SQSClient; s3: S3Client } {
  const region = flags.region ?? local.region;
  return {
    sqs: new SQSClient({ endpoint: flags.endpoint ?? local.sqsEndpoint, region, credentials: local.credentials }),
    s3: new S3Client({ endpoint: local.s3Endpoint ?? local.sqsEndpoint, region, credentials: local.credentials, forcePathStyle: true, ...s3Options }),
  };
}
