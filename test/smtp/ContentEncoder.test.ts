/** The chunk-by-chunk encoder: exactly prepareContent's bytes wherever the chunks are cut. */
import { describe, expect, it } from 'vitest';
import { ContentEncoder } from '../../lib/smtp/ContentEncoder.js';
import { MAX_LINE_OCTETS, prepareContent } from '../../lib/smtp/content.js';
import { ProtocolError } from '../../lib/smtp/errors.js';

/** The encoder's output for `chunks`, each chunk's bytes separately, then the end. */
function encode(chunks: string[], dotStuff = true): string[] {
  const encoder = new ContentEncoder({ dotStuff });
  const out = chunks.map((chunk) => Buffer.from(encoder.push(Buffer.from(chunk, 'latin1'))).toString('latin1'));
  out.push(Buffer.from(encoder.end()).toString('latin1'));
  return out;
}

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('ContentEncoder', () => {
  it('stuffs a dot that starts a chunk after a line end in the previous chunk', () => {
    expect(encode(['a\r\n', '.b\r\n'])).toEqual(['a\r\n', '..b\r\n', '']);
    expect(encode(['a\n', '.\n'])).toEqual(['a\r\n', '..\r\n', '']);
  });

  it('does not stuff a dot in the middle of a line that a chunk boundary cuts', () => {
    expect(encode(['ab', '.c\r\n'])).toEqual(['ab', '.c\r\n', '']);
  });

  it('joins a CR that ends one chunk and the LF that starts the next into one CRLF', () => {
    expect(encode(['a\r', '\nb\r\n'])).toEqual(['a', '\r\nb\r\n', '']);
    expect(encode(['a\r', '\n.b'])).toEqual(['a', '\r\n..b', '\r\n']);
  });

  it('makes a CR at the end of a chunk that no LF follows a line end of its own', () => {
    expect(encode(['a\r', 'b'])).toEqual(['a', '\r\nb', '\r\n']);
    expect(encode(['a\r', '.b'])).toEqual(['a', '\r\n..b', '\r\n']);
    expect(encode(['a\r'])).toEqual(['a', '\r\n']);
  });

  it('makes bare LF and bare CR CRLF and ends the message with CRLF, once', () => {
    expect(encode(['x\ny\rz'])).toEqual(['x\r\ny\r\nz', '\r\n']);
    expect(encode(['x\r\n'])).toEqual(['x\r\n', '']);
    expect(encode([])).toEqual(['']);
  });

  it('leaves dots alone for BDAT', () => {
    expect(encode(['a\r\n', '.b\r\n'], false)).toEqual(['a\r\n', '.b\r\n', '']);
  });

  it('hands back the very chunk when nothing changes (no copy)', () => {
    const encoder = new ContentEncoder({ dotStuff: true });
    const chunk = Buffer.from('Subject: x\r\n\r\nbody\r\n');
    expect(encoder.push(chunk)).toBe(chunk);
  });

  it('counts a line across chunks against the 998-octet limit', () => {
    const encoder = new ContentEncoder({ dotStuff: true });
    encoder.push(Buffer.from('ok\r\n'));
    encoder.push(Buffer.alloc(MAX_LINE_OCTETS - 1, 'x'));
    encoder.push(Buffer.from('x'));
    expect(() => encoder.push(Buffer.from('x'))).toThrow(ProtocolError);
    const fresh = new ContentEncoder({ dotStuff: true });
    expect(() => fresh.push(Buffer.alloc(MAX_LINE_OCTETS + 1, 'x'))).toThrow(/line 1 is over 998 octets/);
  });

  it('tells 8-bit content', () => {
    const encoder = new ContentEncoder({ dotStuff: true });
    encoder.push(Buffer.from('plain\r\n'));
    expect(encoder.eightBit).toBe(false);
    encoder.push(Buffer.from('Grüße\r\n'));
    expect(encoder.eightBit).toBe(true);
  });

  it('gives exactly prepareContent of the whole message, for 2000 random messages cut at random places', () => {
    const alphabet = ['a', 'b', '.', '.', '\r', '\n', '\r\n', '\u00e9', ' '];
    for (let seed = 1; seed <= 2000; seed += 1) {
      const next = random(seed);
      const length = Math.floor(next() * 40);
      const message = Array.from({ length }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
      const bytes = Buffer.from(message, 'latin1');
      const cuts = [0];
      for (let at = 0; at < bytes.length;) {
        at += 1 + Math.floor(next() * 5);
        cuts.push(Math.min(at, bytes.length));
      }
      const chunks = cuts.slice(1).map((end, index) => bytes.subarray(cuts[index], end).toString('latin1'));
      for (const dotStuff of [true, false]) {
        const whole = Buffer.from(prepareContent(bytes, { dotStuff }).bytes).toString('latin1');
        expect({ seed, dotStuff, bytes: encode(chunks, dotStuff).join('') }).toEqual({ seed, dotStuff, bytes: whole });
      }
    }
  });
});
