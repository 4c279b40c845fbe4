import { describe, expect, it } from 'vitest';
import { parseSince } from '../../lib/publish/cli/since.js';
import { duration } from '../../lib/publish/cli/statsCommand.js';
import { deadLetterDetail, deadLetterTable } from '../../lib/publish/cli/deadLetterText.js';
import type { DeadLetter } from '../../lib/operate/index.js';

const NOW = new Date('2026-12-01T12:00:00Z');

describe('parseSince', () => {
  it('reads a time ago or an ISO date', () => {
    expect(parseSince('45s', NOW).toISOString()).toBe('2026-12-01T11:59:15.000Z');
    expect(parseSince('30m', NOW).toISOString()).toBe('2026-12-01T11:30:00.000Z');
    expect(parseSince('2h', NOW).toISOString()).toBe('2026-12-01T10:00:00.000Z');
    expect(parseSince('1.5d', NOW).toISOString()).toBe('2026-11-30T00:00:00.000Z');
    expect(parseSince('1W', NOW).toISOString()).toBe('2026-11-24T12:00:00.000Z');
    expect(parseSince('2026-11-30T09:00Z', NOW).toISOString()).toBe('2026-11-30T09:00:00.000Z');
    expect(parseSince('2026-11-30', NOW).toISOString()).toBe('2026-11-30T00:00:00.000Z');
  });

  it('refuses anything else', () => {
    for (const text of ['', 'yesterday', '2h ago', '-2h', '2026-13-45']) expect(() => parseSince(text, NOW)).toThrow(/^--since takes a time ago/);
  });
});

describe('duration', () => {
  it('gives the two largest units', () => {
    expect([0, 12, 60, 250, 7500, 3 * 86_400 + 4 * 3600 + 59].map(duration)).toEqual(['0s', '12s', '1m', '4m 10s', '2h 5m', '3d 4h']);
  });
});

const letter: DeadLetter = {
  messageId: 'm-1',
  jobId: 'order-1',
  sentAt: new Date('2026-12-01T11:00:00Z'),
  source: 'handler',
  kind: 'last-receive',
  reason: { phase: 'connect', message: 'connect ECONNREFUSED', error: 'ConnectionError' },
  receives: 5,
  recipientDomains: ['example.com'],
  invalid: false,
  part: { form: 'narrowed', pending: 2, delivered: 1 },
  bodyBytes: 100,
  attributes: { Attempts: '5', FailureKind: 'last-receive', FailurePhase: 'connect' },
};

describe('dead letter text', () => {
  it('a last-receive dead letter in the table: its attempts as receives, the reason without codes', () => {
    expect(deadLetterTable([letter]).split('\n')[1]).toBe(
      '2026-12-01 11:00:00  order-1  m-1             5         handler (last-receive)  connect ConnectionError: connect ECONNREFUSED  example.com',
    );
  });

  it('the detail of a partial copy and a raw job', () => {
    const text = deadLetterDetail(letter, {
      form: 'raw',
      envelope: { from: '', to: ['b@example.org'] },
      messageBytes: 42,
      headers: ['From: a@example.com', 'Subject: hi'],
    });
    expect(text).toContain('  copy              narrowed: 2 recipients pending, 1 delivered already\n');
    expect(text).toContain('  Attempts          5\n');
    expect(
      text.endsWith(
        'job (raw message)\n  envelope from     <>\n  envelope to       b@example.org\n  message           42 octets\nheaders of the message\n  From: a@example.com\n  Subject: hi\n',
      ),
    ).toBe(true);
  });
});
