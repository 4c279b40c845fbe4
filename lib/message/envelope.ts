import type { Envelope } from '../smtp/types.js';
import type { MailAddress } from './types.js';

/**
 * The SMTP envelope of a composed job: the sender, then to + cc + bcc without duplicates.
 * Domains are already lower-case A-labels after parsing, so two spellings of one domain
 * (`Example.COM`, `example.com`) count as one; local parts keep their case (RFC 5321 lets a
 * server treat them as case-sensitive).
 * @example
 * deriveEnvelope({ address: 'a@example.com' }, [[{ address: 'b@example.com' }], [], [{ address: 'b@example.com' }]]);
 * // { from: 'a@example.com', to: ['b@example.com'] }
 */
export function deriveEnvelope(from: MailAddress, recipientLists: readonly (readonly MailAddress[])[]): Envelope {
  const seen = new Set<string>();
  const to: string[] = [];
  for (const list of recipientLists) {
    for (const { address } of list) {
      const at = address.lastIndexOf('@');
      const key = `${address.slice(0, at)}@${address.slice(at + 1).toLowerCase()}`;
      if (seen.has(key)) continue;
      seen.add(key);
      to.push(address);
    }
  }
  return { from: from.address, to };
}
