/**
 * A raw job read from an offloaded JSON (raw.message into a file, checked as it streams) is valid
 * exactly when the same job given whole is, with the same problems, the same envelope and, on the
 * wire, the same octets: every raw case of test/message, the hostile raw bodies, and the cases
 * where a stream could go wrong (escapes, surrogate pairs, CR/LF and UTF-8 cut by a chunk, limits).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PayloadError } from '../../../lib/delivery/payload/PayloadStore.js';
import { spoolJobJson } from '../../../lib/delivery/payload/spoolJobJson.js';
import { composeMail, InvalidJobError, parseMailJob } from '../../../lib/message/index.js';
import { rawMailStream } from '../../../lib/message/StreamedRawMessage.js';
import { describeJobInput } from '../../../lib/operate/describeJob.js';
import type { MailJob } from '../../../lib/message/index.js';
import { MAX_RAW_HEADER_LENGTH, MAX_RAW_MESSAGE_LENGTH } from '../../../lib/message/rawMessage.js';
import { ACCEPTED_RAW_JOBS, REFUSED_JOBS } from '../../message/jobCorpus.js';
import { hostileBodies } from '../../message/hostileBodies.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raw-spool-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The octets cut into chunks of `size`, as S3 might hand them over. */
function chunked(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    })(),
  );
}

type Verdict =
  { ok: true; envelope: unknown; id?: string; tags?: unknown; delaySeconds?: number; wire: string; header: string } | { ok: false; issues: unknown };

/** What parseMailJob makes of a job: its problems, or what it sends (the CRLF message, ending with CRLF). */
async function verdict(parse: () => MailJob): Promise<Verdict> {
  let job: MailJob;
  try {
    job = parse();
  } catch (error) {
    if (error instanceof InvalidJobError) return { ok: false, issues: error.issues };
    throw error;
  }
  if (job.kind !== 'raw') throw new Error('not a raw job');
  const wire = job.source === undefined ? job.message + (job.message.endsWith('\n') ? '' : '\r\n') : await readStream(job.source.open());
  if (job.source !== undefined) {
    expect(Buffer.byteLength(wire)).toBe(job.source.size);
    expect(job.source.eightBit).toBe(/[^\x00-\x7f]/.test(wire));
  }
  const { envelope, id, tags, delaySeconds } = job;
  return { ok: true, envelope, id, tags, delaySeconds, wire, header: job.message };
}

async function readStream(stream: Readable): Promise<string> {
  return Buffer.concat((await stream.toArray()) as Buffer[]).toString('utf8');
}

/** The job given whole and the job read from an offloaded JSON in chunks of `size`: the same verdict. */
async function expectSameVerdict(body: Buffer, size: number): Promise<Verdict> {
  const whole = await verdict(() => parseMailJob(JSON.parse(body.toString('utf8'))));
  const { input } = await spoolJobJson(chunked(body, size), dir, `j${size}`);
  const streamed = await verdict(() => parseMailJob(input));
  if (whole.ok && streamed.ok) {
    // In memory the job holds the whole message; read from a file, its header section.
    expect(whole.header.startsWith(streamed.header)).toBe(true);
    expect(streamed.header).toMatch(/(?:\r\n\r\n|^\r\n)$|^[^]*$/);
    expect({ ...streamed, header: '' }).toEqual({ ...whole, header: '' });
  } else expect(streamed).toEqual(whole);
  return whole;
}

const rawCases: [string, unknown][] = [
  ...ACCEPTED_RAW_JOBS,
  ...REFUSED_JOBS.filter(([, input]) => typeof input === 'object' && input !== null && 'raw' in input).map(([name, input]): [string, unknown] => [
    name,
    input,
  ]),
];
const envelope = { from: 'a@example.com', to: ['b@example.com'] };
const raw = (message: string) => ({ v: 1, raw: { envelope, message } });
const moreRaw: [string, unknown][] = [
  ['LF, non-ASCII', raw('From: a@example.com\nSubject: Grüße 👋\n\nbody ü\n')],
  ['CRLF and LF mixed', raw('From: a@example.com\r\nSubject: x\n\r\nbody\nend')],
  ['no line end at all', raw('From: a@example.com')],
  ['a header only, ending with an empty line', raw('From: a@example.com\n\n')],
  ['a 999-octet line of 2-octet characters', raw(`From: a@example.com\n\nshort\n${'ü'.repeat(500)}\n`)],
  ['a line of 998 octets', raw(`From: a@example.com\n\n${'x'.repeat(998)}\n`)],
  ['a line of 998 octets ending in CRLF', raw(`From: a@example.com\n\n${'x'.repeat(998)}\r\n`)],
  ['a malformed header line after a fold', raw('From: a@example.com\nX-Ok: 1\n folded\nnot a field\n\nnot a field either')],
  ['fields only in the body', raw('from: a@example.com\nX-Note: To: b@example.com\nTO: c@example.com\n\nTo: in the body\nBcc: in the body')],
  ['two To fields', raw('From: a@example.com\nTo: b@example.com\nto : c@example.com\n\nx')],
  ['Resent-Bcc', raw('Resent-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nRESENT-BCC : hidden@example.com\r\nFrom: a@example.com\r\n\r\nbody')],
  ['other resent fields', raw('Resent-From: a@example.com\r\nResent-To: b@example.com\r\nFrom: o@example.com\r\n\r\nbody')],
  ['a CR at the very end', raw('From: a@example.com\r\n\r\nbody\r')],
  ['a lone high surrogate at the end', raw('From: a@example.com\r\n\r\nbody \ud83d')],
  ['a lone low surrogate', raw('From: a@example.com\r\n\r\n\udc00 body')],
  ['emoji pairs everywhere', raw(`From: a@example.com\nSubject: 👋👋\n\n${'👋\n'.repeat(300)}`)],
  ['an empty line first', raw('\nFrom: a@example.com\n\nbody')],
  ['CRLF first', raw('\r\nFrom: a@example.com\r\n\r\nbody')],
  ['several problems at once', raw(`Subject: x\nBcc: b@example.com\n\n${'y'.repeat(1200)}\u0000\rz`)],
  ['problems beside the message', { v: 1, id: 'has space', raw: { envelope: { from: 'a@example.com', to: [] }, message: 'Subject: x\n\nb', cc: 1 } }],
  [
    'tags and the null sender',
    { v: 1, id: 'r-1', tags: { t: 'v' }, raw: { envelope: { from: '', to: ['b@example.com'] }, message: 'From: <>\n\nbounce' } },
  ],
];

describe('a raw job read from an offloaded JSON gets the verdict of the same job given whole', () => {
  it.each([...rawCases, ...moreRaw])('%s', async (_name, input) => {
    const body = Buffer.from(JSON.stringify(input));
    for (const size of [1, 2, 3, 5, 64, 100_000]) await expectSameVerdict(body, size);
  });

  it('the same with every slash and non-ASCII character escaped (\\/, \\u00fc, \\ud83d\\udc4b)', async () => {
    const json = JSON.stringify(raw('From: a/b@example.com\nSubject: Grüße 👋\n\nü/👋\n')).replace(/[^\x00-\x7f]|\//g, (c) =>
      c === '/' ? '\\/' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );
    expect(json).toContain('\\ud83d\\udc4b');
    for (const size of [1, 4, 7]) expect((await expectSameVerdict(Buffer.from(json), size)).ok).toBe(true);
  });

  it('invalid UTF-8 in the object reads as JSON.parse of its text reads it (U+FFFD), and is sent so', async () => {
    const body = Buffer.concat([
      Buffer.from('{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":"From: a@example.com\\n\\nx '),
      Buffer.from([0xc3, 0x28, 0xff, 0xe2, 0x82, 0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0xf0, 0x9f, 0x91]),
      Buffer.from(' y"}}'),
    ]);
    for (const size of [1, 2, 3, 9, 1000]) expect((await expectSameVerdict(body, size)).ok).toBe(true);
  });

  it.each(hostileBodies().filter((hostile) => hostile.name.startsWith('raw')))('hostile body: $name', async ({ body }) => {
    for (const size of [4096, 65_536]) await expectSameVerdict(Buffer.from(body), size);
  });

  it.each([
    ['exactly at the limit', MAX_RAW_HEADER_LENGTH, true],
    ['one character over', MAX_RAW_HEADER_LENGTH + 1, false],
  ])('a header section %s (%i characters) with an empty line after it', async (_, length, ok) => {
    const start = `From: a@example.com\n${'X-Long: 0123456789\n'.repeat(Math.floor((length - 100) / 19))}`;
    const header = `${start}X: ${'h'.repeat(length - start.length - 3)}`;
    expect(header).toHaveLength(length);
    const whole = await expectSameVerdict(Buffer.from(JSON.stringify(raw(`${header}\n\nbody`))), 65_536);
    expect(whole.ok).toBe(ok);
  });

  it('a message of no empty line over the header limit: refused for its header section', async () => {
    const message = `From: a@example.com\n${'X: y\n'.repeat(MAX_RAW_HEADER_LENGTH / 5)}`;
    const whole = await expectSameVerdict(Buffer.from(JSON.stringify(raw(message))), 65_536);
    expect(whole).toEqual({ ok: false, issues: [{ path: 'raw.message', message: expect.stringMatching(/header section longer than 1048576/) }] });
  });

  it('a message over MAX_RAW_MESSAGE_LENGTH characters: refused for its length alone', async () => {
    const message = `Subject: no From\n\n${'x'.repeat(MAX_RAW_MESSAGE_LENGTH)}`;
    const whole = await expectSameVerdict(Buffer.from(JSON.stringify(raw(message))), 1024 * 1024);
    expect(whole).toEqual({ ok: false, issues: [{ path: 'raw.message', message: `is longer than ${MAX_RAW_MESSAGE_LENGTH} characters` }] });
  });
});

describe('the raw message as a JSON string', () => {
  it.each([
    ['an unknown escape', '"From: a@example.com\\n\\n\\x41"'],
    ['a short \\u escape', '"From: a@example.com\\n\\n\\u12"'],
    ['a raw line break', '"From: a@example.com\n\nbody"'],
    ['a raw tab', '"From: a@example.com\\n\\n\tbody"'],
  ])('%s: refused as JSON.parse refuses it (a permanent PayloadError)', async (_, message) => {
    const body = Buffer.from(`{"v":1,"raw":{"envelope":{"from":"a@example.com","to":["b@example.com"]},"message":${message}}}`);
    expect(() => JSON.parse(body.toString()) as unknown).toThrow(SyntaxError);
    for (const size of [1, 3, 1000]) {
      const error: unknown = await spoolJobJson(chunked(body, size), dir, 'bad').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PayloadError);
      expect((error as PayloadError).permanent).toBe(true);
      expect((error as Error).message).toMatch(/malformed string/);
    }
  });

  it('the message is not held as a string: its text does not count against the in-memory limit', async () => {
    const job = raw(`From: a@example.com\n\n${'line of text\n'.repeat(100_000)}`);
    const { input } = await spoolJobJson(chunked(Buffer.from(JSON.stringify(job)), 65_536), dir, 'mem', { maxInMemoryBytes: 4096 });
    const parsed = parseMailJob(input);
    expect(parsed.kind === 'raw' && parsed.source?.size).toBe(Buffer.byteLength('From: a@example.com\r\n\r\n') + 14 * 100_000);
    expect(await readFile(join(dir, 'mem-raw'), 'utf8')).toBe(`From: a@example.com\r\n\r\n${'line of text\r\n'.repeat(100_000)}`);
  });

  it('is sent from its file as a MessageStream of its exact size (composeMail, which builds in memory, refuses it)', async () => {
    const job = {
      v: 1,
      raw: { envelope: { from: 'a@example.com', to: ['b@example.com', 'c@example.com'] }, message: 'From: a@example.com\n\nGrüße\n' },
    };
    const { input } = await spoolJobJson(chunked(Buffer.from(JSON.stringify(job)), 8), dir, 'send');
    const parsed = parseMailJob(input);
    if (parsed.kind !== 'raw' || parsed.source === undefined) throw new Error('not read from a file');
    const { envelope, message } = rawMailStream({ ...parsed, source: parsed.source });
    expect(envelope).toEqual({ from: 'a@example.com', to: ['b@example.com', 'c@example.com'] });
    expect(message.size).toBe(Buffer.byteLength('From: a@example.com\r\n\r\nGrüße\r\n'));
    expect(message.eightBit).toBe(true);
    expect(Buffer.concat((await Readable.from(message.chunks()).toArray()) as Buffer[]).toString()).toBe('From: a@example.com\r\n\r\nGrüße\r\n');
    await expect(composeMail(parsed)).rejects.toThrow(/raw\.message: is read from a file as the message is sent/);
  });

  it("dlq show's description of it gives the message's size and its header, not the header's size", async () => {
    const job = {
      v: 1,
      raw: { envelope: { from: 'a@example.com', to: ['b@example.com'] }, message: `From: a@example.com\nSubject: s\n\n${'body\n'.repeat(1000)}` },
    };
    const { input } = await spoolJobJson(chunked(Buffer.from(JSON.stringify(job)), 4096), dir, 'describe');
    expect(await describeJobInput(input)).toMatchObject({
      form: 'raw',
      messageBytes: Buffer.byteLength(`From: a@example.com\r\nSubject: s\r\n\r\n${'body\r\n'.repeat(1000)}`),
      headers: ['From: a@example.com', 'Subject: s'],
    });
  });
});
