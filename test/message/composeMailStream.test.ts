import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { composeMail } from '../../lib/message/composeMail.js';
import { composeMailStream } from '../../lib/message/composeMailStream.js';
import { InvalidJobError } from '../../lib/message/InvalidJobError.js';
import { parseMailJob } from '../../lib/message/parseMailJob.js';
import type { ComposedMailJob } from '../../lib/message/types.js';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

function composed(input: unknown): ComposedMailJob {
  const job = parseMailJob(input);
  if (job.kind !== 'composed') throw new Error('not composed');
  return job;
}

describe('composeMailStream', () => {
  const bytes = Buffer.from(Array.from({ length: 300_001 }, (_, n) => (n * 31 + (n >> 8)) % 256));
  let opened = 0;
  const source = {
    size: bytes.length,
    open: () => {
      opened += 1;
      // Odd chunk sizes, as S3 hands them over.
      return Readable.from(
        (function* () {
          for (let at = 0; at < bytes.length; at += 7_777) yield bytes.subarray(at, at + 7_777);
        })(),
      );
    },
  };

  it('announces the exact size before reading anything, and each chunks() builds the same message from its source anew', async () => {
    const job = composed({
      v: 1,
      id: 'big-1',
      from: 'Sender <s@example.com>',
      to: 'a@example.com',
      bcc: 'b@example.com',
      subject: 'Report',
      text: 'See attached.',
      attachments: [
        { filename: 'r.bin', contentType: 'application/octet-stream', s3: { bucket: 'producer-files', key: 'reports/r.bin' } },
        { filename: 'small.txt', contentType: 'text/plain', content: Buffer.from('small').toString('base64') },
      ],
    });
    expect(job.attachments[0]?.s3).toEqual({ bucket: 'producer-files', key: 'reports/r.bin' });
    const withSource = { ...job, attachments: job.attachments.map((a, n) => (n === 0 ? { ...a, source } : a)) };
    opened = 0;
    const mail = await composeMailStream(withSource, { date: new Date('2026-12-01T00:00:00Z') });
    expect(opened).toBe(0);
    expect(mail.envelope).toEqual({ from: 's@example.com', to: ['a@example.com', 'b@example.com'] });
    const first = await collect(mail.message.chunks());
    const second = await collect(mail.message.chunks());
    expect(opened).toBe(2);
    expect(first.length).toBe(mail.message.size);
    expect(second.equals(first)).toBe(true);
    const parsed = await simpleParser(first);
    expect(parsed.messageId).toBe(mail.messageId);
    expect(parsed.attachments.map((a) => [a.filename, a.size])).toEqual([
      ['r.bin', bytes.length],
      ['small.txt', 5],
    ]);
    expect(
      createHash('sha256')
        .update(parsed.attachments[0]?.content ?? '')
        .digest('hex'),
    ).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(first.toString('latin1')).not.toMatch(/^bcc:/im);
  });

  it("announces the size of exactly what chunks() yields whatever the sources' sizes (counted without encoding them whole)", async () => {
    const job = composed({
      v: 1,
      from: 's@example.com',
      to: 'a@example.com',
      subject: 'Sizes',
      text: 'x',
      attachments: [
        { filename: 'a.bin', contentType: 'application/octet-stream', s3: { bucket: 'bkt', key: 'a' } },
        { filename: 'b.bin', contentType: 'application/octet-stream', s3: { bucket: 'bkt', key: 'b' } },
      ],
    });
    const sourceOf = (size: number) => ({ size, open: () => Readable.from([Buffer.alloc(size, size % 251)]) });
    const sizes = [...Array.from({ length: 240 }, (_, n) => n), 1_000_003, 1_000_057, 1_000_058, 2_000_000];
    const wrong: string[] = [];
    for (const [n, size] of sizes.entries()) {
      const other = sizes[(n * 7) % sizes.length] ?? 0;
      const sources = [sourceOf(size), sourceOf(other)];
      const mail = await composeMailStream({ ...job, attachments: job.attachments.map((a, i) => ({ ...a, source: sources[i] })) });
      const sent = (await collect(mail.message.chunks())).length;
      if (sent !== mail.message.size) wrong.push(`${size} + ${other}: announced ${mail.message.size}, yielded ${sent}`);
    }
    expect(wrong).toEqual([]);
  });

  it('refuses an attachment named by s3 that was not opened, and composeMail refuses one at all', async () => {
    const job = composed({
      v: 1,
      from: 's@example.com',
      to: 'a@example.com',
      subject: 'x',
      attachments: [{ filename: 'r', contentType: 'text/plain', s3: { bucket: 'bkt', key: 'k' } }],
    });
    await expect(composeMailStream(job)).rejects.toThrow(InvalidJobError);
    await expect(composeMail(job)).rejects.toThrow(/compose it with composeMailStream/);
  });
});
