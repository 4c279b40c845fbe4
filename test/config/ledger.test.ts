/** The delivery ledger's settings: MAIL_LEDGER_TABLE and MAIL_LEDGER_TTL_SECONDS, checked at cold start. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config.js';
import { readLedgerSettings } from '../../lib/config/ledger.js';

describe('readLedgerSettings', () => {
  it('no table, no ledger', () => {
    expect(readLedgerSettings({})).toBeUndefined();
    expect(readLedgerSettings({ MAIL_LEDGER_TABLE: '  ' })).toBeUndefined();
  });

  it('a table, with the default TTL of 28 days or the one given', () => {
    expect(readLedgerSettings({ MAIL_LEDGER_TABLE: 'mail-ledger-prod' })).toEqual({ tableName: 'mail-ledger-prod', ttlSeconds: 2_419_200 });
    expect(readLedgerSettings({ MAIL_LEDGER_TABLE: 'mail-ledger', MAIL_LEDGER_TTL_SECONDS: '1555200' })).toEqual({
      tableName: 'mail-ledger',
      ttlSeconds: 1_555_200,
    });
  });

  it.each([
    [{ MAIL_LEDGER_TABLE: 'ab' }, 'MAIL_LEDGER_TABLE'],
    [{ MAIL_LEDGER_TABLE: 'mail ledger' }, 'MAIL_LEDGER_TABLE'],
    [{ MAIL_LEDGER_TABLE: 'mail-ledger', MAIL_LEDGER_TTL_SECONDS: '28d' }, 'MAIL_LEDGER_TTL_SECONDS'],
    [{ MAIL_LEDGER_TABLE: 'mail-ledger', MAIL_LEDGER_TTL_SECONDS: '0' }, 'MAIL_LEDGER_TTL_SECONDS'],
    [{ MAIL_LEDGER_TABLE: 'mail-ledger', MAIL_LEDGER_TTL_SECONDS: '99999999' }, 'MAIL_LEDGER_TTL_SECONDS'],
    [{ MAIL_LEDGER_TTL_SECONDS: '3600' }, 'MAIL_LEDGER_TTL_SECONDS'],
  ])('refuses %o, naming %s', (env, setting) => {
    expect(() => readLedgerSettings(env)).toThrow(ConfigError);
    expect(() => readLedgerSettings(env)).toThrow(new RegExp(`^${setting}: `));
  });
});
