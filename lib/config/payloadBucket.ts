/**
 * The claim-check bucket (issue 11): `MAIL_PAYLOAD_BUCKET`, where producers put job bodies too large
 * for a queue message. The S3 endpoint is the SDK's own (`AWS_ENDPOINT_URL_S3` for a local emulator,
 * which is then addressed path-style: `http://127.0.0.1:port/bucket/key`).
 * @module
 */
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_SPOOL_BYTES } from '../delivery/payload/spoolBudget.js';
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

/** How much of offloaded jobs the function takes. */
export interface PayloadLimits {
  /** `MAIL_SPOOL_BYTES`: octets of offloaded jobs one batch reads into `/tmp` (the others come back). */
  spoolBytes: number;
  /** `MAIL_MAX_MESSAGE_BYTES`: a larger offloaded job is refused (permanent) before it is read. */
  maxMessageBytes: number;
}

/** Largest `MAIL_SPOOL_BYTES`: Lambda's largest ephemeral storage, 10,240 MiB. */
const MAX_SPOOL_BYTES = 10_240 * 1024 * 1024;
/** Largest `MAIL_MAX_MESSAGE_BYTES`: 1 GiB (SES takes 40 MB; a relay's SIZE still applies). */
const MAX_MESSAGE_BYTES = 1024 * 1024 * 1024;
/** Least of either: one queue message's worth (256 KiB). */
const MIN_BYTES = 256 * 1024;

/**
 * Reads `MAIL_SPOOL_BYTES` (default 400 MiB; the stack sets it from the function's ephemeral storage)
 * and `MAIL_MAX_MESSAGE_BYTES` (default 40 MiB, the producer's `maxMessageBytes`), whole numbers of
 * octets: `undefined` when neither is set (the defaults apply).
 * @throws {ConfigError} naming the setting when a value is not a whole number in range
 * @example
 * readPayloadLimits({ MAIL_SPOOL_BYTES: '943718400' }); // { spoolBytes: 943718400, maxMessageBytes: 41943040 }
 */
export function readPayloadLimits(env: Environment): PayloadLimits | undefined {
  if (nonEmpty(env, 'MAIL_SPOOL_BYTES') === undefined && nonEmpty(env, 'MAIL_MAX_MESSAGE_BYTES') === undefined) return undefined;
  return {
    spoolBytes: octets(env, 'MAIL_SPOOL_BYTES', DEFAULT_SPOOL_BYTES, MAX_SPOOL_BYTES),
    maxMessageBytes: octets(env, 'MAIL_MAX_MESSAGE_BYTES', DEFAULT_MAX_MESSAGE_BYTES, MAX_MESSAGE_BYTES),
  };
}

function octets(env: Environment, setting: string, fallback: number, max: number): number {
  const value = nonEmpty(env, setting);
  if (value === undefined) return fallback;
  const n = /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= MIN_BYTES && n <= max)) throw new ConfigError(setting, `must be a whole number of octets from ${MIN_BYTES} to ${max}, not "${value}"`);
  return n;
}
