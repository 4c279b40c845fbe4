/**
 * The send-mail function's configuration: every setting is read and checked here, once, at cold
 * start, so that a wrong setting fails the function's initialisation with a message naming it
 * instead of failing every batch later.
 *
 * Settings (DESIGN.md, "Configuration"):
 * - `SMTP_SECRET_ID`: the Secrets Manager secret holding the relay's settings as JSON
 *   (`{"host","port","username","password","security"?,"clientName"?,"from"?}`), or
 * - `SMTP_URL`: the same settings as a URL for local runs:
 *   `smtp://user:pass@host:587`, `smtps://…` for implicit TLS, with optional query parameters
 *   `security=starttls|opportunistic|implicit|none`, `clientName=…`, `from=…`;
 * - `MAIL_PER_CONNECTION`: messages sent on one connection (TurboMail's `count`), default 10;
 * - `MAIL_MAX_RECIPIENTS` (optional): at most this many recipients per message, 1 to 1000 (SES
 *   relays take 50); a job with more is sent in several transactions on the same connection, the
 *   same message each time. Unset: no limit of ours; a relay answering "too many recipients"
 *   (452/552 X.5.3) gets the rest in further transactions either way;
 * - `DLQ_URL`: the dead-letter queue permanent failures go to at once;
 * - `QUEUE_URL`: the mail queue itself, where refused-for-now recipients are re-enqueued;
 * - `SMTP_CA_FILE` (optional): a PEM file of certificate authorities to trust for the relay's
 *   certificate, for relays with a private CA; or `SMTP_CA_PARAMETER` (an SSM parameter) or
 *   `SMTP_CA_SECRET_ID` (a secret) holding that PEM, read once before the first connection
 *   (lib/config/relayCa.ts); at most one of the three.
 * - `MAIL_MAX_RECEIVES` (optional): the mail queue's redrive `maxReceiveCount`, 1 to 1000. On a job's
 *   last receive (`ApproximateReceiveCount` at least this), a job that would come back (failed for
 *   now, not attempted, possibly delivered, relay unreachable) is dead-lettered by the function with
 *   the reason of that receive (`FailureKind: last-receive`, `Attempts`), instead of being moved by
 *   SQS without one. Unset: such jobs come back and SQS's redrive moves them;
 * - `MAIL_ENVIRONMENT`: the environment's name (`dev`, `prod`; `local` for the local run), the
 *   `Environment` dimension of every metric, so environments sharing an account and region never
 *   mix: a letter, then letters, digits or `-`, at most 64. Required in a deployed function
 *   (`AWS_EXECUTION_ENV` is `AWS_Lambda_…`), where metrics without it would reach no alarm;
 *   optional elsewhere (no dimension then);
 * - `BACKOFF_SCALE` (optional, local and test runs only): a number in (0, 1] that multiplies every
 *   backoff delay (visibility changes and re-enqueue delays), so that a fault-injection run
 *   (`npm run chaos`) settles in minutes; refused in a deployed function (default 1).
 * - `MAIL_PAYLOAD_BUCKET` (optional): the claim-check bucket; jobs offloaded to S3 are read from it
 *   and deleted after delivery (lib/config/payloadBucket.ts). Unset: a pointer body is an invalid job.
 * - `MAIL_SPOOL_BYTES` (optional, default 400 MiB; the stack sets it from the function's ephemeral
 *   storage): octets of offloaded jobs one batch reads into `/tmp`; jobs past it are not attempted
 *   and come back. `MAIL_MAX_MESSAGE_BYTES` (optional, default 40 MiB, the producer's
 *   `maxMessageBytes`): a larger offloaded job is permanent before it is read. Both in lib/config/payloadBucket.ts.
 * - `MAIL_LEDGER_TABLE` (optional): the delivery ledger's DynamoDB table (unset: no ledger), with
 *   `MAIL_LEDGER_TTL_SECONDS` (optional, default 28 days); read in `lib/config/ledger.ts`.
 * - `MAIL_ALLOWED_RECIPIENTS` (optional): comma-separated addresses, domains and `.domains` (their
 *   subdomains); recipients outside it are not sent (outcome `suppressed`, metric `RecipientsSuppressed`).
 *   Unset: every recipient allowed. Read in `lib/config/allowedRecipients.ts`.
 *
 * The relay's settings (`SMTP_SECRET_ID`, `SMTP_URL`) are read and checked in `lib/config/smtpRelay.ts`;
 * this module is the one entry point and re-exports what others use. Errors name the setting and
 * never repeat a password.
 * @module
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from './config/ConfigError.js';
import { nonEmpty } from './config/environment.js';
import type { Environment } from './config/environment.js';
import { readAllowedRecipients } from './config/allowedRecipients.js';
import type { RecipientAllowList } from './config/allowedRecipients.js';
import { readLedgerSettings } from './config/ledger.js';
import { readPayloadLimits, readPayloadSettings } from './config/payloadBucket.js';
import type { PayloadLimits, PayloadSettings } from './config/payloadBucket.js';
import type { LedgerSettings } from './config/ledger.js';
import { readRelayCaLocation } from './config/relayCa.js';
import type { RelayCaLocation } from './config/relayCa.js';
import { readSmtpSource } from './config/smtpRelay.js';
import type { SmtpSource } from './config/smtpRelay.js';

export { ConfigError } from './config/ConfigError.js';
export type { Environment } from './config/environment.js';
export { parseSmtpSecret, parseSmtpUrl } from './config/smtpRelay.js';
export type { SmtpSettings, SmtpSource } from './config/smtpRelay.js';
export type { LedgerSettings } from './config/ledger.js';
export type { PayloadLimits, PayloadSettings } from './config/payloadBucket.js';
export type { RelayCaLocation } from './config/relayCa.js';
export type { RecipientAllowList } from './config/allowedRecipients.js';

/** The checked configuration of the send-mail function. */
export interface Config {
  smtp: SmtpSource;
  /** Messages sent on one connection; records beyond it are reported as not attempted. */
  mailPerConnection: number;
  dlqUrl: string;
  queueUrl: string;
  /** PEM certificate authorities to trust for the relay (contents of `SMTP_CA_FILE`). */
  tlsCa?: string;
  /** `SMTP_CA_PARAMETER` or `SMTP_CA_SECRET_ID`: where the relay's CA is read from at run time (instead of `tlsCa`). */
  tlsCaLocation?: RelayCaLocation;
  /** `BACKOFF_SCALE`: multiplies every backoff delay; absent means 1 (local and test runs only). */
  backoffScale?: number;
  /** `MAIL_MAX_RECIPIENTS`: at most this many recipients per message; absent: as many as the relay takes. */
  maxRecipientsPerMessage?: number;
  /** `MAIL_MAX_RECEIVES`: the queue's `maxReceiveCount`; on that receive a job that would come back is dead-lettered with its reason. */
  maxReceives?: number;
  /** `MAIL_ENVIRONMENT`: the `Environment` dimension of every metric; absent only outside a deployed function. */
  environment?: string;
  /** `MAIL_LEDGER_TABLE`, `MAIL_LEDGER_TTL_SECONDS`: the delivery ledger (lib/config/ledger.ts); absent: none. */
  ledger?: LedgerSettings;
  /** `MAIL_PAYLOAD_BUCKET`: the claim-check bucket (lib/config/payloadBucket.ts); absent: pointer bodies are refused. */
  payload?: PayloadSettings;
  /** `MAIL_SPOOL_BYTES`, `MAIL_MAX_MESSAGE_BYTES` (lib/config/payloadBucket.ts); absent: their defaults. */
  payloadLimits?: PayloadLimits;
  /** `MAIL_ALLOWED_RECIPIENTS`: the only recipients this environment may mail; absent: everyone. */
  allowedRecipients?: RecipientAllowList;
}

const MAX_MAIL_PER_CONNECTION = 1000;
/** SQS's largest `maxReceiveCount`. */
const MAX_RECEIVE_COUNT = 1000;
/** An environment's name, as `cdk.json` names environments (infra/config.ts). */
const ENVIRONMENT_NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;
/** Largest `MAIL_MAX_RECIPIENTS`: RFC 5321 has servers take at least 100; a job holds at most 100 (lib/message). */
const MAX_RECIPIENTS_PER_MESSAGE = 1000;

/**
 * Reads and checks every setting of the send-mail function.
 *
 * @param env the environment (`process.env` in the function)
 * @param readFile reads `SMTP_CA_FILE`; replaceable in tests
 * @throws {ConfigError} when a setting is missing or malformed; the message names it
 * @example
 * const config = loadConfig(process.env); // at module scope: once per cold start
 */
export function loadConfig(env: Environment, readFile: (path: string) => string = readText): Config {
  const config: Config = {
    smtp: readSmtpSource(env),
    mailPerConnection: parseMailPerConnection(env['MAIL_PER_CONNECTION']),
    dlqUrl: queueUrl(env, 'DLQ_URL'),
    queueUrl: queueUrl(env, 'QUEUE_URL'),
  };
  const maxRecipients = nonEmpty(env, 'MAIL_MAX_RECIPIENTS');
  if (maxRecipients !== undefined) config.maxRecipientsPerMessage = wholeNumber('MAIL_MAX_RECIPIENTS', maxRecipients, MAX_RECIPIENTS_PER_MESSAGE);
  const maxReceives = nonEmpty(env, 'MAIL_MAX_RECEIVES');
  if (maxReceives !== undefined) config.maxReceives = wholeNumber('MAIL_MAX_RECEIVES', maxReceives, MAX_RECEIVE_COUNT);
  const environment = parseEnvironmentName(nonEmpty(env, 'MAIL_ENVIRONMENT'), env['AWS_EXECUTION_ENV']);
  if (environment !== undefined) config.environment = environment;
  const ledger = readLedgerSettings(env);
  if (ledger !== undefined) config.ledger = ledger;
  const payload = readPayloadSettings(env);
  if (payload !== undefined) config.payload = payload;
  const payloadLimits = readPayloadLimits(env);
  if (payloadLimits !== undefined) config.payloadLimits = payloadLimits;
  const allowed = readAllowedRecipients(env);
  if (allowed !== undefined) config.allowedRecipients = allowed;
  const backoffScale = nonEmpty(env, 'BACKOFF_SCALE');
  if (backoffScale !== undefined) config.backoffScale = parseBackoffScale(backoffScale, env['AWS_EXECUTION_ENV']);
  const caLocation = readRelayCaLocation(env);
  if (caLocation !== undefined) config.tlsCaLocation = caLocation;
  const caFile = nonEmpty(env, 'SMTP_CA_FILE');
  if (caFile !== undefined) {
    let pem: string;
    try {
      pem = readFile(caFile);
    } catch (error) {
      throw new ConfigError('SMTP_CA_FILE', `cannot read ${caFile} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('SMTP_CA_FILE', `${caFile} holds no PEM certificate`);
    config.tlsCa = pem;
  }
  return config;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

function parseMailPerConnection(raw: string | undefined): number {
  const value = raw?.trim();
  if (value === undefined || value === '') return 10;
  return wholeNumber('MAIL_PER_CONNECTION', value, MAX_MAIL_PER_CONNECTION);
}

/** A whole number from 1 to `max`, written in plain digits. */
function wholeNumber(setting: string, value: string, max: number): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(setting, `must be a whole number from 1 to ${max}, not "${value}"`);
  const n = Number(value);
  if (n < 1 || n > max) throw new ConfigError(setting, `must be a whole number from 1 to ${max}, not ${n}`);
  return n;
}

/**
 * `BACKOFF_SCALE`: a plain decimal in (0, 1]. Below 1 it is refused where the Lambda runtime runs
 * the function (`AWS_EXECUTION_ENV` is `AWS_Lambda_…` there, never in local or chaos runs): set
 * there by mistake, it would make jobs burn their receives in seconds during a relay outage.
 */
function parseBackoffScale(value: string, executionEnv: string | undefined): number {
  const n = /^\d+(?:\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  if (!(n > 0 && n <= 1)) throw new ConfigError('BACKOFF_SCALE', `must be a number above 0 and at most 1 (e.g. 0.05), not "${value}"`);
  if (n < 1 && executionEnv?.startsWith('AWS_Lambda_') === true) {
    throw new ConfigError(
      'BACKOFF_SCALE',
      `is for local and test runs only, and this is a deployed function (AWS_EXECUTION_ENV=${executionEnv}): remove it`,
    );
  }
  return n;
}

/**
 * `MAIL_ENVIRONMENT`: an environment's name. Missing in a deployed function is refused: its metrics
 * would carry no `Environment` dimension, and the alarms watching that dimension would never see them.
 */
function parseEnvironmentName(value: string | undefined, executionEnv: string | undefined): string | undefined {
  if (value === undefined) {
    if (executionEnv?.startsWith('AWS_Lambda_') === true)
      throw new ConfigError('MAIL_ENVIRONMENT', "missing: set it to the environment's name (e.g. prod), the Environment dimension of every metric");
    return undefined;
  }
  if (!ENVIRONMENT_NAME.test(value))
    throw new ConfigError('MAIL_ENVIRONMENT', `must be an environment name (a letter, then letters, digits or "-", at most 64), not "${value}"`);
  return value;
}

function queueUrl(env: Environment, setting: string): string {
  const value = nonEmpty(env, setting);
  if (value === undefined) throw new ConfigError(setting, 'missing: set it to the queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(setting, `not a URL: "${value}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(setting, `must be an http(s) queue URL, not ${url.protocol}`);
  if (url.pathname.split('/').filter((part) => part !== '').length === 0) throw new ConfigError(setting, `has no queue name: "${value}"`);
  return value;
}
