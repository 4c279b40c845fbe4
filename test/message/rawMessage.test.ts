/**
 * checkRawMessage: line ends become CRLF whatever the text, and the checks find what they look for
 * without splitting the message into lines.
 */
import { describe, expect, it } from 'vitest';
import { checkRawMessage } from '../../lib/message/rawMessage.js';

describe('checkRawMessage: CRLF line ends', () => {
  it.each([
    ['LF, ASCII', 'From: a@example.com\nSubject: x\n\nbody\n', 'From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n'],
    ['LF, non-ASCII', 'From: a@example.com\nSubject: Grüße 👋\n\nbody ü\n', 'From: a@example.com\r\nSubject: Grüße 👋\r\n\r\nbody ü\r\n'],
    ['CRLF and LF mixed', 'From: a@example.com\r\nSubject: x\n\r\nbody\nend', 'From: a@example.com\r\nSubject: x\r\n\r\nbody\r\nend'],
    ['CRLF already', 'From: a@example.com\r\n\r\nbody\r\n', 'From: a@example.com\r\n\r\nbody\r\n'],
    ['no line end at all', 'From: a@example.com', 'From: a@example.com'],
  ])('%s', (_name, message, expected) => {
    expect(checkRawMessage(message)).toEqual({ ok: true, message: expected });
  });
});

describe('checkRawMessage: problems found by searching', () => {
  it('numbers the first line over 998 octets, counting octets of UTF-8', () => {
    expect(checkRawMessage(`From: a@example.com\n\nshort\n${'ü'.repeat(500)}\n`)).toEqual({
      ok: false,
      problems: ['line 4 is longer than 998 octets'],
    });
    expect(checkRawMessage(`From: a@example.com\n\n${'x'.repeat(998)}\n`)).toMatchObject({ ok: true });
  });

  it('numbers the first malformed header line, and ends the header at the first empty line', () => {
    expect(checkRawMessage('From: a@example.com\nX-Ok: 1\n folded\nnot a field\n\nnot a field either')).toEqual({
      ok: false,
      problems: ['header line 4 is not a "Name: value" field'],
    });
  });

  it('counts fields in any case, at line starts only, and only in the header', () => {
    expect(checkRawMessage('from: a@example.com\nX-Note: To: b@example.com\nTO: c@example.com\n\nTo: in the body\nBcc: in the body')).toMatchObject({
      ok: true,
    });
    expect(checkRawMessage('From: a@example.com\nTo: b@example.com\nto : c@example.com\n\nx')).toEqual({
      ok: false,
      problems: ['has more than one to field'],
    });
  });
});
