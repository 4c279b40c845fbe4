/**
 * The delivery ledger's settings (issue 9): `MAIL_LEDGER_TABLE` and `MAIL_LEDGER_TTL_SECONDS`.
 * The DynamoDB endpoint is the SDK's own (`AWS_ENDPOINT_URL_DYNAMODB` for a local emulator).
 * @module
 */
import { DEFAULT_LEDGER_TTL_SECONDS } from '../delivery/ledger/tableSchema.js';
import { ConfigError } from './ConfigError.js';
import { nonEmpty } from './environment.js';
import type { Environment } from './environment.js';

/** Where the delivery ledger is kept and for how long. */
export interface LedgerSettings {
  /** `MAIL_LEDGER_TABLE`: the DynamoDB table's name. */
  tableName: string;
  /** `MAIL_LEDGER_TTL_SECONDS`: how long a job's record is kept after its last write. */
  ttlSeconds: number;
}

/** DynamoDB's rule for a table name. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
/** Longest `MAIL_LEDGER_TTL_SECONDS`: a year. */
const MAX_TTL_SECONDS = 366 * 24 * 60 * 60;

/**
 * Reads the ledger's settings: `undefined` when `MAIL_LEDGER_TABLE` is unset (no ledger: every job
 * is sent as it comes, at-least-once, as before the ledger existed).
 *
 * - `MAIL_LEDGER_TABLE`: the table's name (3 to 255 of `A-Z a-z 0-9 _ . -`);
 * - `MAIL_LEDGER_TTL_SECONDS` (optional): how long a record is kept after its last write, at least
 *   the mail queue's retention plus the DLQ's (a job redriven from the DLQ must still find its
 *   record); default 28 days (2,419,200), SQS's longest retention twice.
 *
 * @throws {ConfigError} naming the setting when a value is malformed
 * @example
 * readLedgerSettings({ MAIL_LEDGER_TABLE: 'mail-ledger-prod' }); // { tableName: 'mail-ledger-prod', ttlSeconds: 2419200 }
 */
export function readLedgerSettings(env: Environment): LedgerSettings | undefined {
  const ttl = nonEmpty(env, 'MAIL_LEDGER_TTL_SECONDS');
  const tableName = nonEmpty(env, 'MAIL_LEDGER_TABLE');
  if (tableName === undefined) {
    if (ttl !== undefined) throw new ConfigError('MAIL_LEDGER_TTL_SECONDS', 'is set but MAIL_LEDGER_TABLE is not: set both, or neither');
    return undefined;
  }
  if (!TABLE_NAME.test(tableName)) {
    throw new ConfigError('MAIL_LEDGER_TABLE', `must be a DynamoDB table name (3 to 255 letters, digits, "_", "." or "-"), not "${tableName}"`);
  }
  if (ttl === undefined) return { tableName, ttlSeconds: DEFAULT_LEDGER_TTL_SECONDS };
  if (!/^\d+$/.test(ttl) || Number(ttl) < 1 || Number(ttl) > MAX_TTL_SECONDS) {
    throw new ConfigError('MAIL_LEDGER_TTL_SECONDS', `must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}, not "${ttl}"`);
  }
  return { tableName, ttlSeconds: Number(ttl) };
}
