/**
 * How the ledger names a job's recipients and its Message-ID: pure functions over the checked job
 * and the message as sent.
 * @module
 */
import { deriveEnvelope } from '../../message/index.js';
import type { MailJob } from '../../message/index.js';

/**
 * The ledger's name for an envelope recipient: the local part as written, the domain in lower case
 * (the envelope's own rule, lib/message/envelope.ts: `Ann@Example.com` and `Ann@example.com` are one
 * recipient, `ann@` another).
 * @example
 * recipientKey('Ann@Example.COM'); // 'Ann@example.com'
 */
export function recipientKey(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? address : `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
}

/**
 * The envelope recipients of a job, each once, as `composeMail` makes them (to, cc, bcc; a raw
 * job's own envelope), known without building the message.
 */
export function jobRecipients(job: MailJob): string[] {
  const listed = job.kind === 'raw' ? job.envelope.to : deriveEnvelope({ address: '' }, [job.to, job.cc, job.bcc]).to;
  const seen = new Set<string>();
  return listed.filter((recipient) => {
    const key = recipientKey(recipient);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The Message-ID field of a raw message's header (`<…>`), if it has one. */
export function headerMessageId(message: string): string | undefined {
  const end = message.search(/\r?\n\r?\n/);
  const header = (end < 0 ? message : message.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^message-id:[ \t]*(<[^>\r\n]{1,500}>)/im.exec(header)?.[1];
}
