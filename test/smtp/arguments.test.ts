import { describe, expect, it } from 'vitest';
import { checkAddress, checkClientName, checkCommandLine, checkVerifyArgument, needsSmtpUtf8 } from '../../lib/smtp/arguments.js';
import { ProtocolError } from '../../lib/smtp/errors.js';
import * as smtp from '../../lib/smtp/index.js';

describe('checkAddress', () => {
  it.each(['a@example.com', 'first.last+tag@sub.example.co.uk', 'üser@bücher.example', 'x@[127.0.0.1]'])('accepts %s', (address) => {
    expect(checkAddress(address, 'rcpt')).toBe(address);
  });

  it('accepts the null reverse path only for MAIL', () => {
    expect(checkAddress('', 'mail', true)).toBe('');
    expect(() => checkAddress('', 'rcpt')).toThrow(ProtocolError);
  });

  it.each([
    ['CRLF injection', 'a@example.com>\r\nRCPT TO:<evil@example.com'],
    ['bare LF', 'a@example.com\nDATA'],
    ['bare CR', 'a@example.com\rx'],
    ['NUL', 'a\0@example.com'],
    ['DEL', 'a\x7f@example.com'],
    ['C1 control', 'a\u0085@example.com'],
    ['closing bracket', 'a@example.com> SIZE=1'],
    ['opening bracket', '<a@example.com'],
    ['space parameter', 'a@example.com NOTIFY=NEVER'],
    ['tab', 'a@example.com\tx'],
    ['no at sign', 'postmaster'],
    ['empty domain', 'a@'],
    ['empty local part', '@example.com'],
    ['too long', `${'a'.repeat(250)}@example.com`],
    ['a number', 42],
    ['undefined', undefined],
  ])('refuses %s', (_name, address) => {
    expect(() => checkAddress(address, 'rcpt')).toThrow(ProtocolError);
  });

  it('marks the refusal permanent and phase-tagged', () => {
    try {
      checkAddress('a\r\n@b', 'mail');
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ phase: 'mail', transient: false });
    }
  });
});

describe('needsSmtpUtf8', () => {
  it('is true only for non-ASCII', () => {
    expect(needsSmtpUtf8('a@example.com')).toBe(false);
    expect(needsSmtpUtf8('jörg@example.com')).toBe(true);
    expect(needsSmtpUtf8('a@例え.jp')).toBe(true);
  });
});

describe('checkCommandLine', () => {
  it('accepts a printable line', () => {
    expect(checkCommandLine('HELP')).toBe('HELP');
    expect(checkCommandLine('XCLIENT ADDR=127.0.0.1')).toBe('XCLIENT ADDR=127.0.0.1');
  });

  it.each(['NOOP\r\nQUIT', 'NOOP\n', 'NO\0OP', '', 'x'.repeat(511), 'NOOP\tx', 'HELP\x1b', 'HELP\x7f', 'HELP\u0085'])('refuses %j', (line) => {
    expect(() => checkCommandLine(line)).toThrow(ProtocolError);
  });
});

describe('checkVerifyArgument', () => {
  it('builds the VRFY line for any printable argument', () => {
    expect(checkVerifyArgument('postmaster')).toBe('VRFY postmaster');
    expect(checkVerifyArgument('Smith <smith@example.com>')).toBe('VRFY Smith <smith@example.com>');
  });

  it.each(['', '   ', 'a\tb', 'a\r\nRSET', undefined])('refuses %j, permanently', (argument) => {
    expect(() => checkVerifyArgument(argument)).toThrow(ProtocolError);
    expect(() => checkVerifyArgument(argument)).toThrow(expect.objectContaining({ transient: false }));
  });
});

describe('checkClientName', () => {
  it.each(['mail.example.com', 'localhost', '[127.0.0.1]', '[IPv6:::1]'])('accepts %s', (name) => {
    expect(checkClientName(name)).toBe(name);
  });

  it.each(['bad name', 'x\r\nMAIL FROM:<a@b>', '-leading.example', '', 'mail_out.example.com', 'a'.repeat(254), 'mail.example.com\t'])(
    'refuses %j',
    (name) => {
      expect(() => checkClientName(name)).toThrow(ProtocolError);
    },
  );

  it('takes a name of 253 characters', () => {
    const name = `${'a'.repeat(60)}.`.repeat(4) + 'a'.repeat(9);
    expect(name).toHaveLength(253);
    expect(checkClientName(name)).toBe(name);
  });

  it('is exported by the client package, for the cold-start check of the configuration', () => {
    expect(smtp.checkClientName).toBe(checkClientName);
  });
});
