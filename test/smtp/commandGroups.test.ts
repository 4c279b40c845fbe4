/** The layout of pipelined writes: a BDAT window's bytes, the replies it asks for, each message's end. */
import { describe, expect, it } from 'vitest';
import { planWindow } from '../../lib/smtp/commandGroups.js';
import { noCapabilities } from '../../lib/smtp/extensions.js';
import { prepareTransaction } from '../../lib/smtp/transaction.js';

const capabilities = { ...noCapabilities(), pipelining: true, chunking: true };
const settle = { resolve: () => undefined, reject: () => undefined };
const tx = (to: string[], body: string) => prepareTransaction({ from: 'a@example.com', to }, body, capabilities, 'bdat', settle);

describe('planWindow', () => {
  const window = [tx(['b@example.com'], 'one\r\n'), tx(['c@example.com', 'd@example.com'], 'two two\r\n')];

  it('lays out RSET before every message but the first, and where each message ends in the write', () => {
    const plan = planWindow(window, false, false);
    const first = 'MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nBDAT 5 LAST\r\n';
    const second = 'RSET\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<c@example.com>\r\nRCPT TO:<d@example.com>\r\nBDAT 9 LAST\r\n';
    expect(plan.chunks.map((chunk) => Buffer.from(chunk).toString())).toEqual([first, 'one\r\n', second, 'two two\r\n']);
    expect(plan.lines).toEqual([
      'MAIL FROM:<a@example.com>',
      'RCPT TO:<b@example.com>',
      'BDAT 5 LAST',
      '[5 octets of message content]',
      'RSET',
      'MAIL FROM:<a@example.com>',
      'RCPT TO:<c@example.com>',
      'RCPT TO:<d@example.com>',
      'BDAT 9 LAST',
      '[9 octets of message content]',
    ]);
    expect(plan.plan.map(({ reset, end }) => ({ reset, end }))).toEqual([
      { reset: false, end: first.length + 5 },
      { reset: true, end: first.length + 5 + second.length + 9 },
    ]);
    expect(plan.bytes).toBe(first.length + 5 + second.length + 9);
    // MAIL, RCPT, BDAT; RSET, MAIL, 2 RCPT, BDAT.
    expect(plan.replies).toBe(3 + 5);
  });

  it('asks, in LMTP, for one reply per recipient after BDAT LAST (the reader releases those that will not come)', () => {
    expect(planWindow(window, true, true).replies).toBe(1 + 1 + 1 + 1 + (1 + 1 + 2 + 2));
  });
});
