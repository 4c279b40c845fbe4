/**
 * The batch's spool budget (issue 11): offloaded jobs are read into spool files in `/tmp` before the
 * session, a batch may hold up to 1000 records, and Lambda's `/tmp` is 512 MB unless the stack gives
 * the function more. So the pointer jobs of a batch are loaded only while their sizes add up to
 * `MAIL_SPOOL_BYTES` (set by the stack from the function's ephemeral storage); the others are not
 * attempted in this invocation and come back, as jobs the time budget did not reach do. Pure.
 * @module
 */

/** `MAIL_SPOOL_BYTES` when unset: 400 MiB, within Lambda's default 512 MB of `/tmp`. */
export const DEFAULT_SPOOL_BYTES = 400 * 1024 * 1024;
/** `MAIL_MAX_MESSAGE_BYTES` when unset: 40 MiB, the producer's `maxMessageBytes` (lib/publish/queueMessage.ts). */
export const DEFAULT_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** A pointer job that could be loaded: its record's place in the batch, the object's size, and what decides its turn. */
export interface SpoolCandidate {
  index: number;
  /** The job's JSON in octets (an upper bound of what its attachments take once decoded into files). */
  size: number;
  receiveCount: number;
  /** FIFO: the record's message group. */
  group?: string;
}

/** How the budget is shared. */
export interface SpoolPlanOptions {
  budgetBytes: number;
  fifo: boolean;
  /** `MAIL_MAX_RECEIVES`: on a standard queue, jobs on their last receive are loaded first. */
  maxReceives?: number;
}

/**
 * Which pointer jobs are loaded in this invocation (the others are deferred: not attempted, they come back).
 *
 * - A job is loaded while the sizes loaded so far and its own stay within the budget; the first
 *   job considered is always loaded, however large (otherwise a job larger than the budget would
 *   never be tried; the spool's disk then decides).
 * - Standard queue: jobs on their last receive (`MAIL_MAX_RECEIVES`) are considered first, so that
 *   a job is dead-lettered as not attempted only when even those did not all fit; then the others,
 *   in event order, a smaller later job taking room a larger one left.
 * - FIFO queue: event order, and once a job of a message group is deferred, the group's later jobs
 *   are too (they would be held back behind it anyway); other groups go on.
 *
 * @example
 * planSpool([{ index: 0, size: 300e6, receiveCount: 1 }, { index: 1, size: 200e6, receiveCount: 1 }], { budgetBytes: 400e6, fifo: false });
 * // { load: Set {0}, deferred: Set {1} }
 */
export function planSpool(candidates: readonly SpoolCandidate[], options: SpoolPlanOptions): { load: Set<number>; deferred: Set<number> } {
  const { maxReceives } = options;
  const lastReceive = (candidate: SpoolCandidate): boolean => maxReceives !== undefined && candidate.receiveCount >= maxReceives;
  const order = options.fifo ? [...candidates] : [...candidates.filter(lastReceive), ...candidates.filter((candidate) => !lastReceive(candidate))];
  const load = new Set<number>();
  const deferred = new Set<number>();
  const stoppedGroups = new Set<string>();
  let used = 0;
  for (const candidate of order) {
    const group = candidate.group ?? '';
    const fits = load.size === 0 || used + candidate.size <= options.budgetBytes;
    if (fits && !(options.fifo && stoppedGroups.has(group))) {
      load.add(candidate.index);
      used += candidate.size;
    } else {
      deferred.add(candidate.index);
      if (options.fifo) stoppedGroups.add(group);
    }
  }
  return { load, deferred };
}
