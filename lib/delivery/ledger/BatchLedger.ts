/**
 * The delivery ledger's stage in one batch: every job is claimed (and what the ledger knows of it
 * read) as the batch starts, alongside the SMTP connection's setup; each job's turn asks it
 * whether to send and to whom; each outcome is recorded before the record is settled with SQS.
 * @module
 */
import type { MailJob } from '../../message/index.js';
import type { Outcome } from '../outcome.js';
import type { ClaimToken, LedgerEntry, LedgerTable } from './LedgerTable.js';
import { jobRecipients, recipientKey } from './recipients.js';

/** Where a job stands once its claim has been answered. */
type Standing =
  /** This invocation holds the locks on the job's recipients: send to those not yet delivered. */
  | { kind: 'held'; delivered: ReadonlySet<string> }
  /** Another invocation holds the lock on one of the job's recipients and has not let go of it. */
  | { kind: 'elsewhere'; delivered: ReadonlySet<string> }
  /** The ledger could not be reached: send to everyone (at-least-once). */
  | { kind: 'unavailable' };

/** One job of the batch, as the ledger sees it. */
interface LedgerJob {
  key: string;
  recipients: string[];
  /** An earlier record of this batch with the same key names one of these recipients too. */
  overlapsEarlier: boolean;
  /** Envelope recipients handed to the relay, and the Message-ID (known once the message is built). */
  sentTo?: readonly string[];
  messageId?: string;
}

/** A job's key and recipients per record; `undefined` for a record that is not a valid job. */
export type LedgerJobs = readonly ({ key: string; job: MailJob } | undefined)[];

/**
 * The ledger's part in one batch.
 *
 * - Claims: one conditional `UpdateItem` per distinct job key, all at once, from the constructor,
 *   locking the job's recipients (another invocation sending the same job to other recipients goes
 *   on); they return while the connection is set up, so on the happy path they cost no time. A
 *   claim lasts until `claimUntilMs`, the invocation's end, which is shorter than the queue's
 *   visibility timeout (Lambda requires the timeout to be at least the function's): a live holder
 *   never loses its claim, and a dead holder's claim has lapsed before SQS hands the record out again.
 * - Records of one batch sharing a key (a producer's double publish, blind copies re-enqueued
 *   one per recipient) share the claim; a record naming a recipient an earlier one of them names
 *   comes back later (`transient`), so one invocation never sends a recipient twice.
 * - {@link record}: one `UpdateItem` per record, as soon as its outcome is known and before it is
 *   settled with SQS; the last record of a key releases the claim (its locks).
 * - Whatever fails (timeout, throttling, errors) is counted ({@link unavailable}) and the job is
 *   sent as if there were no ledger: mail is never held up by it.
 */
export class BatchLedger {
  readonly #table: LedgerTable;
  readonly #token: ClaimToken;
  /** Each key's recipients, over every record of the batch with that key (what its claim locks). */
  readonly #locked = new Map<string, Set<string>>();
  readonly #jobs: (LedgerJob | undefined)[];
  readonly #claims = new Map<string, Promise<Standing>>();
  /** Records of each key whose outcome is not recorded yet. */
  readonly #pending = new Map<string, number>();
  /** Each key's writes so far (outcomes and transactions recorded): its release waits for them. */
  readonly #writes = new Map<string, Promise<unknown>[]>();
  /** Each key's recipients (ledger names) this batch delivered, recorded or not. */
  readonly #deliveredHere = new Map<string, Set<string>>();
  readonly #failed = new Set<number>();
  readonly #signal: AbortSignal | undefined;
  #problem: string | undefined;

  /**
   * Sends the claims.
   * @param jobs per record of the batch, in event order
   * @param owner this invocation's token (random)
   * @param claimUntilMs when the claims lapse (epoch ms): the invocation's end
   * @param signal cuts the claims (the SMTP session's deadline)
   */
  constructor(table: LedgerTable, jobs: LedgerJobs, options: { owner: string; claimUntilMs: number; signal?: AbortSignal }) {
    this.#table = table;
    this.#token = { owner: options.owner, untilMs: options.claimUntilMs };
    this.#signal = options.signal;
    this.#jobs = jobs.map((entry) => {
      if (entry === undefined) return undefined;
      const recipients = jobRecipients(entry.job).map(recipientKey);
      const earlier = this.#locked.get(entry.key) ?? new Set<string>();
      const overlapsEarlier = recipients.some((recipient) => earlier.has(recipient));
      for (const recipient of recipients) earlier.add(recipient);
      this.#locked.set(entry.key, earlier);
      this.#pending.set(entry.key, (this.#pending.get(entry.key) ?? 0) + 1);
      return { key: entry.key, recipients, overlapsEarlier };
    });
    for (const [key, recipients] of this.#locked) this.#claims.set(key, this.#claim(key, [...recipients], options.signal));
  }

  /** Jobs sent or settled without the ledger so far (its claim or its record failed). */
  get unavailable(): number {
    return this.#failed.size;
  }

  /** The first failure, for the log (an error's name and text; never an address). */
  get problem(): string | undefined {
    return this.#problem;
  }

  /**
   * Asked when a job's turn comes: `duplicateSuppressed` when every recipient is recorded as
   * delivered; `transient` when another invocation holds the job, or an earlier record of this
   * batch carries it to one of the same recipients (whether the ledger answered or not);
   * `undefined` to send it.
   */
  async verdict(index: number): Promise<Outcome | undefined> {
    const job = this.#jobs[index];
    if (job === undefined) return undefined;
    const standing = await this.#standing(index, job);
    const delivered = standing.kind === 'unavailable' ? new Set<string>() : standing.delivered;
    if (job.recipients.length > 0 && job.recipients.every((recipient) => delivered.has(recipient))) {
      return { kind: 'duplicateSuppressed', recipients: job.recipients.length };
    }
    if (standing.kind === 'elsewhere') {
      return {
        kind: 'transient',
        reason: {
          phase: 'ledger',
          message: 'another invocation is sending this job to one of its recipients (its lock in the delivery ledger has not lapsed)',
        },
      };
    }
    // Known without the ledger: it holds back a double publish in one batch even when unreachable.
    if (job.overlapsEarlier) {
      return {
        kind: 'transient',
        reason: { phase: 'ledger', message: 'an earlier record of this batch carries the same job to the same recipients' },
      };
    }
    return undefined;
  }

  /**
   * The envelope recipients still to send to: `to` without those the ledger records as delivered
   * (all of them when the ledger is unavailable). Remembers them, and the Message-ID, for {@link record}.
   */
  async recipientsToSend(index: number, to: readonly string[], messageId: string | undefined): Promise<string[]> {
    const job = this.#jobs[index];
    if (job === undefined) return [...to];
    const standing = await this.#standing(index, job);
    const sending = standing.kind === 'held' ? to.filter((recipient) => !standing.delivered.has(recipientKey(recipient))) : [...to];
    job.sentTo = sending;
    if (messageId !== undefined) job.messageId = messageId;
    return sending;
  }

  /**
   * One transaction of a job was answered and not every recipient of the job has the message yet
   * (it goes in several transactions, or some were refused): those who took it are recorded at once,
   * not when the job's last transaction is (a kill in between would lose them). A job every
   * recipient took in one transaction is recorded with its outcome, in {@link record}. Never throws.
   */
  accepted(index: number, sent: readonly string[], accepted: readonly string[]): void {
    const job = this.#jobs[index];
    // Every recipient in this one transaction: the outcome follows at once, and is recorded then.
    if (job === undefined || accepted.length === 0 || accepted.length >= (job.sentTo?.length ?? 0)) return;
    const entries = accepted.map((recipient): LedgerEntry => ({
      recipient,
      state: 'delivered',
      ...(job.messageId === undefined ? {} : { messageId: job.messageId }),
    }));
    this.#write(
      job.key,
      this.#table.record(job.key, entries, undefined, this.#signal).catch((error: unknown) => {
        this.#fail(index, error);
      }),
    );
  }

  /**
   * Records a job's outcome: the recipients that took it (`delivered`) or may have (`ambiguous`),
   * and, for the last record of its key, the end of the claim, once every earlier write of the key
   * has been answered (a lock released before a delivery is recorded would let another invocation
   * claim the recipient, find nobody delivered and send again). Never throws; a failure is counted.
   * @param signal the invocation's deadline for the calls after the session
   */
  async record(index: number, outcome: Outcome, signal?: AbortSignal): Promise<void> {
    const job = this.#jobs[index];
    if (job === undefined) return;
    const left = (this.#pending.get(job.key) ?? 1) - 1;
    this.#pending.set(job.key, left);
    const earlier = [...(this.#writes.get(job.key) ?? [])];
    const recording = this.#record(index, job, outcome, left === 0 ? earlier : undefined, signal);
    this.#write(job.key, recording);
    await recording;
  }

  /**
   * Asked again as a job is settled on its last receive, when it was passed by because an earlier
   * record of this batch carries it to the same recipients: `duplicateSuppressed` once the records
   * of its key settled before it (in this batch) and the ledger's claim show every recipient
   * delivered (even with the ledger out of reach), so that it is not dead-lettered as a failure;
   * `undefined` otherwise (and for a job held by another invocation: see the README).
   */
  async recheck(index: number): Promise<Outcome | undefined> {
    const job = this.#jobs[index];
    if (job?.overlapsEarlier !== true) return undefined;
    await Promise.allSettled(this.#writes.get(job.key) ?? []);
    const standing = await this.#standing(index, job);
    const delivered = new Set([...(standing.kind === 'unavailable' ? [] : standing.delivered), ...(this.#deliveredHere.get(job.key) ?? [])]);
    if (job.recipients.length === 0 || !job.recipients.every((recipient) => delivered.has(recipient))) return undefined;
    return { kind: 'duplicateSuppressed', recipients: job.recipients.length };
  }

  async #record(
    index: number,
    job: LedgerJob,
    outcome: Outcome,
    releaseAfter: readonly Promise<unknown>[] | undefined,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const standing = await this.#standing(index, job);
    const entries = entriesOf(outcome, job);
    const here = this.#deliveredHere.get(job.key) ?? new Set<string>();
    for (const entry of entries) if (entry.state === 'delivered') here.add(recipientKey(entry.recipient));
    this.#deliveredHere.set(job.key, here);
    const release =
      releaseAfter !== undefined && standing.kind === 'held' ? { token: this.#token, recipients: [...(this.#locked.get(job.key) ?? [])] } : undefined;
    if (entries.length === 0 && release === undefined) return;
    if (release !== undefined) await Promise.allSettled(releaseAfter ?? []);
    try {
      await this.#table.record(job.key, entries, release, signal);
    } catch (error) {
      this.#fail(index, error);
    }
  }

  #write(key: string, writing: Promise<unknown>): void {
    const writes = this.#writes.get(key) ?? [];
    writes.push(writing);
    this.#writes.set(key, writes);
  }

  async #standing(index: number, job: LedgerJob): Promise<Standing> {
    const standing = (await this.#claims.get(job.key)) ?? { kind: 'unavailable' };
    if (standing.kind === 'unavailable') this.#failed.add(index);
    return standing;
  }

  async #claim(key: string, recipients: readonly string[], signal: AbortSignal | undefined): Promise<Standing> {
    try {
      const reply = await this.#table.claim(key, recipients, this.#token, signal);
      return { kind: reply.held ? 'held' : 'elsewhere', delivered: reply.delivered };
    } catch (error) {
      this.#problem ??= describe(error);
      return { kind: 'unavailable' };
    }
  }

  #fail(index: number, error: unknown): void {
    this.#failed.add(index);
    this.#problem ??= describe(error);
  }
}

/** What to record of an outcome: who took the message, or may have. */
function entriesOf(outcome: Outcome, job: LedgerJob): LedgerEntry[] {
  const sentTo = job.sentTo ?? [];
  const entry = (recipient: string, state: LedgerEntry['state']): LedgerEntry =>
    job.messageId === undefined ? { recipient, state } : { recipient, state, messageId: job.messageId };
  switch (outcome.kind) {
    case 'delivered':
      return sentTo.map((recipient) => entry(recipient, 'delivered'));
    case 'partlyRefused': {
      const refused = new Set([...outcome.refusedPermanently, ...outcome.refusedForNow].map((r) => recipientKey(r.recipient)));
      return sentTo.filter((recipient) => !refused.has(recipientKey(recipient))).map((recipient) => entry(recipient, 'delivered'));
    }
    case 'ambiguous':
      return sentTo.map((recipient) => entry(recipient, 'ambiguous'));
    case 'transient':
    case 'permanent':
    case 'notAttempted':
    case 'systemic':
    case 'duplicateSuppressed':
    case 'suppressed':
      return []; // nobody took it (or nothing was sent): only the claim is released
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : String(error).slice(0, 300);
}
