import { describe, expect, it } from 'vitest';
import { parseCapabilities } from '../../lib/smtp/extensions.js';

describe('parseCapabilities', () => {
  it('parses a Postfix EHLO reply', () => {
    const caps = parseCapabilities({
      code: 250,
      lines: [
        'mail.example.test',
        'PIPELINING',
        'SIZE 10240000',
        'VRFY',
        'ETRN',
        'STARTTLS',
        'AUTH PLAIN LOGIN',
        'ENHANCEDSTATUSCODES',
        '8BITMIME',
        'DSN',
        'SMTPUTF8',
        'CHUNKING',
      ],
    });
    expect(caps).toEqual({
      size: 10240000,
      pipelining: true,
      chunking: true,
      eightBitMime: true,
      smtpUtf8: true,
      dsn: true,
      enhancedStatusCodes: true,
      startTls: true,
      auth: ['PLAIN', 'LOGIN'],
    });
  });

  it('treats the first line as the greeting, not a keyword', () => {
    expect(parseCapabilities({ code: 250, lines: ['PIPELINING'] }).pipelining).toBe(false);
  });

  it('is case-insensitive and tolerates tabs and extra spaces', () => {
    const caps = parseCapabilities({ code: 250, lines: ['x', 'pipelining', 'auth\tplain   xoauth2', ' size  500 '] });
    expect(caps.pipelining).toBe(true);
    expect(caps.auth).toEqual(['PLAIN', 'XOAUTH2']);
    expect(caps.size).toBe(500);
  });

  it('merges the old AUTH= form without duplicates', () => {
    expect(parseCapabilities({ code: 250, lines: ['x', 'AUTH LOGIN PLAIN', 'AUTH=LOGIN PLAIN'] }).auth).toEqual(['LOGIN', 'PLAIN']);
  });

  it('reads SIZE without a limit as 0 and a nonsense limit as 0', () => {
    expect(parseCapabilities({ code: 250, lines: ['x', 'SIZE'] }).size).toBe(0);
    expect(parseCapabilities({ code: 250, lines: ['x', 'SIZE lots'] }).size).toBe(0);
  });

  it('leaves size undefined when SIZE is not offered', () => {
    expect(parseCapabilities({ code: 250, lines: ['x', 'PIPELINING'] })).not.toHaveProperty('size');
  });
});
