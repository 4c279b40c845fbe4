/**
 * `MAIL_ALLOWED_RECIPIENTS`: the only recipients a non-production environment may mail (issue 10,
 * `allowedRecipients` in cdk.json, checked there by infra/allowedRecipients.ts with the same rules).
 * Comma-separated entries, compared case-insensitively:
 * - an address, `qa-inbox@example.com`: that mailbox only;
 * - a domain, `example.com`: every mailbox of that domain, not of its subdomains;
 * - a domain with a leading dot, `.example.com`: every mailbox of its subdomains, not of `example.com` itself.
 *
 * Unset: every recipient is allowed (production).
 * @module
 */
import { ConfigError } from './ConfigError.js';
import { nonEmpty } from './environment.js';
import type { Environment } from './environment.js';

/** Most entries (as infra/allowedRecipients.ts allows). */
const MAX_ENTRIES = 100;
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DOMAIN = new RegExp(`^(?:${LABEL}\\.)+${LABEL}$`);
/** A local part without spaces, commas, quotes, angle brackets, `*` or control characters. */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'+/=?^_`{|}~.-]{1,64}$/;

/** The recipients an environment may mail. */
export interface RecipientAllowList {
  /** The entries as configured (for logs and errors: they are the operator's, not a customer's). */
  readonly entries: readonly string[];
  /** Whether `address` (a bare address, its domain in ASCII) may be mailed. */
  allows(address: string): boolean;
}

/**
 * Reads `MAIL_ALLOWED_RECIPIENTS`; `undefined` when unset (everyone allowed).
 * @throws {ConfigError} naming the setting when an entry is not an address, domain or `.domain`,
 * is listed twice, or there are more than 100
 * @example
 * const list = readAllowedRecipients({ MAIL_ALLOWED_RECIPIENTS: 'example.com,.test.example.net,qa@example.org' });
 * list?.allows('ann@EXAMPLE.com'); // true
 * list?.allows('bob@mail.test.example.net'); // true
 * list?.allows('bob@example.org'); // false
 */
export function readAllowedRecipients(env: Environment): RecipientAllowList | undefined {
  const raw = nonEmpty(env, 'MAIL_ALLOWED_RECIPIENTS');
  if (raw === undefined) return undefined;
  const entries = raw.split(',').map((entry) => entry.trim());
  if (entries.length > MAX_ENTRIES) throw new ConfigError('MAIL_ALLOWED_RECIPIENTS', `has ${entries.length} entries; at most ${MAX_ENTRIES}`);
  const seen = new Set<string>();
  for (const entry of entries) {
    if (!usableEntry(entry))
      throw new ConfigError(
        'MAIL_ALLOWED_RECIPIENTS',
        `${JSON.stringify(entry)} is not an address (name@example.com), a domain (example.com) or a domain with a leading dot for its subdomains (.example.com)`,
      );
    const key = entry.toLowerCase();
    if (seen.has(key)) throw new ConfigError('MAIL_ALLOWED_RECIPIENTS', `lists ${JSON.stringify(entry)} twice`);
    seen.add(key);
  }
  return allowListOf(entries);
}

/** The allow list of checked entries. */
export function allowListOf(entries: readonly string[]): RecipientAllowList {
  const addresses = new Set<string>();
  const domains = new Set<string>();
  const parents: string[] = [];
  for (const entry of entries.map((item) => item.toLowerCase())) {
    if (entry.includes('@')) addresses.add(entry);
    else if (entry.startsWith('.')) parents.push(entry);
    else domains.add(entry);
  }
  return {
    entries: [...entries],
    allows(address: string): boolean {
      const lower = address.toLowerCase();
      const domain = lower.slice(lower.lastIndexOf('@') + 1);
      return addresses.has(lower) || domains.has(domain) || parents.some((parent) => domain.endsWith(parent));
    },
  };
}

function usableEntry(entry: string): boolean {
  const at = entry.lastIndexOf('@');
  if (at !== -1 && entry.startsWith('.')) return false;
  const domain = at === -1 ? entry.replace(/^\./, '') : entry.slice(at + 1);
  if (domain.length > 253 || !DOMAIN.test(domain)) return false;
  if (at === -1) return true;
  const local = entry.slice(0, at);
  return LOCAL_PART.test(local) && !local.startsWith('.') && !local.endsWith('.') && !local.includes('..');
}
