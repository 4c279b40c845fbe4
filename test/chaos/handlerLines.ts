/**
 * What the fault-injection run reads from the records and the handler's log lines: the job ids of
 * a batch, each record's outcome line, and the handler's word that it worked without the ledger.
 * @module
 */
import type { SQSRecord } from 'aws-lambda';
import type { InvocationTrace } from './runEvidence.js';

/** The `jobs` count (1 when it cannot be read) and the `problem` of the handler's "ledger could not be reached" line. */
export function ledgerLineOf(line: string): { jobs: number; problem?: string } {
  try {
    const entry = JSON.parse(line) as { jobs?: unknown; problem?: unknown };
    return { jobs: typeof entry.jobs === 'number' ? entry.jobs : 1, ...(typeof entry.problem === 'string' ? { problem: entry.problem } : {}) };
  } catch {
    return { jobs: 1 };
  }
}

/** The job ids (the bodies' `id`) of a batch's records. */
export function jobIdsOf(records: readonly SQSRecord[]): string[] {
  return records.flatMap((record) => {
    try {
      const id = (JSON.parse(record.body) as { id?: unknown }).id;
      return typeof id === 'string' ? [id] : [];
    } catch {
      return [];
    }
  });
}

/** A handler log line about one record (Powertools JSON with `jobId`), else undefined. */
export function parseLine(line: string): InvocationTrace['outcomes'][number] | undefined {
  if (!line.includes('"jobId"')) return undefined;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const text = (key: string): string | undefined => {
      const value = entry[key];
      return typeof value === 'string' ? value : undefined;
    };
    const out: InvocationTrace['outcomes'][number] = {};
    for (const key of ['jobId', 'outcome', 'placement', 'cause', 'problem'] as const) {
      const value = text(key);
      if (value !== undefined) out[key] = value;
    }
    const refused = entry['refused'];
    if (Array.isArray(refused)) out.refused = refused.map((r: unknown) => String((r as { code?: unknown }).code)).join(',');
    return out;
  } catch {
    return undefined;
  }
}
