/**
 * The id of a job published without one: derived from the checked job, so that the same job
 * published twice (whatever its JSON spelling) gets one id, and another job another.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentJobId } from '../../lib/message/contentJobId.js';
import { composeMail, parseMailJob } from '../../lib/message/index.js';

const job = { v: 1, from: 'Shop <shop@example.com>', to: ['ann@example.com'], subject: 'Your receipt', text: 'Thank you.' };

describe('contentJobId', () => {
  it('is content. and 32 hex digits, the same for the same job however its JSON is written', () => {
    const reordered = {
      text: 'Thank you.',
      subject: 'Your receipt',
      to: 'ann@EXAMPLE.com',
      from: { name: 'Shop', address: 'shop@example.com' },
      v: 1,
    };
    const id = contentJobId(parseMailJob(job));
    expect(id).toMatch(/^content\.[0-9a-f]{32}$/);
    expect(contentJobId(parseMailJob(JSON.parse(JSON.stringify(job)) as unknown))).toBe(id);
    expect(contentJobId(parseMailJob(reordered))).toBe(id);
  });

  it('differs when anything of the job differs: a recipient, the text, an attachment byte', () => {
    const withFile = (byte: number) => ({
      ...job,
      attachments: [{ filename: 'a.bin', contentType: 'application/octet-stream', content: Buffer.from([byte]).toString('base64') }],
    });
    const ids = [
      contentJobId(parseMailJob(job)),
      contentJobId(parseMailJob({ ...job, to: ['bob@example.com'] })),
      contentJobId(parseMailJob({ ...job, text: 'Thank you!' })),
      contentJobId(parseMailJob(withFile(1))),
      contentJobId(parseMailJob(withFile(2))),
    ];
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('gives the Message-ID of a job that carries it as its id', async () => {
    const parsed = parseMailJob(job);
    const id = contentJobId(parsed);
    const { messageId } = await composeMail(parseMailJob({ ...job, id }));
    expect(messageId).toBe(`<${id}@example.com>`);
  });

  it('canonical JSON: keys sorted at every level, undefined fields left out, bytes as base64', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, undefined], c: new Uint8Array([255]) }, u: undefined })).toBe(
      '{"a":{"c":{"base64":"/w=="},"d":[1,null]},"b":1}',
    );
  });
});
