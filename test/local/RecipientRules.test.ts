import { describe, expect, it } from 'vitest';
import { RecipientRules } from '../../lib/local/RecipientRules.js';

describe('RecipientRules', () => {
  it('refuses refuse@ addresses for good, with or without a +tag, in any case', () => {
    const rules = new RecipientRules();
    for (const address of ['refuse@example.com', 'REFUSE@example.org', 'refuse+x@example.net', 'refuse@example.com']) {
      expect(rules.verdict(address)).toEqual({ accept: false, code: 550, message: 'Mailbox unavailable: this local recipient always refuses' });
    }
  });

  it('refuses a later@ address for now the first time, accepts it the next, and so on, per address', () => {
    const rules = new RecipientRules();
    const busy = { accept: false, code: 450, message: 'Mailbox busy: this local recipient takes mail on the next try' };
    expect(rules.verdict('later@example.com')).toEqual(busy);
    expect(rules.verdict('later@example.net')).toEqual(busy);
    expect(rules.verdict('Later@Example.com')).toEqual({ accept: true });
    expect(rules.verdict('later@example.com')).toEqual(busy);
    expect(rules.verdict('later+2@example.com')).toEqual(busy);
    expect(rules.verdict('later@example.net')).toEqual({ accept: true });
  });

  it('accepts everyone else, including addresses that merely contain the words', () => {
    const rules = new RecipientRules();
    for (const address of ['ann@example.com', 'refused@example.com', 'xlater@example.com', 'refuse.me@example.com', 'ann@refuse.example']) {
      expect(rules.verdict(address)).toEqual({ accept: true });
    }
  });
});
