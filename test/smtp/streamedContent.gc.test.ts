import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const moduleUrl = (file: string): string => pathToFileURL(fileURLToPath(new URL(`../../lib/${file}`, import.meta.url))).href;
const STREAMED_CONTENT = moduleUrl('smtp/StreamedContent.ts');
const COMPOSE_MAIL_STREAM = moduleUrl('message/composeMailStream.ts');
const PARSE_MAIL_JOB = moduleUrl('message/parseMailJob.ts');

/**
 * In a process with a 128 MB Lambda's heap flags: 40 MB of ~88 KB chunks of base64 lines (CRLF),
 * made afresh as a composer makes them, read through `batches`; prints the full collections run.
 */
const PROGRAM = `
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { constants, PerformanceObserver } from 'node:perf_hooks';
const { StreamedContent } = await import(${JSON.stringify(STREAMED_CONTENT)});
const { composeMailStream } = await import(${JSON.stringify(COMPOSE_MAIL_STREAM)});
const { parseMailJob } = await import(${JSON.stringify(PARSE_MAIL_JOB)});
const size = 30 * 1024 * 1024;
const job = parseMailJob({ v: 1, from: 'a@example.com', to: 'b@example.com', subject: 'Report', text: 'See attached.',
  attachments: [{ filename: 'r.bin', contentType: 'application/octet-stream', content: '' }] });
const block = randomBytes(64 * 1024);
function* blocks() { for (let left = size; left > 0; left -= block.length) yield Buffer.from(block.subarray(0, Math.min(left, block.length))); }
job.attachments[0].source = { size, open: () => Readable.from(blocks()) };
const mail = await composeMailStream(job);
let major = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) if (entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) major += 1;
}).observe({ entryTypes: ['gc'] });
const content = new StreamedContent(mail.message, { dotStuff: false, eightBit: false });
let bytes = 0;
for await (const batch of content.batches(256 * 1024, new Promise(() => {}))) bytes += batch.bytes;
await new Promise((resolve) => setTimeout(resolve, 50));
console.log(JSON.stringify({ bytes, major }));
`;

describe('StreamedContent: memory of a 40 MB stream', () => {
  it('reads 40 MB with at most 2 full collections under a 128 MB function heap (an arrow kept per chunk ran 4 or more)', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--max-semi-space-size=6', '--max-old-space-size=116', '--import', 'tsx', '--input-type=module', '-e', PROGRAM],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
    );
    const { bytes, major } = JSON.parse(stdout) as { bytes: number; major: number };
    expect(bytes).toBeGreaterThan(40_000_000);
    expect(major).toBeLessThanOrEqual(2);
  }, 60_000);
});
