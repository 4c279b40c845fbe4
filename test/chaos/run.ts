/**
 * `npm run chaos`: the fault-injection run of the real send-mail bundle on a standard and a FIFO
 * queue. Prints one table and exits 1 when the run does not hold.
 *
 * Flags: `--jobs N` (per queue, default 300), `--seed N` (default: random, printed),
 * `--queue standard|fifo|both` (default both), `--ledger on|off` (the delivery ledger in dynalite,
 * default on; off shows the duplicates the ledger removes), `--log FILE` (the fault log as JSON lines),
 * `--source DIR` (build the bundle from another checkout of the project, e.g. a `git worktree` of
 * an older commit, to see what the run finds there).
 * @module
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildHandlerBundle } from '../../lib/local/buildHandlerBundle.js';
import type { HandlerBundle } from '../../lib/local/buildHandlerBundle.js';
import type { ChaosTable } from './accounting.js';
import { runChaos } from './chaosRun.js';
import { formatTables } from './printTable.js';

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '300' },
    seed: { type: 'string' },
    queue: { type: 'string', default: 'both' },
    log: { type: 'string' },
    source: { type: 'string' },
    ledger: { type: 'string', default: 'on' },
  },
});
if (values.ledger !== 'on' && values.ledger !== 'off') throw new Error(`--ledger: on or off, not ${values.ledger}`);
const ledger = values.ledger === 'on';
const jobs = Number(values.jobs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 1_000_000) : Number(values.seed);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs: a whole number above 0, not ${values.jobs}`);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: a whole number, not ${values.seed}`);
const queues: readonly ('standard' | 'fifo')[] | undefined =
  values.queue === 'both' ? ['standard', 'fifo'] : values.queue === 'standard' || values.queue === 'fifo' ? [values.queue] : undefined;
if (queues === undefined) throw new Error(`--queue: standard, fifo or both, not ${values.queue}`);

console.log(`chaos: seed ${seed} (rerun with --seed ${seed}), ${jobs} jobs per queue, delivery ledger ${ledger ? 'on' : 'off'}`);
const dir = await mkdtemp(path.join(tmpdir(), 'chaos-bundle-'));
try {
  const build: (into: string) => Promise<HandlerBundle> =
    values.source === undefined
      ? buildHandlerBundle
      : ((await import(path.resolve(values.source, 'lib/local/buildHandlerBundle.ts'))) as { buildHandlerBundle: typeof buildHandlerBundle })
          .buildHandlerBundle;
  if (values.source !== undefined) console.log(`chaos: the bundle is built from ${path.resolve(values.source)}`);
  const bundle = await build(dir);
  const tables: ChaosTable[] = [];
  const logLines: string[] = [];
  for (const queue of queues) {
    const { table, faults } = await runChaos({ queue, jobs, seed, bundle, ledger, progress: (line) => console.log(line) });
    tables.push(table);
    logLines.push(...faults.events.map((event) => JSON.stringify({ queue, ...event })));
  }
  if (values.log !== undefined) await writeFile(values.log, `${logLines.join('\n')}\n`);
  console.log(formatTables(tables, seed));
  process.exitCode = tables.every((table) => table.holds) ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
