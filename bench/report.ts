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

/**
 * `previous` with each `## ` section of `fresh` in place of the one of the same title (or added
 * before the closing "Whole run" line), and a line saying which sections were re-run when.
 */
export function mergeSections(previous: string, fresh: string): string {
  const split = (text: string): { head: string; sections: Map<string, string>; tail: string } => {
    const [head = '', ...rest] = text.split(/\n(?=## )/);
    const sections = new Map<string, string>();
    let tail = '';
    for (const block of rest) {
      const title = block.slice(3, block.indexOf('\n') === -1 ? undefined : block.indexOf('\n'));
      const whole = /\nWhole run: [^\n]*\n*$/.exec(block);
      if (whole !== null) tail = whole[0].trim();
      sections.set(title, (whole === null ? block : block.slice(0, whole.index)).trimEnd());
    }
    return { head, sections, tail };
  };
  const old = split(previous);
  const next = split(fresh);
  for (const [title, block] of next.sections) old.sections.set(title, block);
  const stamp = `Re-run on their own: ${[...next.sections.keys()].join('; ')} (${next.head.split('\n').find((line) => /^\d{4}-/.test(line)) ?? ''}).`;
  return `${[old.head.trimEnd(), stamp, ...old.sections.values(), old.tail || next.tail].filter((part) => part !== '').join('\n\n')}\n`;
}
