/**
 * The copies of a job for only some of its recipients (those refused for now while others took
 * the message): what goes back on the queue, or, when that cannot be, to the dead-letter queue.
 * A copy never holds a recipient who has the message already.
 *
 * Forms, in order of preference:
 * - `raw`: a raw job carrying the exact message the others received (same Message-ID, Date and
 *   headers) with an envelope of only the pending recipients;
 * - `narrowed`: the producer's job with only them: a composed job's `to`, `cc` and `bcc` each
 *   narrowed (see {@link narrowedComposedJobs} for jobs whose pending recipients are not in `to`),
 *   a raw job's envelope narrowed in place.
 *
 * Blind copies: the `raw` form is one copy for every pending recipient, blind ones included, and
 * shows none of them: composeMail writes no Bcc field, so every recipient of the job got the same
 * octets and only the envelope differs. A `narrowed` composed job cannot do that (its `to`, `cc`
 * and `bcc` make both headers and envelope, and a job needs a `to`), so when the raw copy does
 * not fit (a job near 1 MiB: base64 lines and quoted-printable make the message larger than the
 * job), pending blind recipients get one narrowed copy each, up to 99 (a job has at most 100
 * recipients). Copies are built one at a time ({@link PendingCopies}): the caller sends them in
 * waves and holds one wave of bodies, not 99.
 *
 * Every copy follows the producer's rules for a queue body (lib/message/queueBody.ts): U+FFFE and
 * U+FFFF escaped, and the body with its attributes within SQS's 1 MiB.
 * @module
 */
import { parseAddress, parseBareAddress } from '../message/address.js';
import type { MailJob } from '../message/index.js';
import { SQS_MAX_MESSAGE_BYTES, queueJson, queueMessageBytes } from '../message/queueBody.js';
import type { Envelope } from '../smtp/types.js';
import { REQUEUE_COUNT_ATTRIBUTE } from './mailRecord.js';

/** One copy: its queue body and how many recipients it holds. */
export interface JobCopy {
  body: string;
  recipients: number;
}

/**
 * The copies for the pending recipients, all in one form, built one at a time: only the copy
 * asked for exists, so a caller that sends them a few at a time holds a few bodies, not all of
 * them (99 blind copies of a 900 KB job are 90 MB of bodies).
 */
export interface PendingCopies {
  form: 'raw' | 'narrowed';
  /** How many copies (more than one only for blind copies, see {@link narrowedComposedJobs}). */
  count: number;
  /** Octets of the largest copy's body, known without building any. */
  largestBytes: number;
  /** Builds copy `number` (0 ≤ number < count): the same body each time. */
  copy: (number: number) => JobCopy;
}

/**
 * The copies to re-enqueue (each fits the mail queue with its re-enqueue count attribute), or why
 * there are none, with the copies that still fit the dead-letter queue when there are some.
 */
export type RequeueBody = ({ ok: true } & PendingCopies) | { ok: false; problem: string; deadLetter?: PendingCopies };

/**
 * The largest body that fits the mail queue with the re-enqueue count attribute SQS counts in the
 * message's size.
 * @param requeueCount the count the copy will carry
 */
export function requeueBodyBudget(requeueCount: number): number {
  return SQS_MAX_MESSAGE_BYTES - queueMessageBytes('', { [REQUEUE_COUNT_ATTRIBUTE]: { DataType: 'Number', StringValue: String(requeueCount) } });
}

/**
 * Builds the copies of the job for `recipients` (envelope addresses as sent).
 *
 * @param originalBody the record's body (the producer's JSON)
 * @param job the parsed job
 * @param mail the message as sent, when still at hand
 * @param recipients envelope addresses not yet delivered
 * @param budget the largest body that may go back on the queue (see {@link requeueBodyBudget})
 * @example
 * const next = requeueBody(record.body, job, { envelope, message }, ['later@example.com'], requeueBodyBudget(1));
 * if (next.ok) for (let n = 0; n < next.count; n += 1) await actions.requeue(record, next.copy(n).body, delay, { copy: n });
 */
export function requeueBody(
  originalBody: string,
  job: MailJob,
  mail: { envelope: Envelope; message: Uint8Array } | undefined,
  recipients: readonly string[],
  budget: number = requeueBodyBudget(1),
): RequeueBody {
  const candidates: PendingCopies[] = [];
  const problems: string[] = [];
  if (mail !== undefined) {
    const raw = rawJob(job, mail, recipients);
    if (raw !== undefined) candidates.push({ form: 'raw', ...oneCopy(raw, recipients.length) });
  }
  const narrowed = job.kind === 'raw' ? narrowedRawJob(originalBody, recipients, job.id) : narrowedComposedJobs(originalBody, recipients, job.id);
  if ('problem' in narrowed) problems.push(narrowed.problem);
  else candidates.push({ form: 'narrowed', ...narrowed });

  const fitting = candidates.find((candidate) => candidate.largestBytes <= budget);
  if (fitting !== undefined) return { ok: true, ...fitting };
  const problem =
    problems[0] ??
    `the copy for the recipients not yet delivered does not fit in a queue message with its attributes (${Math.min(...candidates.map((candidate) => candidate.largestBytes))} octets)`;
  const forDeadLetter = candidates.find((candidate) => candidate.largestBytes <= SQS_MAX_MESSAGE_BYTES);
  return forDeadLetter === undefined ? { ok: false, problem } : { ok: false, problem, deadLetter: forDeadLetter };
}

function rawJob(job: MailJob, mail: { envelope: Envelope; message: Uint8Array }, recipients: readonly string[]): string | undefined {
  let message: string;
  try {
    message = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(mail.message);
  } catch {
    return undefined;
  }
  return queueJson({
    v: 1,
    ...(job.id === undefined ? {} : { id: job.id }),
    // The producer's tags go along (tracing); its delaySeconds does not (a copy waits its own backoff).
    ...(job.tags === undefined ? {} : { tags: job.tags }),
    raw: { envelope: { from: mail.envelope.from, to: [...recipients] }, message },
  });
}

/** Copies of one form, or why there are none. */
type Narrowed = Omit<PendingCopies, 'form'> | { problem: string };

/** A single copy, already built. */
function oneCopy(body: string, recipients: number): Omit<PendingCopies, 'form'> {
  return { count: 1, largestBytes: Buffer.byteLength(body), copy: () => ({ body, recipients }) };
}

/**
 * The producer's composed job for only `recipients`: `to`, `cc` and `bcc` each keep only them
 * (a job needs a `to`, and a blind copy must stay unseen):
 * - some are in `to`: one copy, `to`/`cc`/`bcc` narrowed;
 * - none in `to`, some in `cc`: one copy whose `to` is the narrowed `cc` (they saw each other
 *   already), `bcc` narrowed;
 * - only blind copies: one copy per recipient, each the only `to` of its copy, so none is shown
 *   to another.
 *
 * @param id the job's id, written into a copy of a job published without one (the id derived from
 *   its content), so that the copy keeps the job's Message-ID and its key in the delivery ledger
 */
export function narrowedComposedJobs(originalBody: string, recipients: readonly string[], id?: string): Narrowed {
  const input = withId(parseObject(originalBody), id);
  if (input === undefined) return { problem: 'the job is not a JSON object' };
  const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
  const addressOf = (entry: unknown): string | undefined => {
    const parsed = parseAddress(entry);
    return parsed.ok ? parsed.address.address : undefined;
  };
  const lists = [listOf(input['to']), listOf(input['cc']), listOf(input['bcc'])] as const;
  const match = recipientMatcher(recipients, lists.flat().map(addressOf));
  const found = new Set<string>();
  const [to, cc, bcc] = lists.map((list) =>
    list.filter((entry) => {
      const key = match(addressOf(entry));
      if (key !== undefined) found.add(key);
      return key !== undefined;
    }),
  ) as [unknown[], unknown[], unknown[]];
  if (found.size !== match.wanted) return { problem: 'some recipients not yet delivered are not in the job' };
  const base: Record<string, unknown> = { ...input };
  delete base['cc'];
  delete base['bcc'];
  const copy = (fields: Record<string, unknown[]>): Omit<PendingCopies, 'form'> => oneCopy(queueJson({ ...base, ...fields }), match.wanted);
  const nonEmpty = (fields: Record<string, unknown[]>): Record<string, unknown[]> =>
    Object.fromEntries(Object.entries(fields).filter(([, list]) => list.length > 0));
  if (to.length > 0) return copy(nonEmpty({ to, cc, bcc }));
  if (cc.length > 0) return copy(nonEmpty({ to: cc, bcc }));
  return blindCopies(base, bcc);
}

/**
 * One copy per blind recipient, `{ ...base, to: [blind] }`, built when asked for. The JSON around
 * the `to` value is made once: copy n is that JSON with the n-th `to` in the middle, byte for byte
 * what `queueJson({ ...base, to: [blind] })` gives (JSON.stringify writes an object's fields in
 * the order Object.keys gives them, and queueJson's escapes are character by character).
 */
function blindCopies(base: Record<string, unknown>, blind: readonly unknown[]): Omit<PendingCopies, 'form'> {
  // The fields in the order the spread gives them (`to` in its place, or last). A loop, not a
  // callback: a closure over `base` would keep the parsed job alive as long as the copies.
  const before: string[] = [];
  const after: string[] = [];
  let seen = false;
  for (const key of Object.keys({ ...base, to: null })) {
    if (key === 'to') seen = true;
    else (seen ? after : before).push(`${queueJson(key)}:${queueJson(base[key])}`);
  }
  return blindCopiesAround(`{${before.map((field) => `${field},`).join('')}"to":`, `${after.map((field) => `,${field}`).join('')}}`, blind);
}

/** Blind copies: `before`, the n-th recipient as the only `to`, `after`. */
function blindCopiesAround(before: string, after: string, blind: readonly unknown[]): Omit<PendingCopies, 'form'> {
  const around = Buffer.byteLength(before) + Buffer.byteLength(after);
  const middle = (number: number): string => queueJson([blind[number]]);
  return {
    count: blind.length,
    largestBytes: around + Math.max(...blind.map((_, number) => Buffer.byteLength(middle(number)))),
    copy: (number) => ({ body: before + middle(number) + after, recipients: 1 }),
  };
}

/** The producer's raw job with its envelope narrowed to `recipients`; the message untouched; `id` as for {@link narrowedComposedJobs}. */
export function narrowedRawJob(originalBody: string, recipients: readonly string[], id?: string): Narrowed {
  const input = withId(parseObject(originalBody), id);
  const raw = input?.['raw'];
  const envelope = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)['envelope'] : undefined;
  const list = typeof envelope === 'object' && envelope !== null ? (envelope as Record<string, unknown>)['to'] : undefined;
  if (input === undefined || !Array.isArray(list)) return { problem: 'the raw job has no envelope to narrow' };
  const addressOf = (entry: unknown): string | undefined => {
    const parsed = parseBareAddress(entry);
    return parsed.ok ? parsed.address.address : undefined;
  };
  const match = recipientMatcher(recipients, list.map(addressOf));
  const found = new Set<string>();
  const to = list.filter((entry) => {
    const key = match(addressOf(entry));
    if (key !== undefined) found.add(key);
    return key !== undefined;
  });
  if (found.size !== match.wanted) return { problem: 'some recipients not yet delivered are not in the envelope' };
  const narrowed = { ...input, raw: { ...(raw as Record<string, unknown>), envelope: { ...(envelope as Record<string, unknown>), to } } };
  return oneCopy(queueJson(narrowed), match.wanted);
}

/**
 * Which of the job's addresses stand for `recipients` (envelope addresses as sent): the same
 * spelling, the domain's case aside (the envelope's own rule, lib/message/envelope.ts: `Ann@` and
 * `ann@` are two recipients, and one may have the message already); any case only for a
 * recipient that no address of the job spells so. The match gives the recipient it stands for.
 */
function recipientMatcher(
  recipients: readonly string[],
  addresses: readonly (string | undefined)[],
): ((address: string | undefined) => string | undefined) & { wanted: number } {
  const envelopeKey = (address: string): string => {
    const at = address.lastIndexOf('@');
    return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
  };
  const spelled = new Set(addresses.flatMap((address) => (address === undefined ? [] : [envelopeKey(address)])));
  const exact = new Map<string, string>();
  const loose = new Map<string, string>();
  for (const recipient of recipients) {
    const key = envelopeKey(recipient);
    if (spelled.has(key)) exact.set(key, key);
    else loose.set(recipient.toLowerCase(), recipient.toLowerCase());
  }
  const match = (address: string | undefined): string | undefined =>
    address === undefined ? undefined : (exact.get(envelopeKey(address)) ?? loose.get(address.toLowerCase()));
  return Object.assign(match, { wanted: exact.size + loose.size });
}

/** The job with `id` when it has none of its own. */
function withId(input: Record<string, unknown> | undefined, id: string | undefined): Record<string, unknown> | undefined {
  return input === undefined || id === undefined || input['id'] !== undefined ? input : { ...input, id };
}

function parseObject(body: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
