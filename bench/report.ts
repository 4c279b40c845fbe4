/**
 * What every benchmark section shares: the section shape, medians, and markdown tables.
 * @module
 */

/** One part of `npm run bench`; each section prints its own markdown. */
export interface BenchSection {
  /** Name used to pick sections on the command line (`npm run bench -- smtp`). */
  name: string;
  title: string;
  /** Runs the measurements; `log` reports progress on stderr; resolves with the section's markdown. */
  run(log: (line: string) => void): Promise<string>;
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const at = (index: number): number => {
    const value = sorted[index];
    if (value === undefined) throw new Error('median of nothing');
    return value;
  };
  return sorted.length % 2 === 1 ? at(middle) : (at(middle - 1) + at(middle)) / 2;
}

/** A markdown table; cells are printed as given. */
export function markdownTable(headers: string[], rows: string[][]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A number with a fixed count of decimals, or `–` when there is none. */
export function fixed(value: number | undefined, decimals: number): string {
  return value === undefined || Number.isNaN(value) ? '–' : value.toFixed(decimals);
}
