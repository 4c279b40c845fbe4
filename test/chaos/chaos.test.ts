/**
 * The short fault-injection run (the long one is `npm run chaos`): the real send-mail bundle,
 * built as cdk synth builds it, invoked by the local event source stand-in against the SQS
 * emulator and an in-process relay, through fault proxies, on a standard and a FIFO queue with
 * one fixed seed, with the delivery ledger in dynalite. Besides the network and SQS faults, it kills
 * invocations after the relay's 250, fails re-enqueues, hands records out twice, publishes jobs
 * twice and fails ledger calls. It asserts the invariants, not times: nothing lost, no recipient
 * refused for good delivered, no duplicate outside the ambiguous class (a reply lost after the end
 * of data, a kill between the relay's reply and the ledger's record, the ledger unreachable), no
 * DLQ copy holding a delivered recipient without a fault to explain it, each FIFO group delivered in order.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHandlerBundle } from '../../lib/local/buildHandlerBundle.js';
import type { HandlerBundle } from '../../lib/local/buildHandlerBundle.js';
import { DEFAULT_RATES, runChaos } from './chaosRun.js';
import type { FaultRates } from './chaosRun.js';
import { FAULT_KINDS } from './FaultLog.js';
import { formatTables } from './printTable.js';

const SEED = 20261201;
const JOBS = 60;
/** Denser faults than the long run's, so that 60 jobs meet every kind. */
const RATES: FaultRates = {
  ...DEFAULT_RATES,
  smtp: { ...DEFAULT_RATES.smtp, dropClientToServer: 0.08, dropServerToClient: 0.06, dropAfterDot: 0.1, stall: 0.05, stallMs: [1000, 6000] },
  relay: { ...DEFAULT_RATES.relay, smtp421: 0.08 },
  sqs: { ...DEFAULT_RATES.sqs, error500: 0.05, throttle: 0.05, slow: 0.05 },
  kill: 0.1,
};

let dir: string;
let bundle: HandlerBundle;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'chaos-test-'));
  bundle = await buildHandlerBundle(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the delivery path under injected faults (short run)', () => {
  it(`holds on a standard and a FIFO queue, ${JOBS} jobs each, seed ${SEED}`, async () => {
    const pipeline = { settleSeconds: 40 };
    const [standard, fifo] = await Promise.all([
      runChaos({ queue: 'standard', jobs: JOBS, seed: SEED, bundle, rates: RATES, pipeline }),
      runChaos({ queue: 'fifo', jobs: JOBS, seed: SEED, bundle, rates: RATES, pipeline }),
    ]);
    const tables = [standard.table, fifo.table];
    const shown = formatTables(tables, SEED);
    console.log(shown);
    for (const table of tables) {
      expect(table.lost, shown).toBe(0);
      expect(table.refusedForGood.delivered, shown).toBe(0);
      // With the delivery ledger, the only duplicates left are of the ambiguous class (issue 9).
      expect(table.ledger, shown).toBe(true);
      expect(table.other, shown).toBe(0);
      expect(table.deliveredInDlq.unexplained, shown).toBe(0);
      expect(table.delivered + table.deliverableInDlq + table.pending + table.refusedForGood.total, shown).toBe(table.recipients);
      expect(table.violations, shown).toEqual([]);
    }
    expect(fifo.table.fifoOrderViolations, shown).toBe(0);
    // The run did inject faults of most kinds (which ones a short run meets depends on timing).
    const kinds = FAULT_KINDS.filter((kind) => standard.table.faults[kind] + fifo.table.faults[kind] > 0);
    expect(kinds.length, shown).toBeGreaterThanOrEqual(7);
  }, 110_000);
});
