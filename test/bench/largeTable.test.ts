/**
 * bench/large: the table's pure logic (rows from runs, ratios, the 128 MB line, the wire sizes),
 * the attachment size for a message size, and the delivery check on composed messages.
 */
import { createHash, randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { attachmentDigests, checkDelivery } from '../../bench/large/deliveryCheck.js';
import { largeCells, largeTableRows, ratio, summariseLarge, withinLimitLine } from '../../bench/large/largeTable.js';
import type { LargeRowKey, LargeSample } from '../../bench/large/largeTable.js';
import { attachmentBytesFor } from '../../bench/large/measureLarge.js';
import { wireSizesLine } from '../../bench/large/section.js';
import { composeMail, parseMailJob } from '../../lib/message/index.js';

const OURS: LargeRowKey = { handler: 'send-mail (ours)', relay: 'DATA', rttMs: 0, batch: '1 × 10 MB' };
const THEIRS: LargeRowKey = { ...OURS, handler: 'nodemailer' };

/** A run that went well, with `ms` and a peak of `mib` MiB. */
function run(ms: number, mib: number, extra: Partial<LargeSample> = {}): LargeSample {
  return {
    ms,
    peakRssKb: mib * 1024,
    importedRss: 80 * 2 ** 20,
    failed: 0,
    delivered: 1,
    expected: 1,
    intact: true,
    largestBytes: 10_000_000,
    ...extra,
  };
}

describe('summariseLarge', () => {
  it('takes the medians of time and peak, the worst peak, and counts intact runs', () => {
    // Act
    const row = summariseLarge(OURS, [run(300, 110), run(100, 120), run(200, 100)]);
    // Assess
    expect(row).toEqual({
      ...OURS,
      runs: 3,
      batchMs: 200,
      peakRssMiB: 110,
      worstRssMiB: 120,
      importedRssMiB: 80,
      unreported: 0,
      intactRuns: 3,
      largestBytes: 10_000_000,
      problems: [],
    });
  });

  it('shows a run that crashed and one that lost a message, and takes figures from the runs that reported', () => {
    // Prepare
    const crashed: LargeSample = {
      failed: 1,
      delivered: 0,
      expected: 1,
      intact: false,
      largestBytes: 0,
      problem: 'handler process exited with 134: heap out of memory',
    };
    const lost = run(500, 90, { delivered: 0, intact: false, largestBytes: 0, problem: '0 of 1 messages delivered' });
    // Act
    const row = summariseLarge(OURS, [run(100, 100), crashed, lost]);
    // Assess
    expect(row).toMatchObject({ runs: 3, batchMs: 300, peakRssMiB: 95, worstRssMiB: 100, unreported: 1, intactRuns: 1 });
    expect(row.problems).toEqual(['run 2: handler process exited with 134: heap out of memory', 'run 3: 0 of 1 messages delivered']);
    expect(largeCells(row)[9]).toBe(
      '**NO** (1/3 runs; run 2: handler process exited with 134: heap out of memory; run 3: 0 of 1 messages delivered)',
    );
  });

  it('names records the handler reported failed when nothing else was said', () => {
    expect(summariseLarge(OURS, [run(100, 100, { failed: 2 })]).problems).toEqual(['run 1: 2 record(s) reported failed']);
  });

  it('puts a many-line problem with | on one line of the table', () => {
    const row = summariseLarge(OURS, [run(100, 100, { intact: false, problem: 'exited with 1:\n  a | b' })]);
    expect(largeCells(row)[9]).toBe('**NO** (0/1 runs; run 1: exited with 1: a / b)');
  });
});

describe('the table', () => {
  it('gives ours the ratios to the nodemailer row of the same relay, RTT and batch, and nodemailer none', () => {
    // Prepare
    const rows = [
      summariseLarge(OURS, [run(150, 100)]),
      summariseLarge(THEIRS, [run(300, 125)]),
      summariseLarge({ ...OURS, rttMs: 40 }, [run(900, 100)]),
      summariseLarge({ ...THEIRS, rttMs: 40 }, [run(600, 80)]),
    ];
    // Act
    const cells = largeTableRows(rows);
    // Assess
    expect(cells).toEqual([
      ['send-mail (ours)', 'DATA', '0 ms', '1 × 10 MB', '150 ms', '0.50×', '100.0 / 100.0 MiB', '0.80×', '80.0 MiB', 'yes (1/1 runs)'],
      ['nodemailer', 'DATA', '0 ms', '1 × 10 MB', '300 ms', '', '125.0 / 125.0 MiB', '', '80.0 MiB', 'yes (1/1 runs)'],
      ['send-mail (ours)', 'DATA', '40 ms', '1 × 10 MB', '900 ms', '1.50×', '100.0 / 100.0 MiB', '1.25×', '80.0 MiB', 'yes (1/1 runs)'],
      ['nodemailer', 'DATA', '40 ms', '1 × 10 MB', '600 ms', '', '80.0 / 80.0 MiB', '', '80.0 MiB', 'yes (1/1 runs)'],
    ]);
  });

  it('prints – for a ratio without both figures', () => {
    expect([ratio(undefined, 2), ratio(1, undefined), ratio(1, 0), ratio(1, 4)]).toEqual(['–', '–', '–', '0.25×']);
  });
});

describe('withinLimitLine', () => {
  it('says every run of ours stayed within 128 MB, with the highest peak and where', () => {
    const rows = [
      summariseLarge(OURS, [run(1, 100), run(1, 127.5)]),
      summariseLarge({ ...OURS, batch: '1 × 40 MB' }, [run(1, 110)]),
      summariseLarge(THEIRS, [run(1, 200)]),
    ];
    expect(withinLimitLine(rows)).toBe('**Every run of ours stayed within 128 MB**: 3 runs, highest peak 127.5 MiB (1 × 10 MB, DATA, 0 ms).');
  });

  it('says which runs went over and which gave no report', () => {
    // Prepare
    const crashed: LargeSample = { failed: 1, delivered: 0, expected: 1, intact: false, largestBytes: 0, problem: 'killed' };
    const rows = [summariseLarge({ ...OURS, batch: '1 × 40 MB', relay: 'CHUNKING' }, [run(1, 131.1), crashed]), summariseLarge(OURS, [run(1, 100)])];
    // Act / Assess
    expect(withinLimitLine(rows)).toBe(
      '**Not every run of ours stayed within 128 MB**: 3 runs; over in 1 × 40 MB, CHUNKING, 0 ms (worst 131.1 MiB); ' +
        '1 run(s) without a report in 1 × 40 MB, CHUNKING, 0 ms; highest peak 131.1 MiB (1 × 40 MB, CHUNKING, 0 ms).',
    );
  });
});

describe('sizes', () => {
  it('picks attachments whose message is about the size asked for on the wire (base64 in 76-character CRLF lines)', () => {
    for (const mb of [10, 25, 40]) {
      const bytes = attachmentBytesFor(mb * 1e6);
      expect(bytes % 3).toBe(0);
      const base64 = (bytes / 3) * 4;
      expect(base64 + 2 * Math.ceil(base64 / 76) + 3000).toBeCloseTo(mb * 1e6, -3);
    }
  });

  it('lists the largest message the DATA relay received per batch, ours then nodemailer', () => {
    const rows = [
      summariseLarge(OURS, [run(1, 1, { largestBytes: 10_001_234 })]),
      summariseLarge(THEIRS, [run(1, 1, { largestBytes: 10_003_000 })]),
      summariseLarge({ ...OURS, relay: 'CHUNKING' }, [run(1, 1, { largestBytes: 9_000_000 })]),
    ];
    expect(wireSizesLine(rows)).toBe('Largest message as the DATA relay received it (ours / nodemailer): 1 × 10 MB: 10.00 MB / 10.00 MB.');
    expect(wireSizesLine([])).toBe('');
  });
});

describe('the delivery check', () => {
  const content = randomBytes(100_000);
  const digest = createHash('sha256').update(content).digest('hex');

  it('finds an attachment of a message we compose byte for byte, and says what is missing', async () => {
    // Prepare
    const job = parseMailJob({
      v: 1,
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'x',
      text: 'y',
      html: '<p>y</p>',
      attachments: [{ filename: 'f.bin', contentType: 'application/octet-stream', content: content.toString('base64') }],
    });
    const raw = Buffer.from((await composeMail(job)).message);
    // Act / Assess
    expect(attachmentDigests(raw)).toEqual([{ filename: 'f.bin', size: 100_000, sha256: digest }]);
    expect(checkDelivery([raw], 1, [digest])).toEqual({ delivered: 1, intact: true, largestBytes: raw.length });
    expect(checkDelivery([raw], 2, [digest, 'f'.repeat(64)])).toEqual({
      delivered: 1,
      intact: false,
      largestBytes: raw.length,
      problem: '1 of 2 messages delivered; 1 of 2 large attachments missing or altered',
    });
  });

  it('finds it in a message nodemailer composed, also with LF line ends as a Maildir keeps it, and not once a byte changed', async () => {
    // Prepare
    const info = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({
      from: 'a@example.test',
      to: 'b@example.test',
      subject: 'x',
      text: 'y',
      attachments: [{ filename: 'f.bin', contentType: 'application/octet-stream', content }],
    });
    const raw = info.message as Buffer;
    const lf = Buffer.from(raw.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    const altered = Buffer.from(raw);
    const at = altered.lastIndexOf('\r\n--') - 10;
    altered[at] = altered[at] === 0x41 ? 0x42 : 0x41;
    // Act / Assess
    expect(attachmentDigests(raw)).toEqual([{ filename: 'f.bin', size: 100_000, sha256: digest }]);
    expect(attachmentDigests(lf)).toEqual([{ filename: 'f.bin', size: 100_000, sha256: digest }]);
    expect(checkDelivery([altered], 1, [digest]).intact).toBe(false);
  });
});
