/**
 * bench/report.ts: a run of some sections replaces only those sections of results.md.
 */
import { describe, expect, it } from 'vitest';
import { mergeSections } from '../../bench/report.js';

const PREVIOUS = [
  '# Benchmark results',
  '',
  '2026-01-01T00:00:00Z · Node 24',
  '',
  '## A',
  '',
  'a1',
  '',
  '## B',
  '',
  'b1',
  '',
  'Whole run: 10 s.',
  '',
].join('\n');

describe('mergeSections', () => {
  it('replaces a section of the same title, keeps the others and the whole-run line, and says what was re-run when', () => {
    const fresh = ['# Benchmark results', '', '2026-02-02T00:00:00Z · Node 24', '', '## B', '', 'b2', '', 'Whole run: 3 s.', ''].join('\n');
    expect(mergeSections(PREVIOUS, fresh)).toBe(
      [
        '# Benchmark results',
        '',
        '2026-01-01T00:00:00Z · Node 24',
        '',
        'Re-run on their own: B (2026-02-02T00:00:00Z · Node 24).',
        '',
        '## A',
        '',
        'a1',
        '',
        '## B',
        '',
        'b2',
        '',
        'Whole run: 10 s.',
        '',
      ].join('\n'),
    );
  });

  it('adds a new section after the others', () => {
    const fresh = ['# Benchmark results', '', '2026-02-02T00:00:00Z', '', '## C', '', 'c1', '', 'Whole run: 3 s.', ''].join('\n');
    const merged = mergeSections(PREVIOUS, fresh);
    expect(merged.indexOf('## C')).toBeGreaterThan(merged.indexOf('b1'));
    expect(merged.endsWith('c1\n\nWhole run: 10 s.\n')).toBe(true);
  });
});
