/**
 * `MAIL_ALLOWED_RECIPIENTS` in the delivery (issue 10): a job's envelope recipients outside the
 * environment's allow list are never sent to (never in a RCPT TO). A job with none left is done
 * without a connection (outcome `suppressed`); otherwise the rest is sent as usual and the
 * suppressed recipients are listed, by domain only, in the job's log line.
 * @module
 */
import type { RecipientAllowList } from '../config.js';
import type { MailJob } from '../message/index.js';
import { jobRecipients, recipientKey } from './ledger/recipients.js';

/** A job's envelope recipients, split by the allow list. */
export interface RecipientSplit {
  allowed: string[];
  suppressed: string[];
}

/**
 * Splits a job's envelope recipients (to, cc, bcc, each once; a raw job's own envelope) by the allow list.
 * @example
 * splitRecipients(job, allowListOf(['example.com'])); // { allowed: ['ann@example.com'], suppressed: ['bob@example.org'] }
 */
export function splitRecipients(job: MailJob, allow: RecipientAllowList): RecipientSplit {
  const allowed: string[] = [];
  const suppressed: string[] = [];
  for (const recipient of jobRecipients(job)) (allow.allows(recipient) ? allowed : suppressed).push(recipient);
  return { allowed, suppressed };
}

/**
 * The job as the delivery ledger sees it: only the recipients it may send to (the suppressed ones
 * are never recorded, and must not keep a job from counting as delivered to everyone).
 */
export function withRecipientsOnly(job: MailJob, allowed: readonly string[]): MailJob {
  const keys = new Set(allowed.map(recipientKey));
  if (job.kind === 'raw') return { ...job, envelope: { ...job.envelope, to: job.envelope.to.filter((to) => keys.has(recipientKey(to))) } };
  const keep = <T extends { address: string }>(list: readonly T[]): T[] => list.filter((item) => keys.has(recipientKey(item.address)));
  return { ...job, to: keep(job.to), cc: keep(job.cc), bcc: keep(job.bcc) };
}
