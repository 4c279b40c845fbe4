import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PayloadError } from '../../../lib/delivery/payload/PayloadStore.js';
import { spoolJobJson } from '../../../lib/delivery/payload/spoolJobJson.js';

/** The text cut into chunks of `size` octets, as S3 might hand them over. */
function chunked(text: string, size: number): AsyncIterable<Uint8Array> {
  const bytes = Buffer.from(text, 'utf8');
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    })(),
  );
}

describe('spoolJobJson', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spool-test-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const file = Buffer.from(Array.from({ length: 1000 }, (_, n) => (n * 7) % 256));
  const job = {
    v: 1,
    id: 'j-1',
    to: ['a@example.com', 'Zoë <z@example.com>'],
    subject: 'Sch\u00f6n "quoted" \\ \u2603',
    text: 'line\nline',
    attachments: [
      { filename: 'a.bin', contentType: 'application/octet-stream', content: file.toString('base64') },
      { filename: 'b.txt', contentType: 'text/plain', content: Buffer.from('hi').toString('base64'), contentId: 'b@x' },
    ],
    tags: { n: '1' },
    delaySeconds: 0,
    x: [true, false, null, -1.5e3, {}, []],
  };

  it.each([1, 2, 3, 7, 64, 100_000])('builds what JSON.parse builds, attachments decoded into files, whatever the chunk size (%i)', async (size) => {
    const { input, spooled } = await spoolJobJson(chunked(JSON.stringify(job, null, size % 2 === 0 ? 2 : 0), size), dir, 'j');
    const expected = structuredClone(job);
    for (const a of expected.attachments) a.content = '';
    expect(input).toEqual(expected);
    expect(spooled.map(({ index, size: s }) => ({ index, size: s }))).toEqual([
      { index: 0, size: 1000 },
      { index: 1, size: 2 },
    ]);
    expect(await readFile(spooled[0]?.path ?? '')).toEqual(file);
    expect((await readFile(spooled[1]?.path ?? '')).toString()).toBe('hi');
  });

  it('reads base64 whose slashes are escaped (\\/), as PHP writes them', async () => {
    const content = Buffer.from([0xff, 0xff, 0xff, 0xfe]).toString('base64'); // "////" + "/g=="
    const body = JSON.stringify({ attachments: [{ content }] }).replaceAll('/', '\\/');
    const { spooled } = await spoolJobJson(chunked(body, 3), dir, 'j');
    expect(await readFile(spooled[0]?.path ?? '')).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  });

  it('keeps __proto__ as a field (as JSON.parse does), for parseMailJob to refuse', async () => {
    const { input } = await spoolJobJson(chunked('{"__proto__":{"a":1}}', 4), dir, 'j');
    expect(Object.getPrototypeOf(input)).toBe(Object.prototype);
    expect(Object.keys(input as object)).toEqual(['__proto__']);
  });

  it.each([
    ['not JSON', 'hello', /malformed value/],
    ['cut short', '{"v":1,"to":"a@', /ends before/],
    ['content not base64', '{"attachments":[{"content":"ab$d"}]}', /must be base64/],
    ['content with a line break escape', '{"attachments":[{"content":"ab\\ncd"}]}', /must be base64/],
    ['content of a bad length', '{"attachments":[{"content":"abcde"}]}', /multiple of 4/],
    ['data after padding', '{"attachments":[{"content":"ab=c"}]}', /must be base64/],
    ['two values', '{} {}', /more than one/],
    ['too deep', '[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]', /nested deeper/],
  ])('refuses %s as a permanent PayloadError', async (_, body, message) => {
    const error: unknown = await spoolJobJson(chunked(body, 5), dir, 'j').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadError);
    expect((error as PayloadError).permanent).toBe(true);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a job whose parts held in memory exceed the limit, attachments aside', async () => {
    const big = { text: 'x'.repeat(2000), attachments: [{ content: 'A'.repeat(40_000) }] };
    await expect(spoolJobJson(chunked(JSON.stringify(big), 512), dir, 'j', { maxInMemoryBytes: 1000 })).rejects.toThrow(/larger than 1000 octets/);
    const small = { text: 'x', attachments: [{ content: 'A'.repeat(40_000) }] };
    await expect(spoolJobJson(chunked(JSON.stringify(small), 512), dir, 'j', { maxInMemoryBytes: 1000 })).resolves.toBeDefined();
  });
});
