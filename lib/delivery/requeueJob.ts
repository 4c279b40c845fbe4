/**
 * The job that goes back on the queue for recipients the relay refused for now (4xx) while others
 * took the message: the same message for only them, with the same `id`.
 *
 * Preferred form: a raw job carrying the exact message the others received (same Message-ID,
 * Date and headers) with an envelope of only the refused recipients. When that does not fit in an
 * SQS message (or the message is not UTF-8 text), the producer's job is kept with its `to`, `cc`
 * and `bcc` lists narrowed to those recipients.
 * @module
 */
import { parseAddress } from '../message/address.js';
import type { MailJob } from '../message/index.js';
import type { Envelope } from '../smtp/types.js';

/** The largest SQS message body we write (SQS allows 1 MiB including attributes; some room kept). */
export const MAX_QUEUE_BODY_BYTES = 1_048_576 - 4096;

/** The body to re-enqueue, or why there is none. */
export type RequeueBody = { ok: true; body: string; form: 'raw' | 'narrowed' } | { ok: false; problem: string };

/**
 * Builds the body of the job for `recipients` (envelope addresses as sent).
 *
 * @param originalBody the record's body (the producer's JSON)
 * @param job the parsed job
 * @param mail the message as sent, when still at hand
 * @param recipients envelope addresses refused for now
 * @example
 * const next = requeueBody(record.body, job, { envelope, message }, ['later@example.com']);
 * if (next.ok) await actions.requeue(record, next.body, delay);
 */
export function requeueBody(
  originalBody: string,
  job: MailJob,
  mail: { envelope: Envelope; message: Uint8Array } | undefined,
  recipients: readonly string[],
): RequeueBody {
  if (mail !== undefined) {
    const raw = rawJob(job, mail, recipients);
    if (raw !== undefined) return { ok: true, body: raw, form: 'raw' };
  }
  if (job.kind === 'raw') return { ok: false, problem: 'the raw job does not fit in a queue message' };
  return narrowedJob(originalBody, recipients);
}

function rawJob(job: MailJob, mail: { envelope: Envelope; message: Uint8Array }, recipients: readonly string[]): string | undefined {
  let message: string;
  try {
    message = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(mail.message);
  } catch {
    return undefined;
  }
  const body = JSON.stringify({
    v: 1,
    ...(job.id === undefined ? {} : { id: job.id }),
    raw: { envelope: { from: mail.envelope.from, to: [...recipients] }, message },
  });
  return Buffer.byteLength(body) <= MAX_QUEUE_BODY_BYTES ? body : undefined;
}

function narrowedJob(originalBody: string, recipients: readonly string[]): RequeueBody {
  const wanted = new Set(recipients.map((r) => r.toLowerCase()));
  let input: Record<string, unknown>;
  try {
    input = JSON.parse(originalBody) as Record<string, unknown>;
  } catch {
    return { ok: false, problem: 'the job is not JSON' };
  }
  const found = new Set<string>();
  const narrow = (value: unknown): unknown[] => {
    const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return list.filter((entry) => {
      const parsed = parseAddress(entry);
      if (!parsed.ok) return false;
      const key = parsed.address.address.toLowerCase();
      if (!wanted.has(key)) return false;
      found.add(key);
      return true;
    });
  };
  const to = narrow(input['to']);
  const cc = narrow(input['cc']);
  const bcc = narrow(input['bcc']);
  if (to.length === 0) return { ok: false, problem: 'the recipients to retry are not in "to", so the job cannot be narrowed to them' };
  if (found.size !== wanted.size) return { ok: false, problem: 'some recipients to retry are not in the job' };
  const narrowed: Record<string, unknown> = { ...input, to };
  if (cc.length > 0) narrowed['cc'] = cc;
  else delete narrowed['cc'];
  if (bcc.length > 0) narrowed['bcc'] = bcc;
  else delete narrowed['bcc'];
  return { ok: true, body: JSON.stringify(narrowed), form: 'narrowed' };
}
