import { describe, expect, it } from 'vitest';
import { MAX_LINE_OCTETS, prepareContent } from '../../lib/smtp/content.js';
import { ProtocolError } from '../../lib/smtp/errors.js';

const data = (text: string | Uint8Array) => Buffer.from(prepareContent(text, { dotStuff: true }).bytes).toString('latin1');
const bdat = (text: string | Uint8Array) => Buffer.from(prepareContent(text, { dotStuff: false }).bytes).toString('latin1');

describe('prepareContent', () => {
  it('makes bare LF and bare CR into CRLF and ends with CRLF', () => {
    expect(data('a\nb\rc\r\nd')).toBe('a\r\nb\r\nc\r\nd\r\n');
  });

  it('dot-stuffs lines that start with a dot, for DATA only', () => {
    expect(data('.\n..x\n.hidden\nok.\n')).toBe('..\r\n...x\r\n..hidden\r\nok.\r\n');
    expect(bdat('.\n..x\n')).toBe('.\r\n..x\r\n');
  });

  it('stuffs a dot that follows a bare CR line end', () => {
    expect(data('a\r.b')).toBe('a\r\n..b\r\n');
  });

  it('returns the very same bytes when nothing changes (no copy)', () => {
    const input = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(prepareContent(input, { dotStuff: true }).bytes).toBe(input);
  });

  it('counts the size with CRLF endings and without stuffing (RFC 1870)', () => {
    const content = prepareContent('a\n.b\n', { dotStuff: true });
    expect(content.size).toBe(7);
    expect(content.bytes.byteLength).toBe(8);
  });

  it('detects 8-bit content', () => {
    expect(prepareContent('plain\r\n', { dotStuff: true }).eightBit).toBe(false);
    expect(prepareContent('Grüße\r\n', { dotStuff: true }).eightBit).toBe(true);
  });

  it('accepts a line of exactly 998 octets and refuses 999 with the line number', () => {
    expect(data(`${'x'.repeat(MAX_LINE_OCTETS)}\r\n`)).toHaveLength(1000);
    expect(() => data(`ok\r\n${'x'.repeat(MAX_LINE_OCTETS + 1)}\r\n`)).toThrow(ProtocolError);
    expect(() => data(`ok\r\n${'x'.repeat(MAX_LINE_OCTETS + 1)}\r\n`)).toThrow(/line 2 is 999 octets/);
  });

  it('leaves an empty message empty', () => {
    expect(data('')).toBe('');
  });

  it('handles a large message line by line', () => {
    const line = 'A'.repeat(76);
    const input = `${line}\n`.repeat(20_000);
    const out = prepareContent(input, { dotStuff: true });
    expect(out.bytes.byteLength).toBe(78 * 20_000);
  });
});
