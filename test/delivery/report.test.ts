/**
 * What the logs may show: domains, never full addresses.
 */
import { describe, expect, it } from 'vitest';
import { domainOf, recordLogAttributes, redactAddresses } from '../../lib/delivery/report.js';

describe('redactAddresses', () => {
  it('keeps only the domain of every address in a server reply', () => {
    expect(redactAddresses('550 5.1.1 <bob.smith+tag@example.com>: Recipient address rejected; also ann@mail.example.org'))
      .toBe('550 5.1.1 <…@example.com>: Recipient address rejected; also …@mail.example.org');
  });
});

describe('domainOf', () => {
  it('is the lower-case part after the last @, empty for the null sender', () => {
    expect(domainOf('"a@b"@Example.COM')).toBe('example.com');
    expect(domainOf('')).toBe('');
  });
});

describe('recordLogAttributes', () => {
  it('carries outcome, ids, codes and refused domains, and no address', () => {
    const line = recordLogAttributes({
      messageId: 'm-1',
      jobId: 'job-1',
      receiveCount: 2,
      placement: 'done',
      requeued: 1,
      outcome: {
        kind: 'partlyRefused',
        accepted: 1,
        refusedPermanently: [{ recipient: 'gone@example.com', code: 550, enhancedCode: '5.1.1', message: '550 <gone@example.com> unknown', transient: false }],
        refusedForNow: [{ recipient: 'later@other.example', code: 451, message: 'later', transient: true }],
      },
    });
    expect(line).toEqual({
      outcome: 'partlyRefused',
      placement: 'done',
      sqsMessageId: 'm-1',
      receiveCount: 2,
      jobId: 'job-1',
      accepted: 1,
      refused: [
        { domain: 'example.com', code: 550, enhancedCode: '5.1.1', transient: false },
        { domain: 'other.example', code: 451, transient: true },
      ],
      requeuedRecipients: 1,
    });
  });
});
