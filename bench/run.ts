/**
 * `npm run bench`: runs the benchmark sections, prints their markdown and writes it to
 * `bench/results.md`. Pick sections by name: `npm run bench -- smtp`.
 * @module
 */
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { mergeSections } from './report.js';
import type { BenchSection } from './report.js';
import { blindCopiesSection } from './blindCopies.js';
import { handlerMemorySection } from './handlerMemory.js';
import { hostileJobsSection } from './hostileJobs.js';
import { lambdaBundleSection } from './lambdaBundle.js';
import { largeMessagesSection } from './large/section.js';
import { pipelineSection } from './pipeline/section.js';
import { smtpSection } from './smtp/section.js';

/** Every section, in the order they run. Add new sections here. */
const SECTIONS: BenchSection[] = [
  smtpSection,
  handlerMemorySection,
  largeMessagesSection,
  hostileJobsSection,
  blindCopiesSection,
  lambdaBundleSection,
  pipelineSection,
];

async function main(): Promise<void> {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !SECTIONS.some((section) => section.name === name));
  if (unknown.length > 0) {
    throw new Error(`unknown bench section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`);
  }
  const chosen = wanted.length === 0 ? SECTIONS : SECTIONS.filter((section) => wanted.includes(section.name));
  const started = performance.now();
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const parts = [
    '# Benchmark results',
    '',
    `${new Date().toISOString()} · Node ${process.versions.node} · ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'} · ${os.platform()} ${os.release()}`,
  ];
  for (const section of chosen) {
    log(`== ${section.title}`);
    parts.push('', `## ${section.title}`, '', await section.run(log));
  }
  parts.push('', `Whole run: ${((performance.now() - started) / 1000).toFixed(0)} s.`, '');
  const markdown = parts.join('\n');
  process.stdout.write(markdown);
  const results = new URL('./results.md', import.meta.url);
  // A run of some sections only replaces those sections in results.md and keeps the others.
  const previous = wanted.length === 0 ? undefined : await readFile(results, 'utf8').catch(() => undefined);
  await writeFile(results, previous === undefined ? markdown : mergeSections(previous, markdown));
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
