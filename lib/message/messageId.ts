import { createHash, randomUUID } from 'node:crypto';

/** A job id that can stand as it is on the left of a Message-ID (RFC 5322 dot-atom-text, short). */
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;

/**
 * The Message-ID of a composed job, with angle brackets. A job with an `id` always gets the same
 * one, so that a retried job is recognisably the same message: the id itself when it is a short
 * dot-atom (`order-1234.confirm`), else a hash of it (`job.<32 hex>`). A job without an id gets a
 * random one. The right side is the sender's domain.
 * @example
 * messageIdFor('order-1234', 'shop.example'); // '<order-1234@shop.example>'
 */
export function messageIdFor(jobId: string | undefined, domain: string): string {
  if (jobId === undefined) return `<${randomUUID()}@${domain}>`;
  if (jobId.length <= 64 && DOT_ATOM.test(jobId)) return `<${jobId}@${domain}>`;
  const digest = createHash('sha256').update(jobId).digest('hex').slice(0, 32);
  return `<job.${digest}@${domain}>`;
}
