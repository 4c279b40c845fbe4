import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../lib/smtp/errors.js';
import { MAX_REPLY_LINE, MAX_REPLY_OCTETS, ReplyParser, buildReply, canAnswer } from '../../lib/smtp/reply.js';

describe('ReplyParser', () => {
  it('parses a single-line reply with an enhanced status code', () => {
    expect(new ReplyParser().push('250 2.1.0 Sender ok\r\n')).toEqual([{ code: 250, enhancedCode: '2.1.0', lines: ['Sender ok'] }]);
  });

  it('joins multi-line continuations and keeps each line', () => {
    const parser = new ReplyParser();
    expect(parser.push('250-mx.example greets you\r\n250-PIPELINING\r\n')).toEqual([]);
    expect(parser.pending).toBe(true);
    expect(parser.push('250 SIZE 1000\r\n')).toEqual([{ code: 250, lines: ['mx.example greets you', 'PIPELINING', 'SIZE 1000'] }]);
    expect(parser.pending).toBe(false);
  });

  it('reassembles replies split across chunks at any byte', () => {
    const wire = '220 ready\r\n250-a\r\n250 b\r\n354 go ahead\r\n';
    for (let cut = 1; cut < wire.length; cut += 1) {
      const parser = new ReplyParser();
      const replies = [...parser.push(wire.slice(0, cut)), ...parser.push(wire.slice(cut))];
      expect(replies.map((r) => r.code)).toEqual([220, 250, 354]);
      expect(replies[1]!.lines).toEqual(['a', 'b']);
    }
  });

  it('returns several pipelined replies from one chunk, in order', () => {
    const replies = new ReplyParser().push('250 2.1.0 ok\r\n550 5.1.1 no such user\r\n450 4.2.0 later\r\n354 go\r\n');
    expect(replies).toEqual([
      { code: 250, enhancedCode: '2.1.0', lines: ['ok'] },
      { code: 550, enhancedCode: '5.1.1', lines: ['no such user'] },
      { code: 450, enhancedCode: '4.2.0', lines: ['later'] },
      { code: 354, lines: ['go'] },
    ]);
  });

  it('accepts bare LF line ends and a code without text', () => {
    expect(new ReplyParser().push('250\n221 bye\n')).toEqual([
      { code: 250, lines: [''] },
      { code: 221, lines: ['bye'] },
    ]);
  });

  it('decodes UTF-8 text', () => {
    expect(new ReplyParser().push(Buffer.from('250 ok für dich\r\n', 'utf8'))[0]!.lines).toEqual(['ok für dich']);
  });

  it.each([
    ['garbage', 'hello there\r\n'],
    ['a code out of range', '650 what\r\n'],
    ['a two-digit code', '25 ok\r\n'],
    ['an HTTP answer', 'HTTP/1.1 400 Bad Request\r\n'],
    ['a bad separator', '250_ok\r\n'],
  ])('throws ProtocolError on %s', (_name, wire) => {
    expect(() => new ReplyParser().push(wire)).toThrow(ProtocolError);
  });

  it('throws when a continuation changes code', () => {
    expect(() => new ReplyParser().push('250-a\r\n251 b\r\n')).toThrow(/changed code from 250 to 251/);
  });

  it('throws on an overlong line, even before its end arrives', () => {
    expect(() => new ReplyParser().push(`250 ${'x'.repeat(MAX_REPLY_LINE)}\r\n`)).toThrow(/over the 4096 accepted/);
    expect(() => new ReplyParser().push(`250 ${'x'.repeat(MAX_REPLY_LINE + 10)}`)).toThrow(ProtocolError);
  });

  it('throws on an endless multi-line reply', () => {
    expect(() => new ReplyParser().push('250-x\r\n'.repeat(600))).toThrow(/more than 512 lines/);
  });

  it('throws on a reply over 64 KiB, even when its lines and their count are each within bounds', () => {
    const line = `250-${'x'.repeat(4_000)}\r\n`;
    expect(() => new ReplyParser().push(line.repeat(17))).toThrow(`Reply is over ${MAX_REPLY_OCTETS} octets long`);
    const parser = new ReplyParser();
    expect(parser.push(line.repeat(15))).toEqual([]);
    expect(parser.push('250 end\r\n')).toHaveLength(1);
    // The count starts again with each reply.
    expect(parser.push(line.repeat(15) + '250 end\r\n')).toHaveLength(1);
  });

  it('forgets everything on reset', () => {
    const parser = new ReplyParser();
    parser.push('250-half\r\n250 inj');
    parser.reset();
    expect(parser.pending).toBe(false);
    expect(parser.push('220 fresh\r\n')).toEqual([{ code: 220, lines: ['fresh'] }]);
  });
});

describe('buildReply', () => {
  it('ignores an enhanced code of another class than the reply', () => {
    expect(buildReply(250, ['5.1.1 odd'])).toEqual({ code: 250, lines: ['5.1.1 odd'] });
  });

  it('strips the enhanced code from every line that carries it', () => {
    expect(buildReply(550, ['5.7.1 Refused', '5.7.1 See policy'])).toEqual({ code: 550, enhancedCode: '5.7.1', lines: ['Refused', 'See policy'] });
  });

  it('does not take a version number for an enhanced code', () => {
    expect(buildReply(220, ['2.0.10beta ready'])).toEqual({ code: 220, lines: ['2.0.10beta ready'] });
  });
});

describe('canAnswer (RFC 5321 s. 4.3.2)', () => {
  const codes = [220, 235, 250, 251, 334, 354, 421, 451, 500, 550, 554];
  it.each([
    ['command', [220, 235, 250, 251, 421, 451, 500, 550, 554]],
    ['DATA', [354, 421, 451, 500, 550, 554]],
    ['AUTH', [220, 235, 250, 251, 334, 421, 451, 500, 550, 554]],
    ['any', codes],
  ] as const)('%s takes exactly these codes', (rule, allowed) => {
    expect(codes.filter((code) => canAnswer(rule, code))).toEqual(allowed);
  });
});
