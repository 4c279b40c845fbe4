/**
 * Issue 13 item 8: the `Resent-*` fields (RFC 5322 3.6.6). `Resent-Bcc` would show the blind copies
 * to every recipient, like `Bcc`; the others describe a resending that the product does not do.
 */
import { describe, expect, it } from 'vitest';
import { parseMailJob } from '../../lib/message/index.js';
import { base } from './jobCorpus.js';
import { issuesOf } from './jobIssues.js';

const raw = (message: string) => ({ v: 1, raw: { envelope: { from: 'a@example.com', to: ['b@example.com'] }, message } });

describe('Resent-* fields in headers', () => {
  it.each([
    ['Resent-Bcc', 'x@example.com', /would show every recipient the addresses that got a blind copy/],
    ['resent-bcc', 'x@example.com', /would show every recipient the addresses that got a blind copy/],
    ['Resent-To', 'x@example.com', /resent fields/],
    ['Resent-Cc', 'x@example.com', /resent fields/],
    ['Resent-From', 'boss@example.com', /resent fields/],
    ['Resent-Sender', 'boss@example.com', /resent fields/],
    ['RESENT-DATE', 'Mon, 1 Jan 2024 00:00:00 +0000', /resent fields/],
    ['Resent-Message-ID', '<x@example.com>', /resent fields/],
    ['Resent-Reply-To', 'x@example.com', /resent fields/],
  ])('refuses %s', (name, value, message) => {
    const issues = issuesOf({ ...base, headers: { [name]: value } });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('headers[0]');
    expect(issues[0]!.message).toMatch(message);
  });

  it('still takes a header that only starts like one', () => {
    expect(parseMailJob({ ...base, headers: { 'X-Resent-To': 'list' } }).kind).toBe('composed');
  });
});

describe('Resent-* fields in raw messages', () => {
  it.each(['Resent-Bcc', 'resent-bcc', 'RESENT-BCC '])('refuses %s, as Bcc is refused', (name) => {
    expect(
      issuesOf(
        raw(
          `Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nResent-From: a@example.com\r\n${name}: hidden@example.com\r\nFrom: a@example.com\r\n\r\nbody`,
        ),
      ),
    ).toEqual([{ path: 'raw.message', message: 'has a Resent-Bcc field, which every recipient would see: put blind copies in the envelope only' }]);
  });

  it('refuses an empty Resent-Bcc as well (RFC 5322 allows it; it still tells that blind copies exist)', () => {
    expect(issuesOf(raw('Resent-Bcc:\r\nFrom: a@example.com\r\n\r\nbody'))).toHaveLength(1);
  });

  it('takes the other resent fields: a raw message is sent as it is, and these show only what every recipient may see', () => {
    const message =
      'Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nResent-From: a@example.com\r\nResent-Sender: s@example.com\r\nResent-To: b@example.com\r\nResent-Cc: c@example.com\r\nResent-Message-ID: <r@example.com>\r\nFrom: o@example.com\r\n\r\nbody';
    expect(parseMailJob(raw(message))).toMatchObject({ kind: 'raw', message });
  });
});
