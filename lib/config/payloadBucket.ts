/**
 * The claim-check bucket (issue 11): `MAIL_PAYLOAD_BUCKET`, where producers put job bodies too large
 * for a queue message. The S3 endpoint is the SDK's own (`AWS_ENDPOINT_URL_S3` for a local emulator,
 * which is then addressed path-style: `http://127.0.0.1:port/bucket/key`).
 * @module
 */
import { S3_BUCKET_NAME } from '../message/jobSchema.js';
import { ConfigError } from './ConfigError.js';
import { nonEmpty } from './environment.js';
import type { Environment } from './environment.js';

/** Where offloaded jobs are, and how to address S3. */
export interface PayloadSettings {
  /** `MAIL_PAYLOAD_BUCKET`: the only bucket a pointer may name; its `payloads/` objects are deleted after delivery. */
  bucket: string;
  /** Path-style requests (`AWS_ENDPOINT_URL_S3` is set: a local emulator has no bucket subdomains). */
  forcePathStyle: boolean;
}

/**
 * Reads `MAIL_PAYLOAD_BUCKET`: `undefined` when unset (a pointer body is then refused as an invalid
 * job). Attachments named by reference are read whether it is set or not.
 * @throws {ConfigError} when the value is not a bucket name
 * @example
 * readPayloadSettings({ MAIL_PAYLOAD_BUCKET: 'outbound-mail-dev-payloads' }); // { bucket: 'outbound-mail-dev-payloads', forcePathStyle: false }
 */
export function readPayloadSettings(env: Environment): PayloadSettings | undefined {
  const bucket = nonEmpty(env, 'MAIL_PAYLOAD_BUCKET');
  if (bucket === undefined) return undefined;
  if (!S3_BUCKET_NAME.test(bucket))
    throw new ConfigError('MAIL_PAYLOAD_BUCKET', `must be an S3 bucket name (3 to 63 lowercase letters, digits, "." and "-"), not "${bucket}"`);
  return { bucket, forcePathStyle: nonEmpty(env, 'AWS_ENDPOINT_URL_S3') !== undefined };
}
