/**
 * MAIL_ALLOWED_RECIPIENTS, read once in lib/config.ts: the semantics of cdk.json's allowedRecipients
 * (infra/allowedRecipients.ts): an address, a domain (not its subdomains), a .domain (its subdomains only).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../lib/config.js';
import { readAllowedRecipients } from '../../lib/config/allowedRecipients.js';

const base = { SMTP_URL: 'smtp://u:p@127.0.0.1:2525', QUEUE_URL: 'http://127.0.0.1:1/q', DLQ_URL: 'http://127.0.0.1:1/dlq' };

describe('MAIL_ALLOWED_RECIPIENTS', () => {
  it('unset or blank: everyone allowed (no list)', () => {
    expect(readAllowedRecipients({})).toBeUndefined();
    expect(readAllowedRecipients({ MAIL_ALLOWED_RECIPIENTS: '  ' })).toBeUndefined();
    expect(loadConfig(base).allowedRecipients).toBeUndefined();
  });

  it('an address, a domain and a .domain, compared case-insensitively', () => {
    const list = loadConfig({ ...base, MAIL_ALLOWED_RECIPIENTS: 'qa-inbox@Example.org, example.com,.test.example.net' }).allowedRecipients;
    expect(list?.entries).toEqual(['qa-inbox@Example.org', 'example.com', '.test.example.net']);
    const verdicts = Object.fromEntries(
      [
        'qa-inbox@example.org',
        'QA-Inbox@EXAMPLE.ORG',
        'other@example.org',
        'ann@example.com',
        'ann@EXAMPLE.COM',
        'ann@mail.example.com',
        'ann@notexample.com',
        'bob@a.test.example.net',
        'bob@b.a.test.example.net',
        'bob@test.example.net',
        'bob@xtest.example.net',
      ].map((address) => [address, list?.allows(address)]),
    );
    expect(verdicts).toEqual({
      'qa-inbox@example.org': true,
      'QA-Inbox@EXAMPLE.ORG': true,
      'other@example.org': false,
      'ann@example.com': true,
      'ann@EXAMPLE.COM': true,
      'ann@mail.example.com': false,
      'ann@notexample.com': false,
      'bob@a.test.example.net': true,
      'bob@b.a.test.example.net': true,
      'bob@test.example.net': false,
      'bob@xtest.example.net': false,
    });
  });

  it.each([
    ['a wildcard', '*.example.com', /"\*\.example\.com" is not an address/],
    ['a display name', 'QA <qa@example.com>', /is not an address/],
    ['a dotless domain', 'localhost', /is not an address/],
    ['an empty entry', 'example.com,,example.org', /"" is not an address/],
    ['.@ mix', '.qa@example.com', /is not an address/],
    ['a duplicate in another case', 'example.com,EXAMPLE.com', /lists "EXAMPLE.com" twice/],
    ['101 entries', Array.from({ length: 101 }, (_, i) => `d${i}.example.com`).join(','), /101 entries; at most 100/],
  ])('refuses %s, naming the setting', (_name, value, message) => {
    expect(() => loadConfig({ ...base, MAIL_ALLOWED_RECIPIENTS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, MAIL_ALLOWED_RECIPIENTS: value })).toThrow(/MAIL_ALLOWED_RECIPIENTS/);
    expect(() => loadConfig({ ...base, MAIL_ALLOWED_RECIPIENTS: value })).toThrow(message);
  });
});
